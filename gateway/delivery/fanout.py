"""``fan_out``: one outbox row becomes planned deliveries, in one transaction, once.

The inbox entries were written when the item was accepted (the 202 means the item is
in every inbox); fan-out plans the notifications. It reads the recipients a page of
``PLAN_PAGE`` at a time (one query each, in id order), plans each page in one pass and
writes its deliveries in bulk (COPY on PostgreSQL), all in one transaction with the
outbox row's ``done_at``; after commit it enqueues the due deliveries in chunks.
Paging bounds a worker's memory by the page, not by the audience (about 1.3 KB per
planned delivery: a million recipients at once would need some 2 GB).
Run twice, it finds the row done and does nothing. Two runs at once (the sweeper
re-enqueues under a fresh job id while a slow first run is still going) are harmless:
on PostgreSQL the second cannot take the row's advisory lock and skips; on SQLite
writers take turns, and the loser meets the unique key (message, person, channel, kind)
or finds the row already marked done, and rolls back all it wrote.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway import webhooks
from gateway.config import Settings
from gateway.db import bulk_insert
from gateway.delivery import chunks, planning
from gateway.delivery.models import OPEN_STATES, Delivery, DeliveryState
from gateway.delivery.queue import Queue
from gateway.messaging.models import Message, OutboxItem, Thread
from gateway.orm import utcnow
from gateway.preferences.models import Category

log = structlog.get_logger(__name__)

#: Recipients planned per page (each page: one read, one COPY).
PLAN_PAGE = 20_000


@dataclass(frozen=True, slots=True)
class FanOutResult:
    planned: int = 0
    queued: int = 0
    chunks: int = 0
    superseded: int = 0
    already_done: bool = False
    busy: bool = False  # another run holds this row; the sweeper comes back if it fails


class _Raced(Exception):
    """Another run marked the row done first: roll back what this one wrote."""


async def fan_out(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    queue: Queue,
    outbox_id: uuid.UUID,
    *,
    now: dt.datetime | None = None,
) -> FanOutResult:
    """Do one outbox row's work; safe to run any number of times."""
    now = now or utcnow()
    try:
        async with sessions() as session, session.begin():
            if not await _hold(session, outbox_id):
                log.info("fan_out busy elsewhere", outbox_id=str(outbox_id))
                return FanOutResult(busy=True)
            item = await session.get(OutboxItem, outbox_id)
            if item is None or item.done_at is not None:
                return FanOutResult(already_done=True)
            if item.item_kind == "recall":
                result = await _recall(session, item, now)
                found: list[chunks.Chunk] = []
            else:
                result, found = await _plan(session, settings, item, now)
            await _mark_done(session, outbox_id, now)
    except (IntegrityError, _Raced):
        # Another run planned this item first and committed; nothing is left to do.
        log.info("fan_out raced", outbox_id=str(outbox_id))
        return FanOutResult(already_done=True)
    await chunks.enqueue(queue, found)
    log.info(
        "fanned out",
        outbox_id=str(outbox_id),
        planned=result.planned,
        queued=result.queued,
        chunks=result.chunks,
    )
    return result


async def _hold(session: AsyncSession, outbox_id: uuid.UUID) -> bool:
    """Whether this run may work on the row; on PostgreSQL, until its transaction ends.

    A try-lock, so a second run skips at once instead of holding a worker slot until
    the first commits; the outbox row itself is locked only by the done mark. SQLite
    has one writer at a time: there a racer waits at its first write, and
    :func:`_mark_done` or the unique key turns it back.
    """
    if (await session.connection()).dialect.name != "postgresql":
        return True
    key = int.from_bytes(outbox_id.bytes[8:], "big", signed=True)  # the random half
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(key))))


async def _mark_done(session: AsyncSession, outbox_id: uuid.UUID, now: dt.datetime) -> None:
    """Mark the row done, unless another run already did (then roll back this one)."""
    marked = await session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == outbox_id, OutboxItem.done_at.is_(None))
        .values(done_at=now)
    )
    if not getattr(marked, "rowcount", 0):
        raise _Raced


async def _plan(
    session: AsyncSession, settings: Settings, item: OutboxItem, now: dt.datetime
) -> tuple[FanOutResult, list[chunks.Chunk]]:
    row = (
        await session.execute(
            select(Message, Thread)
            .join(Thread, Thread.id == Message.thread_id)
            .where(Message.municipality_id == item.municipality_id, Message.id == item.item_id)
        )
    ).first()
    if row is None or row[0].recalled_at is not None:
        return FanOutResult(), []
    message, thread = row
    return await plan_message(
        session, settings, thread, message, now, generation=f"o{item.id.hex[-12:]}"
    )


async def plan_message(
    session: AsyncSession,
    settings: Settings,
    thread: Thread,
    message: Message,
    now: dt.datetime,
    *,
    generation: str,
    only: Collection[uuid.UUID] | None = None,
    reminder_round: int = 0,
) -> tuple[FanOutResult, list[chunks.Chunk]]:
    """Plan and write one message's deliveries (to ``only`` these people, if given).

    Runs in the caller's transaction; the caller enqueues the returned chunks after
    commit (:func:`gateway.delivery.chunks.enqueue`). A reminder round plans kind
    ``reminder`` rows in category ``reminder``.
    """
    category = Category.REMINDER.value if reminder_round else None
    ctx = await planning.context_for(session, thread, settings, now, category=category)
    until = now + dt.timedelta(seconds=settings.delivery_lease_seconds)
    found: list[chunks.Chunk] = []
    planned = people = 0
    after: uuid.UUID | None = None
    # Page by page, so that a worker holds one page's rows, not a million recipients'.
    while True:
        page = await planning.recipients(
            session, thread, message, ctx.category, only=only, after=after, limit=PLAN_PAGE
        )
        if not page:
            break
        rows = planning.plan(ctx, thread, message, page, reminder_round=reminder_round)
        found += chunks.reserve_rows(rows, settings.delivery_chunk_size, generation, until)
        await bulk_insert(session, Delivery.__table__, rows)  # type: ignore[arg-type]
        planned, people, after = planned + len(rows), people + len(page), page[-1].person_id
        if len(page) < PLAN_PAGE:
            break
    if not reminder_round:
        await webhooks.emit(
            session,
            thread.municipality_id,
            "message.created",
            {
                "message_id": message.id,
                "thread_id": thread.id,
                "kind": thread.kind,
                "institution_id": thread.institution_id,
                "recipients": people,
            },
            institution_id=thread.institution_id,
            now=now,
        )
    queued = sum(len(chunk.ids) for chunk in found)
    return FanOutResult(planned=planned, queued=queued, chunks=len(found)), found


async def _recall(session: AsyncSession, item: OutboxItem, now: dt.datetime) -> FanOutResult:
    """A recalled message's notifications that have not gone out never will."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.municipality_id == item.municipality_id,
            Delivery.message_id == item.item_id,
            Delivery.state.in_(OPEN_STATES),
        )
        .values(state=DeliveryState.SUPERSEDED.value, reason="recalled", updated_at=now)
    )
    return FanOutResult(superseded=int(getattr(result, "rowcount", 0) or 0))
