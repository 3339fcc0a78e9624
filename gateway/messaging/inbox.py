"""The inbox list, unread counts and folders (archive, mute, mark) of one person.

Every query starts from the caller's own participant rows, so nothing here can reach
a thread the caller is not in.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import String, and_, bindparam, cast, func, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import InvalidInput
from gateway.messaging import access
from gateway.messaging.actors import Actor
from gateway.messaging.models import Participant, Thread, ThreadKind
from gateway.messaging.views import CountBy, Flags, ThreadPage, ThreadSummary, UnreadCounts

MAX_PAGE = 100
Flag = Literal["archived", "muted", "marked"]
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
# A page line as plain columns: no ORM objects to build for a read-only list.
_SUMMARY_COLUMNS = (
    Thread.id,
    Thread.kind,
    Thread.subject,
    Thread.sensitive,
    Thread.created_by,
    Thread.institution_id,
    Thread.category,
    Thread.urgent,
    Thread.last_message_at,
    Participant.regarding,
    Participant.unread_count,
    Participant.archived,
    Participant.muted,
    Participant.marked,
)


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """What ``GET /v1/inbox/threads`` narrows to."""

    unread: bool = False
    archived: bool = False
    institution: uuid.UUID | None = None
    child: uuid.UUID | None = None
    category: str | None = None
    limit: int = 25
    cursor: str | None = None


def encode_cursor(at: dt.datetime, thread_id: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(thread_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """The position a cursor stands for; InvalidInput for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, thread_id = json.loads(raw)
        return dt.datetime.fromisoformat(at), uuid.UUID(thread_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidInput("the cursor is not one this API gave out", ["cursor: invalid"]) from exc


async def threads(session: AsyncSession, actor: Actor, query: InboxFilter) -> ThreadPage:
    """One page of the caller's conversations, newest activity first."""
    if not 1 <= query.limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", ["limit: out of range"])
    statement = (
        select(*_SUMMARY_COLUMNS)
        .join(Thread, Thread.id == Participant.thread_id)
        .where(
            Participant.municipality_id == actor.municipality_id,
            Participant.person_id == actor.person_id,
            Participant.kind == ThreadKind.MESSAGE.value,
            Participant.archived.is_(query.archived),
        )
        .order_by(Thread.last_message_at.desc(), Thread.id.desc())
        .limit(query.limit + 1)
    )
    if query.unread:
        statement = statement.where(Participant.unread_count > 0)
    if query.institution is not None:
        statement = statement.where(Participant.institution_id == query.institution)
    if query.category is not None:
        statement = statement.where(Thread.category == query.category)
    if query.child is not None:
        statement = statement.where(_regards(session, query.child))
    if query.cursor is not None:
        at, last_id = decode_cursor(query.cursor)
        statement = statement.where(
            or_(
                Thread.last_message_at < at,
                and_(Thread.last_message_at == at, Thread.id < last_id),
            )
        )
    await outside_transaction(session)
    rows = list((await session.execute(statement)).all())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    senders = await access.people(
        session,
        actor.municipality_id,
        {r.created_by for r in rows if not r.sensitive},
        viewer=actor,
    )
    items = [
        ThreadSummary(
            id=r.id,
            kind=r.kind,
            subject=access.SENSITIVE_SUBJECT if r.sensitive else r.subject,
            sensitive=r.sensitive,
            sender=None if r.sensitive else senders.get(r.created_by),
            institution_id=r.institution_id,
            category=r.category,
            urgent=r.urgent,
            regarding=[uuid.UUID(c) for c in r.regarding],
            last_message_at=r.last_message_at,
            unread_count=r.unread_count,
            archived=r.archived,
            muted=r.muted,
            marked=r.marked,
        )
        for r in rows
    ]
    last = rows[-1] if more and rows else None
    return ThreadPage(
        items=items,
        next_cursor=encode_cursor(last.last_message_at, last.id) if last else None,
    )


async def outside_transaction(session: AsyncSession) -> None:
    """Run the session's statements without a transaction (autocommit).

    The inbox reads are one statement, or two whose results need not be one snapshot
    (the page, then its senders' names); without a transaction each request saves the
    BEGIN and COMMIT round trips. Call it before the session's first statement.
    """
    await session.connection(execution_options=_AUTOCOMMIT)


def _regards(session: AsyncSession, child: uuid.UUID):  # type: ignore[no-untyped-def]
    # JSON containment is spelled differently per dialect; ids are quoted in the array.
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return cast(Participant.regarding, JSONB).contains([str(child)])
    return cast(Participant.regarding, String).like(f'%"{child}"%')


# Built once: a statement object keeps its cache key, so a request neither builds the
# expression again nor recomputes the key under which its compiled SQL is cached.
_UNREAD = (
    select(Participant.institution_id, Participant.regarding, func.sum(Participant.unread_count))
    .where(
        Participant.municipality_id == bindparam("municipality_id"),
        Participant.person_id == bindparam("person_id"),
        Participant.kind == ThreadKind.MESSAGE.value,
        Participant.unread_count > 0,
    )
    .group_by(Participant.institution_id, Participant.regarding)
)


async def unread(session: AsyncSession, actor: Actor) -> UnreadCounts:
    """Unread messages: total, per institution, per child — one grouped, indexed query."""
    await outside_transaction(session)
    mine = {"municipality_id": actor.municipality_id, "person_id": actor.person_id}
    rows = (await session.execute(_UNREAD, mine)).all()
    total = 0
    institutions: dict[uuid.UUID, int] = {}
    children: dict[uuid.UUID, int] = {}
    for institution_id, regarding, summed in rows:
        count = int(summed or 0)
        total += count
        if institution_id is not None:
            institutions[institution_id] = institutions.get(institution_id, 0) + count
        for child in regarding or []:
            key = uuid.UUID(child)
            children[key] = children.get(key, 0) + count
    return UnreadCounts(
        total=total,
        institutions=[CountBy(id=k, unread=v) for k, v in sorted(institutions.items())],
        children=[CountBy(id=k, unread=v) for k, v in sorted(children.items())],
    )


async def set_flag(
    session: AsyncSession, actor: Actor, thread_id: uuid.UUID, flag: Flag, value: bool
) -> Flags:
    """Archive, mute or mark a thread for the caller alone."""
    async with session.begin():
        _, participant = await access.entry(session, actor, thread_id)
        await session.execute(
            update(Participant).where(Participant.id == participant.id).values({flag: value})
        )
        await session.refresh(participant)
    return Flags(
        thread_id=thread_id,
        archived=participant.archived,
        muted=participant.muted,
        marked=participant.marked,
    )
