"""Roster jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from gateway.roster import housekeeping

log = structlog.get_logger(__name__)


async def end_expired_links(ctx: dict[str, Any]) -> int:
    """Nightly: memberships and affiliations past their end date stop counting."""
    today = dt.datetime.now(ZoneInfo(ctx["settings"].default_time_zone)).date()
    async with ctx["sessions"]() as session, session.begin():
        ended = await housekeeping.end_expired_links(session, today)
    log.info("ended expired roster links", count=ended)
    return ended
