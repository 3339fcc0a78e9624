"""The person's export, activity side: threads, preferences, consent answers, notices,
deliveries and push subscriptions.

Collectors for :func:`gateway.people.export.export_person`, each one area's records as
JSON-ready dicts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.consents.models import ConsentAnswer, ConsentVersion
from gateway.delivery.models import Delivery, PushSubscription
from gateway.errors import NotFound
from gateway.messaging import access, reading
from gateway.messaging.actors import Actor
from gateway.messaging.models import AutoReply
from gateway.notices.models import DaycareNotice
from gateway.people.export_roster import Json
from gateway.preferences.models import Preference, Schedule
from gateway.roster.models import Person


async def _threads(
    session: AsyncSession, actor: Actor, thread_ids: Iterable[uuid.UUID]
) -> list[Any]:
    found = []
    for thread_id in thread_ids:
        try:
            found.append(await reading.thread(session, actor, thread_id, audited=False))
        except NotFound:  # a scheduled announcement not yet published: not theirs yet
            continue
    return found


async def _preferences(session: AsyncSession, person: Person) -> list[Json]:
    rows = await session.scalars(
        select(Preference)
        .where(
            Preference.municipality_id == person.municipality_id,
            Preference.person_id == person.id,
        )
        .order_by(Preference.category, Preference.channel)
    )
    return [
        {"category": p.category, "channel": p.channel, "mode": p.mode, "updated_at": p.updated_at}
        for p in rows
    ]


async def _schedule(session: AsyncSession, person: Person) -> Json | None:
    found = await session.scalar(
        select(Schedule).where(
            Schedule.municipality_id == person.municipality_id, Schedule.person_id == person.id
        )
    )
    if found is None:
        return None
    return {
        "quiet_start_minute": found.quiet_start,
        "quiet_end_minute": found.quiet_end,
        "digest_minute": found.digest_time,
        "last_digest_at": found.last_digest_at,
        "updated_at": found.updated_at,
    }


def endpoint_origin(endpoint: str) -> str:
    """The push service an endpoint belongs to, without the per-browser path (a secret)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


async def _push_subscriptions(session: AsyncSession, person: Person) -> list[Json]:
    rows = await session.scalars(
        select(PushSubscription)
        .where(
            PushSubscription.municipality_id == person.municipality_id,
            PushSubscription.person_id == person.id,
        )
        .order_by(PushSubscription.created_at)
    )
    return [
        {
            "id": s.id,
            "push_service": endpoint_origin(s.endpoint),
            "user_agent": s.user_agent,
            "created_at": s.created_at,
            "last_used_at": s.last_used_at,
            "disabled_at": s.disabled_at,
            "disabled_reason": s.disabled_reason,
        }
        for s in rows
    ]


async def _auto_reply(session: AsyncSession, person: Person) -> Json | None:
    found = await session.scalar(
        select(AutoReply).where(
            AutoReply.municipality_id == person.municipality_id, AutoReply.person_id == person.id
        )
    )
    if found is None:
        return None
    return {"starts_at": found.starts_at, "ends_at": found.ends_at, "body": found.body}


async def _consent_answers(session: AsyncSession, actor: Actor) -> list[Json]:
    """Answers the person gave, and answers given for them (as a child)."""
    rows = list(
        (
            await session.execute(
                select(ConsentAnswer, ConsentVersion.title)
                .join(
                    ConsentVersion,
                    (ConsentVersion.request_id == ConsentAnswer.request_id)
                    & (ConsentVersion.version == ConsentAnswer.version),
                )
                .where(
                    ConsentAnswer.municipality_id == actor.municipality_id,
                    or_(
                        ConsentAnswer.answered_by == actor.person_id,
                        ConsentAnswer.child_id == actor.person_id,
                    ),
                )
                .order_by(ConsentAnswer.created_at, ConsentAnswer.id)
            )
        ).all()
    )
    people = {a.child_id for a, _ in rows} | {a.answered_by for a, _ in rows}
    refs = await access.people(session, actor.municipality_id, people, viewer=actor)
    return [
        {
            "consent_id": a.request_id,
            "title": title,
            "version": a.version,
            "child": msgspec.to_builtins(refs[a.child_id]) if a.child_id in refs else None,
            "answered_by": msgspec.to_builtins(refs[a.answered_by])
            if a.answered_by in refs
            else None,
            "option": a.option,
            "channel": a.channel,
            "answered_at": a.created_at,
        }
        for a, title in rows
    ]


async def _notices(session: AsyncSession, person: Person) -> list[Json]:
    """Daycare notices the person wrote, or (as a child) that are about them."""
    rows = await session.scalars(
        select(DaycareNotice)
        .where(
            DaycareNotice.municipality_id == person.municipality_id,
            or_(DaycareNotice.created_by == person.id, DaycareNotice.child_id == person.id),
        )
        .order_by(DaycareNotice.from_date, DaycareNotice.created_at)
    )
    return [
        {
            "id": n.id,
            "institution_id": n.institution_id,
            "child_id": n.child_id,
            "kind": n.kind,
            "from_date": n.from_date,
            "to_date": n.to_date,
            "picked_up_by": n.picked_up_by,
            "pickup_time": n.pickup_time,
            "note": n.note,
            "written_by_me": n.created_by == person.id,
            "created_at": n.created_at,
            "acknowledged_at": n.acknowledged_at,
            "withdrawn_at": n.withdrawn_at,
        }
        for n in rows
    ]


async def _deliveries(session: AsyncSession, person: Person) -> list[Json]:
    """Notifications addressed to the person: channel, state and times (no content)."""
    rows = await session.scalars(
        select(Delivery)
        .where(Delivery.municipality_id == person.municipality_id, Delivery.person_id == person.id)
        .order_by(Delivery.created_at, Delivery.id)
    )
    return [
        {
            "thread_id": d.thread_id,
            "message_id": d.message_id,
            "channel": d.channel,
            "kind": d.kind,
            "round": d.round,
            "state": d.state,
            "reason": d.reason,
            "address": d.address if d.channel == "email" else None,
            "attempts": d.attempts,
            "created_at": d.created_at,
            "not_before": d.not_before,
            "sent_at": d.sent_at,
            "updated_at": d.updated_at,
        }
        for d in rows
    ]
