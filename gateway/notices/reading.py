"""Reading notices: a guardian's list about their children, and a room's list for one day.

A guardian sees every notice about each of their children (custody or not), whoever
sent it, with the staff's acknowledgement. Staff see an institution's day list only
while they work there (affiliated, or in one of its groups with a staff role, today);
to anyone else the institution does not exist (404), whether it does or not.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.errors import Forbidden, InvalidInput, NotFound
from gateway.messaging.actors import Actor
from gateway.messaging.threads import today
from gateway.notices import placement, views
from gateway.notices.models import DaycareNotice
from gateway.notices.schemas import DayList, DayNotice, GroupName, NoticeList
from gateway.orm import utcnow
from gateway.roster.models import PersonKind

MAX_RANGE_DAYS = 366  # the longest span one guardian list covers
LIST_LIMIT = 500  # notices in one guardian list
DAY_LIMIT = 2000  # notices in one day list (an institution's children × a few)


async def for_guardian(
    session: AsyncSession,
    actor: Actor,
    *,
    settings: Settings,
    child_id: uuid.UUID | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> NoticeList:
    """Notices about the caller's children that cover a day from ``start`` to ``end``.

    Without dates: from today for a year (notices cannot start later than that).
    """
    if actor.kind != PersonKind.GUARDIAN.value:
        raise Forbidden(
            "this list is for guardians; staff read an institution's day list at "
            "/v1/institutions/{institution_id}/notices"
        )
    start = start or today(settings, utcnow())
    end = end or start + dt.timedelta(days=MAX_RANGE_DAYS - 1)
    if end < start:
        raise InvalidInput("the range is empty", ["to: must not be before from"])
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"the range may cover at most {MAX_RANGE_DAYS} days",
            [f"to: at most {MAX_RANGE_DAYS - 1} days after from"],
        )
    async with session.begin():
        custody = await placement.children_of(session, actor.municipality_id, actor.person_id)
        if child_id is not None:
            if child_id not in custody:
                raise NotFound("no such child among your children")
            wanted = [child_id]
        else:
            wanted = list(custody)
        if not wanted:
            return NoticeList(items=[], truncated=False)
        found = list(
            (
                await session.scalars(
                    select(DaycareNotice)
                    .where(
                        DaycareNotice.municipality_id == actor.municipality_id,
                        DaycareNotice.child_id.in_(wanted),
                        DaycareNotice.from_date <= end,
                        DaycareNotice.to_date >= start,
                    )
                    .order_by(DaycareNotice.from_date, DaycareNotice.created_at, DaycareNotice.id)
                    .limit(LIST_LIMIT + 1)
                )
            ).all()
        )
        items = await views.reads(session, actor, found[:LIST_LIMIT], custody=custody)
    return NoticeList(items=items, truncated=len(found) > LIST_LIMIT)


async def day_list(
    session: AsyncSession,
    actor: Actor,
    institution_id: uuid.UUID,
    *,
    day: dt.date | None = None,
    group_id: uuid.UUID | None = None,
) -> DayList:
    """The institution's notices covering ``day`` (today there), by group, then child."""
    now = utcnow()
    async with session.begin():
        zone = None
        if actor.staff:
            zone = await placement.institution_zone(session, actor.municipality_id, institution_id)
        if zone is None or not await placement.works_at(
            session,
            actor.municipality_id,
            actor.person_id,
            institution_id,
            placement.local_day(zone, now),
        ):
            raise NotFound("no such institution")
        day = day or placement.local_day(zone, now)
        if group_id is not None and not await placement.group_at(
            session, actor.municipality_id, institution_id, group_id
        ):
            raise NotFound("no such group at this institution")
        found = list(
            (
                await session.scalars(
                    select(DaycareNotice)
                    .where(
                        DaycareNotice.municipality_id == actor.municipality_id,
                        DaycareNotice.institution_id == institution_id,
                        DaycareNotice.from_date <= day,
                        DaycareNotice.to_date >= day,
                    )
                    .order_by(DaycareNotice.created_at, DaycareNotice.id)
                    .limit(DAY_LIMIT + 1)
                )
            ).all()
        )
        truncated = len(found) > DAY_LIMIT
        found = found[:DAY_LIMIT]
        rooms = await placement.rooms_of(
            session, actor.municipality_id, institution_id, {n.child_id for n in found}, day
        )
        reads = await views.reads(session, actor, found)
    items: list[DayNotice] = []
    for read in reads:
        groups = rooms.get(read.child.id, [])
        if group_id is not None:
            groups = [g for g in groups if g[0] == group_id]
            if not groups:
                continue
        group = GroupName(id=groups[0][0], name=groups[0][1]) if groups else None
        items.append(DayNotice(**msgspec.structs.asdict(read), group=group))
    # Children who have left every group that day come last; then by group, child, time.
    items.sort(
        key=lambda i: (
            i.group is None,
            i.group.name.casefold() if i.group else "",
            i.child.name.casefold(),
            i.created_at,
        )
    )
    counts = Counter(i.kind.value for i in items if i.withdrawn_at is None)
    return DayList(
        institution_id=institution_id,
        date=day,
        group_id=group_id,
        items=items,
        counts=dict(counts),
        truncated=truncated,
    )
