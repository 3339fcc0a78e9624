"""What stops a notice that is otherwise fine: the daily limit, and a day already reported."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import Conflict, LimitExceeded
from gateway.messaging.actors import Actor
from gateway.notices import placement, rules
from gateway.notices.models import DaycareNotice, NoticeKind
from gateway.notices.placement import Placement

PER_DAY = 20  # notices one guardian may send in one day (institution time)


async def daily_limit(
    session: AsyncSession, actor: Actor, where: Placement, local_today: dt.date, now: dt.datetime
) -> None:
    """LimitExceeded (429) after ``PER_DAY`` notices today; withdrawn ones count too."""
    start = placement.local_midnight(where.time_zone, local_today)
    sent = await session.scalar(
        select(func.count())
        .select_from(DaycareNotice)
        .where(
            DaycareNotice.municipality_id == actor.municipality_id,
            DaycareNotice.created_by == actor.person_id,
            DaycareNotice.created_at >= start,
        )
    )
    if int(sent or 0) >= PER_DAY:
        tomorrow = placement.local_midnight(where.time_zone, local_today + dt.timedelta(days=1))
        raise LimitExceeded(
            f"at most {PER_DAY} notices a day; try again tomorrow or write in a notice's thread",
            limit="notices_per_day",
            rate=True,
            retry_after=max(1, int((tomorrow - now).total_seconds())),
        )


async def not_reported(
    session: AsyncSession, municipality_id: uuid.UUID, child_id: uuid.UUID, draft: rules.Draft
) -> None:
    """Conflict when a sick or off notice already covers one of these days.

    Two guardians often report the same illness; the second learns that it is known
    instead of the staff getting it twice. Pick-ups are not refused: a new one on the
    same day is how a guardian corrects one whose day has begun.
    """
    if draft.kind == NoticeKind.PICKED_UP_BY:
        return
    existing = await session.scalar(
        select(DaycareNotice)
        .where(
            DaycareNotice.municipality_id == municipality_id,
            DaycareNotice.child_id == child_id,
            DaycareNotice.kind == draft.kind.value,
            DaycareNotice.withdrawn_at.is_(None),
            DaycareNotice.from_date <= draft.to_date,
            DaycareNotice.to_date >= draft.from_date,
        )
        .order_by(DaycareNotice.from_date)
        .limit(1)
    )
    if existing is not None:
        raise Conflict(
            f"the child is already reported {draft.kind.value} from "
            f"{existing.from_date.isoformat()} to {existing.to_date.isoformat()} "
            f"(notice {existing.id}); its sender may withdraw it before its day, "
            "or write in its thread"
        )
