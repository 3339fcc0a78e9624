"""The outbox: work written in the transaction that made it necessary, enqueued after commit.

``record`` adds an outbox row to the caller's transaction and remembers its id on the
session; when that transaction commits, the id moves to the session's committed list
(a rollback forgets it), and ``flush`` enqueues a ``fan_out`` job for each. The API
calls ``flush`` when a request's session closes; the sweeper enqueues again whatever
no worker finished, under a fresh job id each round, so a lost or killed job or a
flushed Redis delays work by a sweep interval but never loses it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gateway.delivery.queue import Queue
from gateway.messaging.models import OutboxItem
from gateway.orm import new_id

PENDING = "budstikke.outbox.pending"
COMMITTED = "budstikke.outbox.committed"
SWEEP_BATCH = 1000


def record(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    kind: str,
    item_id: uuid.UUID,
    now: dt.datetime,
) -> uuid.UUID:
    """Add work for the delivery worker to this transaction; its id."""
    outbox_id = new_id()
    session.add(
        OutboxItem(
            id=outbox_id,
            municipality_id=municipality_id,
            item_kind=kind,
            item_id=item_id,
            created_at=now,
        )
    )
    session.info.setdefault(PENDING, []).append(outbox_id)
    return outbox_id


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if pending:
        session.info.setdefault(COMMITTED, []).extend(pending)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(PENDING, None)


async def flush(session: AsyncSession, queue: Queue) -> None:
    """Enqueue ``fan_out`` for every outbox row this session committed."""
    committed: list[uuid.UUID] = session.info.pop(COMMITTED, [])
    if committed:
        await queue.fan_out(committed)


async def sweep(session: AsyncSession, queue: Queue, *, older_than: dt.datetime) -> int:
    """Enqueue again the outbox rows no worker finished; how many."""
    ids = list(
        (
            await session.scalars(
                select(OutboxItem.id)
                .where(OutboxItem.done_at.is_(None), OutboxItem.created_at < older_than)
                .order_by(OutboxItem.created_at)
                .limit(SWEEP_BATCH)
            )
        ).all()
    )
    # One id per round (the cutoff names it; arq's cron runs a round once): a killed
    # job's id stays locked in arq for ~10 minutes, so the same id would be ignored.
    await queue.fan_out(ids, sweep_round=str(int(older_than.timestamp())))
    return len(ids)
