"""Cutting due deliveries into ``deliver`` jobs and reserving each row for its job.

A reserved row carries its job's id (``claimed_by``) and a lease (``claimed_until``):
the dispatcher does not hand it out again while the lease runs, and a job that died
lets it go when the lease ends. A job that arq runs again (same id) keeps its rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import chunks
from gateway.delivery.models import Delivery
from gateway.delivery.queue import Queue, deliver_job_id


@dataclass(frozen=True, slots=True)
class Chunk:
    channel: str
    ids: tuple[uuid.UUID, ...]
    job_id: str


def cut(due: Sequence[tuple[uuid.UUID, str]], size: int, generation: str) -> list[Chunk]:
    """Chunks of at most ``size`` rows per channel, in id order."""
    ordered = sorted(due, key=lambda row: (row[1], row[0]))
    found: list[Chunk] = []
    for channel, rows in groupby(ordered, key=lambda row: row[1]):
        ids = [row[0] for row in rows]
        for part in chunks(ids, size):
            found.append(Chunk(channel, tuple(part), deliver_job_id(channel, part, generation)))
    return found


def reserve_rows(
    rows: Sequence[dict[str, Any]], size: int, generation: str, until: dt.datetime
) -> list[Chunk]:
    """Reserve the due rows of a plan (before they are inserted) for their chunks."""
    due = [(row["id"], row["channel"]) for row in rows if row["state"] == "queued"]
    found = cut(due, size, generation)
    by_id = {row["id"]: row for row in rows}
    for chunk in found:
        for delivery_id in chunk.ids:
            by_id[delivery_id]["claimed_by"] = chunk.job_id
            by_id[delivery_id]["claimed_until"] = until
    return found


async def reserve(session: AsyncSession, found: Sequence[Chunk], until: dt.datetime) -> None:
    """Reserve stored rows for their chunks (one UPDATE per chunk)."""
    for chunk in found:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(chunk.ids))
            .values(claimed_by=chunk.job_id, claimed_until=until)
        )


async def enqueue(queue: Queue, found: Sequence[Chunk]) -> None:
    """Hand each chunk to a worker (after the reservation committed)."""
    for chunk in found:
        await queue.deliver(chunk.channel, chunk.ids, chunk.job_id)
