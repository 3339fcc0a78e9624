"""``GET /v1/events``: a person's live inbox events as Server-Sent Events.

Fed from the person's Redis pub/sub channel, so an event published by any API process
reaches a stream held by any other. Comments every few seconds keep proxies from
closing an idle stream, and let the server notice a client that went away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import structlog
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.response import ServerSentEvent, ServerSentEventMessage
from redis.asyncio import Redis

from gateway.api.actors import ERRORS, reader_guard
from gateway.api.resources import Resources
from gateway.config import Settings
from gateway.errors import Unavailable
from gateway.messaging.actors import Actor
from gateway.messaging.events import channel

log = structlog.get_logger(__name__)


async def stream(
    redis: Redis, name: str, keepalive: float
) -> AsyncIterator[ServerSentEventMessage]:
    """Events from one channel, with a keepalive comment whenever none came for a while."""
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(name)
    try:
        yield ServerSentEventMessage(data=None, comment="connected", retry=5000)
        while True:
            message = await pubsub.get_message(timeout=keepalive)
            if message is None:
                yield ServerSentEventMessage(data=None, comment="keepalive")
                continue
            data = message.get("data")
            text = data.decode() if isinstance(data, bytes) else str(data)
            yield ServerSentEventMessage(event="inbox", data=text)
    finally:
        # Shielded: a cancelled stream must still leave its subscription.
        await asyncio.shield(_close(pubsub, name))


async def _close(pubsub: object, name: str) -> None:
    try:
        await pubsub.unsubscribe(name)  # type: ignore[attr-defined]
        await pubsub.aclose()  # type: ignore[attr-defined]
    except Exception as exc:
        log.debug("pubsub close failed", error=str(exc))


class EventsController(Controller):
    tags = ["events"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [reader_guard]  # noqa: RUF012
    security = [{"personToken": []}]  # noqa: RUF012

    @get(
        "/v1/events",
        summary="Live inbox events (SSE)",
        description='`event: inbox` with JSON data: `{"type": "message"|"read"|'
        '"recalled"|"announcement"|"thread_joined", "thread_id", …}` — ids only. '
        "Comment lines are keepalives.",
        responses=ERRORS,
    )
    async def events(
        self,
        *,
        actor: NamedDependency[Actor],
        resources: NamedDependency[Resources],
        settings: NamedDependency[Settings],
    ) -> ServerSentEvent:
        if resources.redis is None:
            raise Unavailable("live events need Redis (BUDSTIKKE_REDIS_URL)")
        return ServerSentEvent(
            stream(resources.redis, channel(actor.person_id), settings.events_keepalive_seconds),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
