"""Live inbox events over Redis pub/sub: one channel per person, published after commit.

Events carry ids only, never a subject or body (a sensitive thread's event must say no
more than a notification may). Losing Redis loses no data: a publish that fails is
logged and the portal catches up from the inbox API.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)
CHANNEL_PREFIX = "budstikke:events:"


def channel(person_id: uuid.UUID) -> str:
    """The pub/sub channel of one person's live events."""
    return f"{CHANNEL_PREFIX}{person_id}"


class Events:
    """Publishes events to people's channels; a no-op without Redis."""

    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis

    async def publish(self, person_ids: Iterable[uuid.UUID], event: dict[str, Any]) -> None:
        """Send ``event`` to each person in one round trip (a pipeline)."""
        targets = list(dict.fromkeys(person_ids))
        if self._redis is None or not targets:
            return
        payload = msgspec.json.encode(event)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for person_id in targets:
                    pipe.publish(channel(person_id), payload)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            # The change is committed; a missed live event only delays a portal's refresh.
            log.warning("live event not published", kind=event.get("type"), error=str(exc))
