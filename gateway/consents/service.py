"""Asking for consent (``POST /v1/consents``) and finding a request the caller may see.

Posting is one transaction, as for any item: the thread (an announcement in category
``consent`` that nobody replies to), its first message (the question), the request, its
first version, the children it asks about, one inbox entry per person asked (bulk), the
sending policy check, attachment links, the outbox row that makes the normal fan-out
notify them, and the idempotency answer. The 202 goes back after it commits.

A consent thread hides its recipients from each other (``hidden_recipients``): the list
of who was asked would tell every family which guardians have custody.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.policy import check_reach, check_send
from gateway.audience.schemas import Audience, Recipient
from gateway.config import Settings
from gateway.consents import audience as consent_audience
from gateway.consents import state
from gateway.consents.models import ConsentChild, ConsentRequest, ConsentVersion
from gateway.consents.schemas import (
    HOURS_PER_YEAR,
    ConsentAccepted,
    ConsentCreate,
    OptionIn,
)
from gateway.db import bulk_insert
from gateway.delivery import outbox
from gateway.errors import Forbidden, InvalidInput, NotFound
from gateway.messaging import access, idempotency, posting
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.idempotency import Idempotency
from gateway.messaging.models import (
    Message,
    Participant,
    ParticipantRole,
    ReplyPolicy,
    Thread,
    ThreadKind,
)
from gateway.messaging.threads import institution_of, participant_rows, today
from gateway.orm import new_id, utcnow
from gateway.preferences.models import Category
from gateway.roster.models import Institution, Municipality

log = structlog.get_logger(__name__)

DEFAULT_OPTIONS = ({"key": "yes", "label": "Ja"}, {"key": "no", "label": "Nej"})
RESERVED_KEYS = frozenset({"withdrawn", state.PENDING, state.CONFLICTING, state.EXPIRED})
MAX_AHEAD = dt.timedelta(hours=HOURS_PER_YEAR)
SETTINGS_KEY = "consents"  # municipalities.settings["consents"]["pupils_from_age"]
DEFAULT_PUPIL_AGE = 16  # when a municipality lets pupils answer without naming an age


def options_of(given: list[OptionIn] | None) -> list[dict[str, str]]:
    """The options to store: yes/no by default; custom ones checked for clashes."""
    if given is None:
        return [dict(option) for option in DEFAULT_OPTIONS]
    errors: list[str] = []
    seen: set[str] = set()
    found: list[dict[str, str]] = []
    for index, option in enumerate(given):
        label = option.label.strip()
        if option.key in RESERVED_KEYS:
            errors.append(f"options[{index}].key: {option.key!r} is reserved; pick another key")
        if option.key in seen:
            errors.append(f"options[{index}].key: {option.key!r} is used twice; keys are unique")
        if not label:
            errors.append(f"options[{index}].label: must contain text")
        seen.add(option.key)
        found.append({"key": option.key, "label": label})
    if errors:
        raise InvalidInput("the options do not fit together", errors)
    return found


def reminder_seconds(deadline: dt.datetime, hours: list[int], now: dt.datetime) -> list[int]:
    """Reminder offsets in seconds before the deadline, earliest reminder first."""
    left = deadline - now
    errors = [
        f"reminder_offsets_hours[{index}]: {value} hours before the deadline is not in the "
        "future; give fewer hours"
        for index, value in enumerate(hours)
        if dt.timedelta(hours=value) >= left
    ]
    if len(set(hours)) < len(hours):
        errors.append("reminder_offsets_hours: give each offset once")
    if errors:
        raise InvalidInput("the reminders do not fit before the deadline", errors)
    return [value * 3600 for value in sorted(hours, reverse=True)]


def title_of(text: str) -> str:
    """The title without surrounding space; InvalidInput when nothing is left."""
    title = text.strip()
    if not title:
        raise InvalidInput("the title is empty", ["title: must contain text"])
    return title


def check_deadline(deadline: dt.datetime, now: dt.datetime) -> None:
    """InvalidInput unless the deadline carries a time zone and lies within a year ahead."""
    if deadline.tzinfo is None:
        raise InvalidInput(
            "the deadline must carry a time zone",
            ["deadline: e.g. 2026-12-24T12:00:00+01:00"],
        )
    if deadline <= now:
        raise InvalidInput("the deadline has passed", ["deadline: must be in the future"])
    if deadline > now + MAX_AHEAD:
        raise InvalidInput("the deadline is too far ahead", ["deadline: at most 366 days from now"])


def pupils_from_age(settings: dict[str, Any] | None) -> int | None:
    """The age from which pupils answer for themselves here, or None (guardians only).

    ``{"pupils_answer": true}`` allows it from :data:`DEFAULT_PUPIL_AGE`;
    ``{"pupils_from_age": n}`` allows it from ``n``.
    """
    section = (settings or {}).get(SETTINGS_KEY) or {}
    value = section.get("pupils_from_age")
    if value is None:
        return DEFAULT_PUPIL_AGE if section.get("pupils_answer") is True else None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 25:
        # A bad setting must not let younger pupils answer: guardians answer instead.
        log.warning("bad consents.pupils_from_age ignored", value=repr(value))
        return None
    return value


async def create(
    session: AsyncSession,
    actor: Actor,
    data: ConsentCreate,
    *,
    settings: Settings,
    events: Events,
    idem: Idempotency | None = None,
) -> ConsentAccepted:
    """Post a consent request; the answer once it is durable."""
    if not actor.staff:
        raise Forbidden("only staff ask for consent")
    posting.check_attachment_count(data.attachments, settings.message_max_attachments)
    accepted, asked = await idempotency.once(
        session,
        actor,
        idem,
        status=202,
        answer=ConsentAccepted,
        store=lambda: _store(session, actor, data, settings),
    )
    if asked is None:
        return accepted
    await events.publish(
        asked,
        {
            "type": "consent",
            "consent_id": str(accepted.consent_id),
            "thread_id": str(accepted.thread_id),
            "message_id": str(accepted.message_id),
        },
    )
    return accepted


async def _store(
    session: AsyncSession, actor: Actor, data: ConsentCreate, settings: Settings
) -> tuple[ConsentAccepted, list[uuid.UUID]]:
    now = utcnow()
    question, question_html = posting.body_of(data.question)
    title = title_of(data.title)
    check_deadline(data.deadline, now)
    options = options_of(data.options)
    offsets = reminder_seconds(data.deadline, data.reminder_offsets_hours, now)
    day = today(settings, now)
    audience = consent_audience.children_audience(data.audience)
    # May the sender address these targets at all, before anything says what they hold:
    # "reaches no children" for a group they may not address would tell them it exists.
    await check_reach(
        session,
        sender_id=actor.person_id,
        municipality_id=actor.municipality_id,
        audience=audience,
        recipients=[],
        today=day,
    )
    children = await consent_audience.resolve_children(
        session, actor.municipality_id, audience, day
    )
    municipality_settings = await session.scalar(
        select(Municipality.settings).where(Municipality.id == actor.municipality_id)
    )
    request = ConsentRequest(
        id=new_id(),
        municipality_id=actor.municipality_id,
        institution_id=await institution_of(session, actor, audience),
        kind=data.kind.value,
        answer_rule=data.answer_rule.value,
        options=options,
        deadline=data.deadline,
        reminder_offsets=offsets,
        pupils_from_age=pupils_from_age(municipality_settings),
        version=1,
        created_by=actor.person_id,
        created_at=now,
        updated_at=now,
    )
    answerers = await state.answerers(session, request, children, day)
    recipients = consent_audience.recipients_of(answerers, exclude=actor.person_id)
    if not recipients:
        raise InvalidInput(
            "nobody can answer for these children",
            ["audience: none of its children has an active guardian with custody"],
        )
    await check_send(
        session,
        sender_id=actor.person_id,
        municipality_id=actor.municipality_id,
        # The children as ``regarding``: the policy checks they are the sender's to ask about.
        audience=Audience(targets=audience.targets, regarding=children),
        recipients=recipients,
        today=day,
    )
    thread = await _thread(session, actor, request, title=title, recipients=recipients, now=now)
    request.thread_id = thread.id
    message = await posting.add_message(
        session, thread, author_id=actor.person_id, body=question, now=now, counted=True
    )
    await posting.link_attachments(
        session,
        municipality_id=actor.municipality_id,
        uploader_id=actor.person_id,
        message_id=message.id,
        ids=data.attachments,
    )
    session.add(request)
    await session.flush()
    session.add(
        ConsentVersion(
            id=new_id(),
            municipality_id=actor.municipality_id,
            request_id=request.id,
            version=1,
            title=title,
            question=question,
            question_html=question_html,
            message_id=message.id,
            created_by=actor.person_id,
            created_at=now,
        )
    )
    rows = [
        {
            "id": new_id(),
            "municipality_id": actor.municipality_id,
            "request_id": request.id,
            "child_id": child,
        }
        for child in children
    ]
    await bulk_insert(session, ConsentChild.__table__, rows)  # type: ignore[arg-type]
    outbox.record(session, actor.municipality_id, "message", message.id, now)
    accepted = ConsentAccepted(
        consent_id=request.id,
        thread_id=thread.id,
        message_id=message.id,
        children=len(children),
        recipients=len(recipients),
    )
    return accepted, [r.person_id for r in recipients]


async def _thread(
    session: AsyncSession,
    actor: Actor,
    request: ConsentRequest,
    *,
    title: str,
    recipients: list[Recipient],
    now: dt.datetime,
) -> Thread:
    """The request's thread with the sender's and every recipient's inbox entry."""
    thread = Thread(
        id=new_id(),
        municipality_id=actor.municipality_id,
        kind=ThreadKind.ANNOUNCEMENT.value,
        institution_id=request.institution_id,
        category=Category.CONSENT.value,
        subject=title,
        sensitive=False,
        urgent=False,
        reply_policy=ReplyPolicy.NONE.value,
        hidden_recipients=True,
        created_by=actor.person_id,
        created_at=now,
        last_message_at=now,
    )
    session.add(thread)
    await session.flush()
    sender = Recipient(person_id=actor.person_id, kind=actor.kind)
    rows = participant_rows(thread, [sender], role=ParticipantRole.SENDER, unread=0, now=now)
    # The question is counted as the entries are written: no UPDATE of each.
    rows += participant_rows(thread, recipients, role=ParticipantRole.RECIPIENT, unread=1, now=now)
    await bulk_insert(session, Participant.__table__, rows)  # type: ignore[arg-type]
    return thread


async def find(
    session: AsyncSession,
    actor: Actor,
    consent_id: uuid.UUID,
    *,
    lock: bool = False,
    share: bool = False,
) -> ConsentRequest:
    """The request by id in the caller's municipality (no access check); NotFound if none.

    ``lock`` takes the row for an update of the wording; ``share`` keeps it from
    changing while answers are written (both no-ops on SQLite, which writes one at a time).
    """
    query = select(ConsentRequest).where(
        ConsentRequest.municipality_id == actor.municipality_id, ConsentRequest.id == consent_id
    )
    if lock or share:
        query = query.with_for_update(read=share and not lock)
    request = await session.scalar(query)
    if request is None:
        raise NotFound("no such consent request")
    return request


async def load(
    session: AsyncSession,
    actor: Actor,
    consent_id: uuid.UUID,
    *,
    lock: bool = False,
    share: bool = False,
) -> tuple[ConsentRequest, Thread, ConsentVersion]:
    """The request, its thread and current version, for someone in its thread; else NotFound."""
    request = await find(session, actor, consent_id, lock=lock, share=share)
    try:
        thread, _ = await access.entry(session, actor, request.thread_id)
    except NotFound:
        raise NotFound("no such consent request") from None
    return request, thread, await current_version(session, request)


async def current_version(session: AsyncSession, request: ConsentRequest) -> ConsentVersion:
    """The wording answers are given to now."""
    found = await session.scalar(
        select(ConsentVersion).where(
            ConsentVersion.municipality_id == request.municipality_id,
            ConsentVersion.request_id == request.id,
            ConsentVersion.version == request.version,
        )
    )
    assert found is not None, "every request has its current version"
    return found


async def recalled(session: AsyncSession, request: ConsentRequest) -> bool:
    """Whether the sender recalled the current version's message: then nothing is asked."""
    at = await session.scalar(
        select(Message.recalled_at)
        .join(ConsentVersion, ConsentVersion.message_id == Message.id)
        .where(
            ConsentVersion.municipality_id == request.municipality_id,
            ConsentVersion.request_id == request.id,
            ConsentVersion.version == request.version,
        )
    )
    return at is not None


def require_staff(actor: Actor) -> None:
    """Forbidden for guardians and pupils: results and the record are for staff."""
    if not actor.staff:
        raise Forbidden("only staff see the results and the record of a consent request")


async def time_zone(session: AsyncSession, request: ConsentRequest, settings: Settings) -> str:
    """The time zone of the request's institution (the deployment's without one)."""
    found = None
    if request.institution_id is not None:
        found = await session.scalar(
            select(Institution.time_zone).where(
                Institution.municipality_id == request.municipality_id,
                Institution.id == request.institution_id,
            )
        )
    return found or settings.default_time_zone
