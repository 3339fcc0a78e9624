"""Daily roster upkeep: links whose end date has passed stop counting."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.orm import utcnow
from gateway.roster.models import Affiliation, Membership


async def end_expired_links(session: AsyncSession, today: dt.date) -> int:
    """Deactivate memberships and affiliations that ended before ``today``; how many."""
    ended = 0
    for model in (Membership, Affiliation):
        result = await session.execute(
            update(model)
            .where(model.active.is_(True), model.end_date.is_not(None), model.end_date < today)
            .values(active=False, updated_at=utcnow())
        )
        ended += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return ended
