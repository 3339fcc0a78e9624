"""The morning peak's backlog over time: sampled each second, printed compactly, judged.

Each sample holds the arq queue's length (the sorted set ``BUDSTIKKE_QUEUE_NAME`` in
Redis: jobs waiting for a worker slot), the outbox backlog (rows with no ``done_at``:
accepted items whose ``fan_out`` has not committed), the deliveries waiting to go
(``state = 'queued'``), and from the generator the posts sent, answered and in flight.

The backlog is *bounded* when, over the second half of the load, its least-squares
slope is under 1 % of the offered post rate per second (it is not building up), and
it drains to zero within the drain timeout once the load stops.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

import harness
from peak_load import Load
from redis.asyncio import Redis

BOUNDED_SLOPE_SHARE = 0.01


@dataclass
class Sample:
    t: float  # seconds since the load started
    sent: int
    answered: int
    in_flight: int
    arq_queue: int
    outbox_undone: int
    deliveries_queued: int

    @property
    def backlog(self) -> int:
        return self.arq_queue + self.outbox_undone + self.deliveries_queued


class Sampler:
    """Samples once a second until stopped; ``drained()`` waits for a zero backlog."""

    def __init__(self, database_url: str, redis_url: str, queue: str, load: Load) -> None:
        self._database_url, self._redis_url, self._queue = database_url, redis_url, queue
        self._load = load
        self.samples: list[Sample] = []
        self.start = 0.0
        self._conn: Any = None
        self._redis: Redis | None = None

    async def __aenter__(self) -> Sampler:
        self._conn = await harness.connect(self._database_url)
        self._redis = Redis.from_url(self._redis_url)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._conn.close()
        if self._redis is not None:
            await self._redis.aclose()

    async def sample(self) -> Sample:
        assert self._redis is not None
        arq = await self._redis.zcard(self._queue)
        outbox = await self._conn.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL")
        queued = await self._conn.fetchval("SELECT count(*) FROM deliveries WHERE state = 'queued'")
        found = Sample(
            t=round(time.time() - self.start, 1),
            sent=len(self._load.sent),
            answered=sum(1 for s in self._load.sent if s.answered is not None),
            in_flight=self._load.in_flight,
            arq_queue=arq,
            outbox_undone=outbox,
            deliveries_queued=queued,
        )
        self.samples.append(found)
        return found

    async def every_second(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            began = time.time()
            await self.sample()
            await asyncio.sleep(max(0.0, 1.0 - (time.time() - began)))

    async def drained(self, within: float) -> float | None:
        """Seconds after now until the backlog is zero (sampling on); None past ``within``."""
        began = time.time()
        while time.time() - began < within:
            if (await self.sample()).backlog == 0:
                return time.time() - began
            await asyncio.sleep(1.0)
        return None


async def forget_queue(redis_url: str, queue: str) -> None:
    """Delete the run's own queue keys once its worker stopped (job keys expire alone)."""
    redis = Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{queue}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(t, y)``; 0 for fewer than two points."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (y - mean_y) for t, y in points) / spread if spread else 0.0


def judge(
    samples: list[Sample], load_s: float, rate_per_s: float, drain_s: float | None
) -> dict[str, Any]:
    """Slope over the load's second half, peak, drain time and the verdict."""
    second_half = [(s.t, float(s.backlog)) for s in samples if load_s / 2 <= s.t <= load_s]
    growth = slope(second_half)
    return {
        "slope_second_half_per_s": growth,
        "slope_limit_per_s": BOUNDED_SLOPE_SHARE * rate_per_s,
        "peak_backlog": max((s.backlog for s in samples), default=0),
        "drain_s": drain_s,
        "bounded": drain_s is not None and growth <= BOUNDED_SLOPE_SHARE * rate_per_s,
    }


def table(samples: list[Sample], rows: int = 24) -> str:
    """A compact time series: at most ``rows`` lines, evenly picked, the last one kept."""
    step = max(1, len(samples) // rows)
    picked = samples[::step]
    if samples and picked[-1] is not samples[-1]:
        picked.append(samples[-1])
    lines = ["      t   sent  202s  flight    arq  outbox  queued"]
    lines += [
        f"  {s.t:5.0f} {s.sent:6d} {s.answered:5d} {s.in_flight:7d} {s.arq_queue:6d} "
        f"{s.outbox_undone:7d} {s.deliveries_queued:7d}"
        for s in picked
    ]
    return "\n".join(lines)


def as_json(samples: list[Sample]) -> list[dict[str, Any]]:
    return [asdict(s) for s in samples]
