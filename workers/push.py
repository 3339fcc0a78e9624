"""Web push subscription jobs."""

from __future__ import annotations

from typing import Any

import structlog

from gateway.delivery import subscriptions
from gateway.orm import utcnow

log = structlog.get_logger(__name__)


async def expire_push_subscriptions(ctx: dict[str, Any]) -> int:
    """Daily: disable subscriptions unused for the configured days, delete long-dead ones."""
    now = utcnow()
    async with ctx["sessions"]() as session, session.begin():
        expired = await subscriptions.expire_unused(session, ctx["settings"], now)
        purged = await subscriptions.purge_disabled(session, ctx["settings"], now)
    log.info("expired push subscriptions", expired=expired, purged=purged)
    return expired
