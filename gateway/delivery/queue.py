"""The job queue (arq on Redis) as the gateway sees it: enqueue by id, never by payload.

Every job id is deterministic, so enqueuing the same work twice while it waits is a
no-op in arq; the outbox sweeper's ids also name the sweep round, so a round is not
ignored because of an earlier, killed job. Losing Redis loses no work: the outbox
sweeper and the delivery dispatcher find what still has to be done in the database
and enqueue it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

FAN_OUT = "fan_out"
DELIVER = "deliver"
SEND_DIGESTS = "send_digests"


def fan_out_job_id(outbox_id: uuid.UUID, sweep_round: str | None = None) -> str:
    """The first enqueue's id, or one sweep round's.

    arq keeps a killed job's id locked for the longest job timeout + 10 s, and ignores
    an enqueue of an id it still knows; a fresh id per sweep round lets the sweeper
    re-plan within its interval. ``fan_out`` serialises runs of one row itself.
    """
    if sweep_round is None:
        return f"{FAN_OUT}:{outbox_id}"
    return f"{FAN_OUT}:{outbox_id}:s{sweep_round}"


def deliver_job_id(channel: str, ids: Sequence[uuid.UUID], generation: str) -> str:
    """One chunk's job id: its channel, its first row, and which cut made it.

    A row is in one chunk per cut, so its first row and the cut name the chunk.
    """
    return f"{DELIVER}:{channel}:{ids[0]}:{generation}"


class Queue:
    """Enqueues gateway jobs; without Redis it does nothing (the sweepers catch up)."""

    def __init__(self, redis: Redis | None, name: str) -> None:
        self._arq = ArqRedis(connection_pool=redis.connection_pool) if redis is not None else None
        self.name = name

    @property
    def available(self) -> bool:
        return self._arq is not None

    async def fan_out(
        self, outbox_ids: Sequence[uuid.UUID], *, sweep_round: str | None = None
    ) -> None:
        """Ask a worker to fan these outbox rows out (again, in a sweep round)."""
        for outbox_id in outbox_ids:
            job_id = fan_out_job_id(outbox_id, sweep_round)
            await self._enqueue(FAN_OUT, str(outbox_id), job_id=job_id)

    async def deliver(self, channel: str, ids: Sequence[uuid.UUID], job_id: str) -> None:
        """Ask a worker to send one chunk of deliveries."""
        await self._enqueue(DELIVER, channel, [str(i) for i in ids], job_id=job_id)

    async def _enqueue(self, function: str, *args: object, job_id: str) -> None:
        if self._arq is None:
            return
        try:
            await self._arq.enqueue_job(function, *args, _job_id=job_id, _queue_name=self.name)
        except (RedisError, OSError) as exc:
            # The work is in the database; a sweeper enqueues it again.
            log.warning("job not enqueued", function=function, job_id=job_id, error=str(exc))
