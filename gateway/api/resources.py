"""Connections the API holds for its lifetime: made at startup, closed at shutdown.

With ``BUDSTIKKE_DATABASE_REPLICA_URL`` the API holds two engines: the primary for
writes and for every read that must see the caller's own writes, and a read-only one on
the streaming replica for the lists and reports that may lag (docs/scaling.md says
which). Handlers opt in with ``dependencies=REPLICA``; without a replica that gives
them the primary's sessions, exactly as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from litestar import Litestar
from litestar.di import NamedDependency, Provide
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.config import Settings
from gateway.db import READ_ONLY, READ_YOUR_WRITES, create_engine, session_factory
from gateway.delivery import outbox
from gateway.delivery.queue import Queue
from gateway.messaging.events import Subscriptions
from gateway.redis_client import connect_redis


@dataclass
class Resources:
    """The engines, session factories and Redis client of one API process."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis | None
    replica: AsyncEngine | None = None
    queue: Queue = field(init=False)
    reads: async_sessionmaker[AsyncSession] = field(init=False)
    subscriptions: Subscriptions | None = field(init=False)

    def __post_init__(self) -> None:
        self.queue = Queue(self.redis, self.settings.queue_name)
        self.subscriptions = Subscriptions(self.redis) if self.redis is not None else None
        self.reads = session_factory(self.replica) if self.replica is not None else self.sessions

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        replica_url = settings.database_replica_url
        engine = create_engine(
            settings.database_url, server_settings=READ_YOUR_WRITES if replica_url else None
        )
        replica = create_engine(replica_url, server_settings=READ_ONLY) if replica_url else None
        redis = connect_redis(settings, socket_connect_timeout=2, socket_timeout=5)
        return cls(settings, engine, session_factory(engine), redis, replica)

    async def close(self) -> None:
        if self.subscriptions is not None:
            await self.subscriptions.close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.replica is not None:
            await self.replica.dispose()
        await self.engine.dispose()


def lifespan(settings: Settings):  # type: ignore[no-untyped-def]
    """A Litestar lifespan that puts :class:`Resources` in ``app.state.resources``."""

    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        resources = Resources.open(settings)
        app.state.resources = resources
        try:
            yield
        finally:
            await resources.close()

    return run


async def provide_session(resources: NamedDependency[Resources]) -> AsyncIterator[AsyncSession]:
    """One session per request; the handler's service decides when to commit.

    When the handler is done, the work its transactions committed is enqueued.
    """
    async with resources.sessions() as session:
        yield session
        await outbox.flush(session, resources.queue)


async def provide_read_session(
    resources: NamedDependency[Resources],
) -> AsyncIterator[AsyncSession]:
    """One read-only session per request on the replica (the primary without one).

    Only for handlers that write nothing and whose caller accepts data a moment old:
    nothing is flushed to the queue, and the replica refuses writes.
    """
    async with resources.reads() as session:
        yield session


# ``dependencies=REPLICA`` on a handler: its ``session`` reads from the replica.
REPLICA = {"session": Provide(provide_read_session)}
