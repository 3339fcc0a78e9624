"""Sending, withdrawing and acknowledging daycare notices.

Who may send: any active guardian of the child, custody or not, may report ``sick`` or
``off`` — it informs the staff and authorises nothing. ``picked_up_by`` authorises
someone else to collect the child, so it needs custody; a guardian without custody gets
403 with that reason. Staff and children do not send notices.

A notice is one transaction: the :class:`DaycareNotice`, a message thread from the
guardian to the staff of the child's daycare groups today (the institution's management
when a room has no staff), its inbox entries and an outbox row, so the notice is in the
staff's inboxes at once and the normal fan-out plans push and email within their
working hours. Live events go out after commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.schemas import Recipient
from gateway.config import Settings
from gateway.db import bulk_insert
from gateway.delivery import outbox
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.messaging import idempotency, posting
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.idempotency import Idempotency
from gateway.messaging.models import Message, Participant, ParticipantRole, Thread, ThreadKind
from gateway.messaging.threads import participant_rows, today
from gateway.notices import limits, placement, rules, views, wording
from gateway.notices.models import DaycareNotice, NoticeKind
from gateway.notices.placement import Placement
from gateway.notices.schemas import NoticeCreate, NoticeRead
from gateway.orm import new_id, utcnow
from gateway.roster.models import PersonKind

CATEGORY = "daycare_notice"
EVENT = "daycare_notice"


async def create(
    session: AsyncSession,
    actor: Actor,
    data: NoticeCreate,
    *,
    settings: Settings,
    events: Events,
    idem: Idempotency | None = None,
) -> NoticeRead:
    """Send a notice to the child's room; the notice once it is durable."""
    if actor.kind != PersonKind.GUARDIAN.value:
        raise Forbidden("daycare notices are sent by a child's guardians")
    draft = rules.shape(data)
    now = utcnow()

    async def store() -> tuple[NoticeRead, Stored]:
        notice, custody, staff, message_id = await _store(
            session, actor, draft, child_id=data.child_id, settings=settings, now=now
        )
        (read,) = await views.reads(session, actor, [notice], custody={notice.child_id: custody})
        household = await placement.guardians(session, actor.municipality_id, [notice.child_id])
        return read, (notice, staff, message_id, household)

    read, stored = await idempotency.once(
        session, actor, idem, status=201, answer=NoticeRead, store=store
    )
    if stored is None:
        return read
    notice, staff, message_id, household = stored
    if message_id is not None:
        await events.publish(
            staff,
            {"type": "message", "thread_id": str(notice.thread_id), "message_id": str(message_id)},
        )
    await events.publish(
        [*staff, *household.get(notice.child_id, {})],
        {"type": EVENT, "notice_id": str(notice.id), "change": "created"},
    )
    return read


# What creating a notice leaves to announce: the notice, its staff, its message, the household.
Stored = tuple[DaycareNotice, list[uuid.UUID], uuid.UUID | None, dict[uuid.UUID, Any]]


async def _store(
    session: AsyncSession,
    actor: Actor,
    draft: rules.Draft,
    *,
    child_id: uuid.UUID,
    settings: Settings,
    now: dt.datetime,
) -> tuple[DaycareNotice, bool, list[uuid.UUID], uuid.UUID | None]:
    m = actor.municipality_id
    child = await placement.active_child(session, m, child_id)
    custody = (await placement.children_of(session, m, actor.person_id)).get(child_id)
    if child is None or custody is None:
        # The same answer for a child that does not exist and one that is not theirs.
        raise NotFound("no such child among your children")
    where = await placement.daycare_of(session, m, child.id, today(settings, now))
    local_today = where.today(now)
    rules.dated(draft, local_today)
    if draft.kind == NoticeKind.PICKED_UP_BY and not custody:
        raise Forbidden(
            "only a guardian with custody may authorise someone else to pick up the child; "
            "ask a guardian with custody to send it (sick and off notices you may send)"
        )
    await limits.daily_limit(session, actor, where, local_today, now)
    await limits.not_reported(session, m, child.id, draft)
    staff = await placement.room_staff(session, m, where, local_today)
    notice = DaycareNotice(
        id=new_id(),
        municipality_id=m,
        institution_id=where.institution_id,
        child_id=child.id,
        kind=draft.kind.value,
        from_date=draft.from_date,
        to_date=draft.to_date,
        picked_up_by=draft.picked_up_by,
        pickup_time=draft.pickup_time,
        note=draft.note,
        created_by=actor.person_id,
        created_at=now,
    )
    message_id = None
    if staff:
        # One subject for everyone in the thread, the sender included: the child's name
        # as the sender may see it (a protected child's alias to a parent without custody).
        name = views.name_for_guardian(child, custody)
        thread = await _open_thread(
            session,
            actor,
            where,
            child_id=child.id,
            staff=staff,
            subject=wording.subject(name, draft, local_today),
            now=now,
        )
        message_id = await _post(session, thread, actor.person_id, wording.body(name, draft), now)
        notice.thread_id = thread.id
    session.add(notice)
    await session.flush()
    return notice, custody, staff, message_id


async def _open_thread(
    session: AsyncSession,
    actor: Actor,
    where: Placement,
    *,
    child_id: uuid.UUID,
    staff: list[uuid.UUID],
    subject: str,
    now: dt.datetime,
) -> Thread:
    thread = Thread(
        id=new_id(),
        municipality_id=actor.municipality_id,
        kind=ThreadKind.MESSAGE.value,
        institution_id=where.institution_id,
        category=CATEGORY,
        subject=subject,
        sensitive=False,
        urgent=False,
        reply_policy="all",
        hidden_recipients=False,
        created_by=actor.person_id,
        created_at=now,
        last_message_at=now,
    )
    session.add(thread)
    await session.flush()
    regarding = (child_id,)
    sender = Recipient(person_id=actor.person_id, kind=actor.kind, regarding=regarding)
    rows = participant_rows(thread, [sender], role=ParticipantRole.SENDER, unread=0, now=now)
    recipients = [
        Recipient(person_id=p, kind=PersonKind.STAFF.value, regarding=regarding) for p in staff
    ]
    rows += participant_rows(thread, recipients, role=ParticipantRole.RECIPIENT, unread=0, now=now)
    await bulk_insert(session, Participant.__table__, rows)  # type: ignore[arg-type]
    return thread


async def _post(
    session: AsyncSession, thread: Thread, author_id: uuid.UUID, text: str, now: dt.datetime
) -> uuid.UUID:
    """A plain-text message (never read as Markdown) with its outbox row; its id."""
    message = Message(
        id=new_id(),
        municipality_id=thread.municipality_id,
        thread_id=thread.id,
        author_id=author_id,
        body=text,
        body_html=wording.as_html(text),
        created_at=now,
    )
    session.add(message)
    await session.flush()
    await posting.count_unread(session, thread, message)
    thread.last_message_at = now
    outbox.record(session, thread.municipality_id, "message", message.id, now)
    return message.id


async def withdraw(
    session: AsyncSession, actor: Actor, notice_id: uuid.UUID, *, events: Events
) -> NoticeRead:
    """The sender takes a notice back before its day starts; staff see it as withdrawn.

    A second call changes nothing. The thread gets a message saying so, which reaches
    the staff like any message (inbox at once, notifications within working hours).
    """
    now = utcnow()
    message_id = None
    async with session.begin():
        notice, custody = await _visible_to_guardian(session, actor, notice_id)
        if notice.created_by != actor.person_id:
            raise Forbidden("only the guardian who sent a notice may withdraw it")
        if notice.withdrawn_at is None:
            zone = await placement.institution_zone(
                session, actor.municipality_id, notice.institution_id
            )
            local_today = placement.local_day(zone or placement.FALLBACK_ZONE, now)
            if local_today >= notice.from_date:
                raise Conflict(
                    f"the notice's day ({notice.from_date.isoformat()}) has begun: it can no "
                    "longer be withdrawn; tell the staff in its thread instead"
                )
            notice.withdrawn_at = now
            thread = None
            if notice.thread_id is not None:
                thread = await session.get(Thread, notice.thread_id)
            if thread is not None:
                text = wording.withdrawn(thread.subject)
                message_id = await _post(session, thread, actor.person_id, text, now)
            await session.flush()
        (read,) = await views.reads(session, actor, [notice], custody={notice.child_id: custody})
        staff = [p for p in await _thread_people(session, notice) if p != actor.person_id]
    if message_id is not None:
        await events.publish(
            staff,
            {"type": "message", "thread_id": str(notice.thread_id), "message_id": str(message_id)},
        )
        await events.publish(
            staff, {"type": EVENT, "notice_id": str(notice.id), "change": "withdrawn"}
        )
    return read


async def acknowledge(
    session: AsyncSession, actor: Actor, notice_id: uuid.UUID, *, events: Events
) -> NoticeRead:
    """Staff at the notice's institution have seen it; the first acknowledger stays."""
    if not actor.staff:
        raise Forbidden("staff acknowledge notices; guardians see the acknowledgement")
    now = utcnow()
    async with session.begin():
        notice = await session.scalar(
            select(DaycareNotice).where(
                DaycareNotice.municipality_id == actor.municipality_id,
                DaycareNotice.id == notice_id,
            )
        )
        zone = None
        if notice is not None:
            zone = await placement.institution_zone(
                session, actor.municipality_id, notice.institution_id
            )
        if (
            notice is None
            or zone is None
            or not await placement.works_at(
                session,
                actor.municipality_id,
                actor.person_id,
                notice.institution_id,
                placement.local_day(zone, now),
            )
        ):
            raise NotFound("no such notice")
        result = await session.execute(
            update(DaycareNotice)
            .where(
                DaycareNotice.municipality_id == notice.municipality_id,
                DaycareNotice.id == notice.id,
                DaycareNotice.acknowledged_at.is_(None),
            )
            .values(acknowledged_by=actor.person_id, acknowledged_at=now)
        )
        first = int(getattr(result, "rowcount", 0) or 0) == 1
        await session.refresh(notice)
        (read,) = await views.reads(session, actor, [notice])
        household = await placement.guardians(session, actor.municipality_id, [notice.child_id])
    if first:
        await events.publish(
            household.get(notice.child_id, {}),
            {"type": EVENT, "notice_id": str(notice.id), "change": "acknowledged"},
        )
    return read


async def _visible_to_guardian(
    session: AsyncSession, actor: Actor, notice_id: uuid.UUID
) -> tuple[DaycareNotice, bool]:
    """A notice about one of the caller's children, and the caller's custody of it."""
    notice = None
    if actor.kind == PersonKind.GUARDIAN.value:
        notice = await session.scalar(
            select(DaycareNotice).where(
                DaycareNotice.municipality_id == actor.municipality_id,
                DaycareNotice.id == notice_id,
            )
        )
    if notice is None:
        raise NotFound("no such notice")
    custody = (await placement.children_of(session, actor.municipality_id, actor.person_id)).get(
        notice.child_id
    )
    if custody is None:
        raise NotFound("no such notice")
    return notice, custody


async def _thread_people(session: AsyncSession, notice: DaycareNotice) -> list[uuid.UUID]:
    """Everyone in the notice's thread (who see the notice change)."""
    if notice.thread_id is None:
        return []
    rows = await session.scalars(
        select(Participant.person_id).where(
            Participant.municipality_id == notice.municipality_id,
            Participant.thread_id == notice.thread_id,
        )
    )
    return list(rows.all())
