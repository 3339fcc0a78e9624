"""Live inbox events over Redis pub/sub: one channel per person, published after commit.

Events carry ids only, never a subject or body (a sensitive thread's event must say no
more than a notification may). Losing Redis loses no data: a publish that fails is
logged and the portal catches up from the inbox API. Any API process may publish and
any may hold the stream; each process reads all its streams over one subscription
connection (:class:`Subscriptions`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)
CHANNEL_PREFIX = "budstikke:events:"


def channel(person_id: uuid.UUID) -> str:
    """The pub/sub channel of one person's live events."""
    return f"{CHANNEL_PREFIX}{person_id}"


# Redis publishes one payload to many channels itself: a broadcast to 100,000 people is
# twenty commands, not 100,000 (redis-py builds each command in Python; as a pipeline
# of PUBLISH that took 4.5 s per 100,000 on a busy two-core machine, this 0.75 s).
PUBLISH_MANY = "for i = 2, #ARGV do redis.call('PUBLISH', ARGV[i], ARGV[1]) end return #ARGV - 1"
# Channels per script call: each call holds Redis for a few milliseconds at most.
PUBLISH_BATCH = 5_000


class Events:
    """Publishes events to people's channels; a no-op without Redis."""

    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis
        self._publish_many = redis.register_script(PUBLISH_MANY) if redis is not None else None

    async def publish(self, person_ids: Iterable[uuid.UUID], event: dict[str, Any]) -> None:
        """Send ``event`` to each person: one script call per ``PUBLISH_BATCH`` of them."""
        targets = list(dict.fromkeys(person_ids))
        if self._publish_many is None or not targets:
            return
        payload = msgspec.json.encode(event)
        try:
            for start in range(0, len(targets), PUBLISH_BATCH):
                batch = targets[start : start + PUBLISH_BATCH]
                await self._publish_many(keys=[], args=[payload, *map(channel, batch)])
        except (RedisError, OSError) as exc:
            # The change is committed; a missed live event only delays a portal's refresh.
            log.warning("live event not published", kind=event.get("type"), error=str(exc))


# Events waiting for one slow stream; past this it is ended and its portal reloads.
STREAM_BACKLOG = 100
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 5.0

Backlog = asyncio.Queue[bytes | None]


class Subscriptions:
    """Every live stream of one API process over one Redis pub/sub connection.

    A connection per stream would make Redis hold a client for every open inbox (about
    100 000 at a national morning peak); instead each process subscribes once per
    person it streams to and hands each message to that person's streams in memory.
    A stream gets ``None`` when it must end (the connection broke, or it fell behind):
    its portal reconnects, to any process, and reloads.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._streams: dict[str, set[Backlog]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def listen(self, name: str) -> AsyncIterator[Backlog]:
        """A queue of one channel's messages; subscribed once this is entered."""
        backlog: Backlog = asyncio.Queue(maxsize=STREAM_BACKLOG)
        confirmed = await self._add(name, backlog)
        try:
            await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_TIMEOUT_SECONDS)
            yield backlog
        finally:
            # Shielded: a cancelled stream must still leave its subscription.
            await asyncio.shield(self._remove(name, backlog))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _add(self, name: str, backlog: Backlog) -> asyncio.Event:
        async with self._lock:
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub()
            streams = self._streams.setdefault(name, set())
            streams.add(backlog)
            if len(streams) > 1:
                return self._confirmed[name]
            confirmed = self._confirmed[name] = asyncio.Event()
            await self._pubsub.subscribe(name)
            if self._reader is None:
                self._reader = asyncio.create_task(self._read(self._pubsub))
            return confirmed

    async def _remove(self, name: str, backlog: Backlog) -> None:
        async with self._lock:
            streams = self._streams.get(name)
            if streams is None or backlog not in streams:
                return
            streams.discard(backlog)
            if streams:
                return
            del self._streams[name]
            self._confirmed.pop(name, None)
            if self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(name)
                except (RedisError, OSError) as exc:
                    log.debug("unsubscribe failed", error=str(exc))

    async def _read(self, pubsub: PubSub) -> None:
        """Hand every message to its channel's streams until the connection breaks."""
        try:
            while True:
                message = await pubsub.get_message(timeout=READ_TIMEOUT_SECONDS)
                if message is not None:
                    self._dispatch(message)
        except (RedisError, OSError) as exc:
            log.warning("live events subscription lost", error=str(exc))
        finally:
            self._end_all(pubsub)
            await asyncio.shield(_quietly_close(pubsub))

    def _dispatch(self, message: dict[str, Any]) -> None:
        name = _text(message.get("channel"))
        if message.get("type") == "subscribe":
            if name in self._confirmed:
                self._confirmed[name].set()
            return
        if message.get("type") != "message":
            return
        data = message.get("data")
        payload = data if isinstance(data, bytes) else str(data).encode()
        for backlog in list(self._streams.get(name, ())):
            if backlog.full():
                _end(backlog)  # a stream this far behind reloads instead
                self._streams[name].discard(backlog)
            else:
                backlog.put_nowait(payload)

    def _end_all(self, pubsub: PubSub) -> None:
        if self._pubsub is not pubsub:
            return
        for streams in self._streams.values():
            for backlog in streams:
                _end(backlog)
        for confirmed in self._confirmed.values():
            confirmed.set()  # wakes a stream still waiting, which then ends
        self._streams.clear()
        self._confirmed.clear()
        self._pubsub = None
        self._reader = None


def _end(backlog: Backlog) -> None:
    while not backlog.empty():
        backlog.get_nowait()
    backlog.put_nowait(None)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _quietly_close(pubsub: PubSub) -> None:
    try:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    except (RedisError, OSError) as exc:
        log.debug("pubsub close failed", error=str(exc))
