"""The periodic sweeps that keep work moving when a job was lost or had to wait.

``dispatch`` releases deferred deliveries whose time has come (quiet hours over, an
escalation due) and hands every due, unreserved row to a ``deliver`` job in chunks —
this is also what recovers rows of a job that died or that a flushed Redis forgot.
``sweep_outbox`` enqueues again the outbox rows no worker finished.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.config import Settings
from gateway.delivery import chunks, outbox
from gateway.delivery.models import Delivery, DeliveryKind, DeliveryState
from gateway.delivery.queue import Queue

DISPATCH_BATCH = 50_000


@dataclass(frozen=True, slots=True)
class Dispatched:
    released: int
    queued: int
    chunks: int


async def dispatch(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    queue: Queue,
    now: dt.datetime,
) -> Dispatched:
    """Release due deferred rows and enqueue every due, unreserved row."""
    until = now + dt.timedelta(seconds=settings.delivery_lease_seconds)
    async with sessions() as session, session.begin():
        released = await session.execute(
            update(Delivery)
            .where(
                Delivery.state == DeliveryState.DEFERRED.value,
                Delivery.kind != DeliveryKind.DIGEST.value,
                Delivery.not_before <= now,
            )
            .values(state=DeliveryState.QUEUED.value, updated_at=now)
        )
        due = (
            await session.execute(
                select(Delivery.id, Delivery.channel)
                .where(
                    Delivery.state == DeliveryState.QUEUED.value,
                    Delivery.not_before <= now,
                    or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
                )
                .order_by(Delivery.not_before)
                .limit(DISPATCH_BATCH)
            )
        ).all()
        found = chunks.cut(
            [(row[0], row[1]) for row in due],
            settings.delivery_chunk_size,
            f"d{int(now.timestamp() * 1000)}",
        )
        await chunks.reserve(session, found, until)
    await chunks.enqueue(queue, found)
    return Dispatched(
        released=int(getattr(released, "rowcount", 0) or 0), queued=len(due), chunks=len(found)
    )


async def sweep_outbox(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, queue: Queue, now: dt.datetime
) -> int:
    """Enqueue the outbox rows older than the sweep delay that are not done."""
    older_than = now - dt.timedelta(seconds=settings.outbox_sweep_after_seconds)
    async with sessions() as session:
        return await outbox.sweep(session, queue, older_than=older_than)
