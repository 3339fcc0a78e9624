"""``GET /v1/events``: a person's live inbox events as Server-Sent Events.

Fed from the person's Redis pub/sub channel, so an event published by any API process
reaches a stream held by any other; a process reads all its streams over one
subscription connection. Comments every few seconds keep proxies from closing an idle
stream, and let the server notice a client that went away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.response import ServerSentEvent, ServerSentEventMessage

from gateway.api.actors import ERRORS, reader_guard
from gateway.api.resources import Resources
from gateway.config import Settings
from gateway.errors import Unavailable
from gateway.messaging.actors import Actor
from gateway.messaging.events import Subscriptions, channel


async def stream(
    subscriptions: Subscriptions, name: str, keepalive: float
) -> AsyncIterator[ServerSentEventMessage]:
    """Events from one channel, with a keepalive comment whenever none came for a while.

    Ends when the process's subscription breaks or this stream falls too far behind;
    the client then reconnects (``retry``) and reloads what it shows.
    """
    async with subscriptions.listen(name) as backlog:
        yield ServerSentEventMessage(data=None, comment="connected", retry=5000)
        while True:
            try:
                data = await asyncio.wait_for(backlog.get(), keepalive)
            except TimeoutError:
                yield ServerSentEventMessage(data=None, comment="keepalive")
                continue
            if data is None:
                return
            yield ServerSentEventMessage(event="inbox", data=data.decode())


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
        if resources.subscriptions is None:
            raise Unavailable("live events need Redis (BUDSTIKKE_REDIS_URL)")
        return ServerSentEvent(
            stream(
                resources.subscriptions,
                channel(actor.person_id),
                settings.events_keepalive_seconds,
            ),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
