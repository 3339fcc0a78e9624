"""Connections the API holds for its lifetime: made at startup, closed at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from litestar import Litestar
from litestar.di import NamedDependency
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.config import Settings
from gateway.db import create_engine, session_factory
from gateway.delivery import outbox
from gateway.delivery.queue import Queue


@dataclass
class Resources:
    """The engine, session factory and Redis client of one API process."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis | None
    queue: Queue = field(init=False)

    def __post_init__(self) -> None:
        self.queue = Queue(self.redis, self.settings.queue_name)

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        engine = create_engine(settings.database_url)
        redis = (
            Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
            if settings.redis_url
            else None
        )
        return cls(settings, engine, session_factory(engine), redis)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
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
