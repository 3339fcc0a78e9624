"""Planning: who gets which notification over which channel, and when — in one pass.

One query reads every recipient of a message with what planning needs (their kind,
their own modes for the message's category, whether they have an email address or a
push subscription, their quiet hours and digest time); one loop over the rows applies
the calm rules (:mod:`gateway.preferences.rules`); the rows go to the database in bulk.
No per-recipient query or round trip.

Rules, in order: a channel that is not configured plans nothing; ``off`` plans nothing;
``digest`` waits for the person's digest time; ``instant`` goes at once or when quiet
(guardians, pupils) or working hours (staff) end; urgent passes all of that. A person
with a push subscription gets the email only as an escalation: if the item is still
unread ``escalate_email_after_seconds`` later.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.config import Settings
from gateway.delivery.models import (
    DeliveryChannel,
    DeliveryKind,
    DeliveryState,
    PushSubscription,
)
from gateway.dialect import among
from gateway.messaging.models import Message, Participant, Thread, ThreadKind
from gateway.orm import new_ids
from gateway.preferences import rules
from gateway.preferences.models import Category, Mode, Preference, Schedule
from gateway.roster.models import ContactKind, ContactPoint, Institution, Person, PersonKind


def category_of(thread: Thread) -> str:
    """The preference category a thread's notifications belong to."""
    if thread.urgent:
        return Category.URGENT.value
    if thread.category == Category.CONSENT.value:
        return Category.CONSENT.value
    if thread.kind == ThreadKind.ANNOUNCEMENT.value:
        return Category.ANNOUNCEMENT.value
    return Category.MESSAGE.value


@dataclass(frozen=True, slots=True)
class Context:
    """What holds for every recipient of one message."""

    settings: Settings
    now: dt.datetime
    base: dt.datetime  # when the item shows: now, or an announcement's publish_at
    category: str
    urgent: bool
    zone: str
    defaults: rules.Defaults | None
    channels: tuple[str, ...]  # the configured ones


@dataclass(frozen=True, slots=True)
class Recipient:
    person_id: uuid.UUID
    staff: bool
    chosen: dict[str, str | None]  # channel -> the person's own mode, if any
    has_email: bool
    has_push: bool
    quiet: tuple[int, int] | None
    digest_time: int | None


def configured_channels(settings: Settings) -> tuple[str, ...]:
    """The channels this deployment can send on."""
    found: list[str] = []
    if settings.vapid_private_key and settings.vapid_subject:
        found.append(DeliveryChannel.WEBPUSH.value)
    if settings.smtp_host and settings.smtp_from:
        found.append(DeliveryChannel.EMAIL.value)
    return tuple(found)


async def context_for(
    session: AsyncSession,
    thread: Thread,
    settings: Settings,
    now: dt.datetime,
    *,
    category: str | None = None,
) -> Context:
    """The message-wide part of planning (one query for the institution)."""
    zone, defaults = settings.default_time_zone, None
    if thread.institution_id is not None:
        row = (
            await session.execute(
                select(Institution.time_zone, Institution.settings).where(
                    Institution.municipality_id == thread.municipality_id,
                    Institution.id == thread.institution_id,
                )
            )
        ).first()
        if row is not None:
            zone = row[0] or zone
            defaults = (row[1] or {}).get(rules.DEFAULTS_KEY)
    base = now
    if thread.publish_at is not None and thread.publish_at > now:
        base = thread.publish_at
    return Context(
        settings=settings,
        now=now,
        base=base,
        category=category or category_of(thread),
        urgent=thread.urgent,
        zone=zone,
        defaults=defaults,
        channels=configured_channels(settings),
    )


async def recipients(
    session: AsyncSession,
    thread: Thread,
    message: Message,
    category: str,
    *,
    only: Collection[uuid.UUID] | None = None,
    after: uuid.UUID | None = None,
    limit: int | None = None,
) -> list[Recipient]:
    """Everyone who sees ``message`` and has not muted the thread (of ``only``), in one query.

    With ``limit``, one page of them in id order, those with ids ``after`` the last page's.
    """
    push_pref = aliased(Preference)
    email_pref = aliased(Preference)
    m = thread.municipality_id

    def chosen(alias: Any, channel: str) -> Any:
        return and_(
            alias.municipality_id == m,
            alias.person_id == Participant.person_id,
            alias.category == category,
            alias.channel == channel,
        )

    has_email = exists().where(
        ContactPoint.municipality_id == m,
        ContactPoint.person_id == Participant.person_id,
        ContactPoint.kind == ContactKind.EMAIL.value,
        ContactPoint.active.is_(True),
        ContactPoint.disabled_at.is_(None),
    )
    has_push = exists().where(
        PushSubscription.municipality_id == m,
        PushSubscription.person_id == Participant.person_id,
        PushSubscription.disabled_at.is_(None),
    )
    query = (
        select(
            Participant.person_id,
            Person.kind,
            push_pref.mode,
            email_pref.mode,
            has_email.label("has_email"),
            has_push.label("has_push"),
            Schedule.quiet_start,
            Schedule.quiet_end,
            Schedule.digest_time,
        )
        .join(Person, and_(Person.municipality_id == m, Person.id == Participant.person_id))
        .outerjoin(push_pref, chosen(push_pref, DeliveryChannel.WEBPUSH.value))
        .outerjoin(email_pref, chosen(email_pref, DeliveryChannel.EMAIL.value))
        .outerjoin(
            Schedule,
            and_(Schedule.municipality_id == m, Schedule.person_id == Participant.person_id),
        )
        .where(
            Participant.municipality_id == m,
            Participant.thread_id == thread.id,
            Participant.person_id != message.author_id,
            Participant.muted.is_(False),
            Person.active.is_(True),
        )
    )
    if message.private_to is not None:
        query = query.where(
            or_(
                Participant.person_id == thread.created_by,
                Participant.person_id == message.private_to,
            )
        )
    if only is not None:
        query = query.where(among(Participant.person_id, list(only), session))
    if after is not None:
        query = query.where(Participant.person_id > after)
    if limit is not None:
        query = query.order_by(Participant.person_id).limit(limit)
    found: list[Recipient] = []
    for row in await session.execute(query):
        quiet = (row[6], row[7]) if row[6] is not None and row[7] is not None else None
        found.append(
            Recipient(
                person_id=row[0],
                staff=row[1] == PersonKind.STAFF.value,
                chosen={DeliveryChannel.WEBPUSH.value: row[2], DeliveryChannel.EMAIL.value: row[3]},
                has_email=bool(row[4]),
                has_push=bool(row[5]),
                quiet=quiet,
                digest_time=row[8],
            )
        )
    return found


def _when(ctx: Context, person: Recipient, start: dt.datetime) -> dt.datetime:
    settings = ctx.settings
    return rules.next_send_time(
        start,
        staff=person.staff,
        urgent=ctx.urgent,
        zone=ctx.zone,
        quiet=person.quiet or settings.quiet_hours,
        working=settings.working_hours,
    )


def _plan_one(
    ctx: Context, person: Recipient, channel: str, modes: dict[str, Mode]
) -> tuple[str, dt.datetime, str | None] | None:
    """(kind, not_before, why it waits) for one person over one channel, or None."""
    reachable = person.has_push if channel == DeliveryChannel.WEBPUSH.value else person.has_email
    if not reachable or channel not in ctx.channels:
        return None
    mode = modes[channel]
    if mode is Mode.OFF:
        return None
    delay = ctx.settings.escalate_email_after_seconds
    push_mode = modes[DeliveryChannel.WEBPUSH.value]
    # A push went (or goes) at once: the email is only for an item still unread later.
    escalates = (
        channel == DeliveryChannel.EMAIL.value
        and not ctx.urgent
        and delay > 0
        and person.has_push
        and DeliveryChannel.WEBPUSH.value in ctx.channels
        and push_mode is Mode.INSTANT
    )
    if mode is Mode.DIGEST:
        minutes = person.digest_time if person.digest_time is not None else None
        # Behind an instant push the digest carries only what is still unread after the
        # escalation delay: an evening digest repeating the morning's pushes was more
        # than one notification per item (bench/calm_week.py).
        start = ctx.base + dt.timedelta(seconds=delay) if escalates else ctx.base
        at = rules.next_digest_time(
            start, ctx.zone, minutes if minutes is not None else ctx.settings.digest_time
        )
        # A digest keeps the same hours as anything else: staff get it when they are
        # at work, a guardian when their quiet hours are over.
        return DeliveryKind.DIGEST.value, _when(ctx, person, at), "digest"
    if escalates:
        at = _when(ctx, person, ctx.base + dt.timedelta(seconds=delay))
        return DeliveryKind.ESCALATION.value, at, "escalation"
    at = _when(ctx, person, ctx.base)
    if at <= ctx.now:
        return DeliveryKind.INSTANT.value, ctx.now, None
    if ctx.base > ctx.now and at == ctx.base:
        return DeliveryKind.INSTANT.value, at, "scheduled"
    return DeliveryKind.INSTANT.value, at, "working_hours" if person.staff else "quiet_hours"


#: (channel, kind, not_before, why it waits) of each delivery one person gets.
Decision = tuple[tuple[str, str, dt.datetime, str | None], ...]


def _decide(ctx: Context, person: Recipient, reminder_round: int) -> Decision:
    """What one person gets over each configured channel, and when."""
    modes = {
        channel: rules.effective_mode(ctx.category, channel, chosen, ctx.defaults)
        for channel, chosen in person.chosen.items()
    }
    decided = []
    for channel in ctx.channels:
        planned = _plan_one(ctx, person, channel, modes)
        if planned is None:
            continue
        kind, not_before, waits = planned
        if reminder_round:
            if kind == DeliveryKind.ESCALATION.value:
                kind, not_before, waits = DeliveryKind.INSTANT.value, ctx.now, None
                at = _when(ctx, person, ctx.base)
                if at > ctx.now:
                    not_before, waits = at, "working_hours" if person.staff else "quiet_hours"
            if kind == DeliveryKind.INSTANT.value:
                kind = DeliveryKind.REMINDER.value
        decided.append((channel, kind, not_before, waits))
    return tuple(decided)


def _profile(person: Recipient) -> tuple[object, ...]:
    """Everything :func:`_decide` reads of a person: people alike are decided once."""
    return (
        person.staff,
        person.has_email,
        person.has_push,
        person.quiet,
        person.digest_time,
        *sorted(person.chosen.items()),
    )


def plan(
    ctx: Context,
    thread: Thread,
    message: Message,
    people: Sequence[Recipient],
    *,
    reminder_round: int = 0,
) -> list[dict[str, Any]]:
    """Delivery rows (for ``bulk_insert``) for every person × configured channel.

    With ``reminder_round`` the rows are that reminder of the item (kind ``reminder``):
    they follow the same rules, but a reminder never waits for an escalation. The rules
    run once per distinct profile (a school's guardians mostly share a handful: default
    modes, default quiet hours), not once per person.
    """
    decisions: dict[tuple[object, ...], Decision] = {}
    rows: list[dict[str, Any]] = []
    queued, deferred = DeliveryState.QUEUED.value, DeliveryState.DEFERRED.value
    for person in people:
        profile = _profile(person)
        decided = decisions.get(profile)
        if decided is None:
            decided = decisions[profile] = _decide(ctx, person, reminder_round)
        for channel, kind, not_before, waits in decided:
            rows.append(
                {
                    "id": None,
                    "municipality_id": thread.municipality_id,
                    "message_id": message.id,
                    "thread_id": thread.id,
                    "person_id": person.person_id,
                    "channel": channel,
                    "kind": kind,
                    "round": reminder_round,
                    "category": ctx.category,
                    "urgent": ctx.urgent,
                    "state": queued if not_before <= ctx.now else deferred,
                    "reason": waits,
                    "not_before": not_before,
                    "claimed_by": None,
                    "claimed_until": None,
                    "attempts": 0,
                    "address": None,
                    "created_at": ctx.now,
                    "updated_at": ctx.now,
                    "sent_at": None,
                }
            )
    for row, new in zip(rows, new_ids(len(rows)), strict=True):
        row["id"] = new
    return rows
