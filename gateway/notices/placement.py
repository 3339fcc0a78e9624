"""Who is who for a notice: the child's guardians, daycare, rooms and the staff there.

Everything is read through the audience links (:mod:`gateway.audience.links`), so
"current" means here what it means for every message: active, within its dates, in a
live group of a live institution.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.links import CHILD_ROLES, STAFF_ROLES, Links
from gateway.errors import InvalidInput
from gateway.roster.models import (
    Affiliation,
    Group,
    Guardianship,
    Institution,
    InstitutionKind,
    Membership,
    Person,
    PersonKind,
)

FALLBACK_ZONE = "Europe/Copenhagen"
# OneRoster roles of an institution's management: they get a room's notices when the
# room has no staff today, so that a notice never lands in nobody's inbox.
MANAGEMENT_ROLES = ("principal", "administrator", "siteAdministrator")


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a daycare child is today: the institution and the child's groups there."""

    institution_id: uuid.UUID
    time_zone: str
    group_ids: tuple[uuid.UUID, ...]

    def today(self, now: dt.datetime) -> dt.date:
        return local_day(self.time_zone, now)


def local_day(zone: str, now: dt.datetime) -> dt.date:
    """The date at ``now`` in an institution's time zone."""
    try:
        return now.astimezone(ZoneInfo(zone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(ZoneInfo(FALLBACK_ZONE)).date()


def local_midnight(zone: str, day: dt.date) -> dt.datetime:
    """The start of ``day`` in ``zone``, as an aware time."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(FALLBACK_ZONE)
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz)


async def active_child(
    session: AsyncSession, municipality_id: uuid.UUID, child_id: uuid.UUID
) -> Person | None:
    """The child, if it is an active child of this municipality."""
    return await session.scalar(
        select(Person).where(
            Person.municipality_id == municipality_id,
            Person.id == child_id,
            Person.kind == PersonKind.CHILD.value,
            Person.active.is_(True),
        )
    )


async def guardians(
    session: AsyncSession, municipality_id: uuid.UUID, child_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[uuid.UUID, bool]]:
    """Per child: its active guardians and whether each has custody."""
    if not child_ids:
        return {}
    rows = await session.execute(
        select(Guardianship.child_id, Guardianship.guardian_id, Guardianship.custody)
        .join(Person, Person.id == Guardianship.guardian_id)
        .where(
            Guardianship.municipality_id == municipality_id,
            Guardianship.child_id.in_(set(child_ids)),
            Guardianship.active.is_(True),
            Person.active.is_(True),
        )
    )
    found: dict[uuid.UUID, dict[uuid.UUID, bool]] = defaultdict(dict)
    for child_id, guardian_id, custody in rows:
        found[child_id][guardian_id] = bool(custody)
    return dict(found)


async def children_of(
    session: AsyncSession, municipality_id: uuid.UUID, guardian_id: uuid.UUID
) -> dict[uuid.UUID, bool]:
    """A guardian's active children and whether the guardian has custody of each."""
    rows = await session.execute(
        select(Guardianship.child_id, Guardianship.custody)
        .join(Person, Person.id == Guardianship.child_id)
        .where(
            Guardianship.municipality_id == municipality_id,
            Guardianship.guardian_id == guardian_id,
            Guardianship.active.is_(True),
            Person.active.is_(True),
            Person.kind == PersonKind.CHILD.value,
        )
    )
    return {child_id: bool(custody) for child_id, custody in rows}


async def daycare_of(
    session: AsyncSession, municipality_id: uuid.UUID, child_id: uuid.UUID, today: dt.date
) -> Placement:
    """The child's daycare today; InvalidInput when the child is in none (e.g. at school).

    A child in the groups of two daycares (a move between them) belongs to the one of
    its primary membership, else to the one it joined first.
    """
    links = Links(municipality_id, today)
    query = (
        links.members(CHILD_ROLES, people=[child_id])
        .add_columns(Institution.kind, Institution.time_zone, Membership.is_primary)
        .order_by(Membership.is_primary.desc(), Membership.created_at, Membership.group_id)
    )
    rows = (await session.execute(query)).all()
    daycare = [r for r in rows if r[3] == InstitutionKind.DAYCARE.value]
    if not daycare:
        if rows:
            raise InvalidInput(
                "daycare notices are for children in daycare; this child is at school: "
                "write to the school in a message instead",
                ["child_id: not in a group of a daycare institution"],
            )
        raise InvalidInput(
            "the child is in no daycare group today",
            ["child_id: not in a group of a daycare institution"],
        )
    institution_id, zone = daycare[0][2], daycare[0][4]
    groups = tuple(dict.fromkeys(r[1] for r in daycare if r[2] == institution_id))
    return Placement(institution_id=institution_id, time_zone=zone, group_ids=groups)


async def room_staff(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    placement: Placement,
    today: dt.date,
) -> list[uuid.UUID]:
    """Staff of the child's groups today; the institution's management if there are none."""
    links = Links(municipality_id, today)
    members = links.members(STAFF_ROLES, groups=list(placement.group_ids)).with_only_columns(
        Membership.person_id
    )
    found = list((await session.scalars(links.people(members, PersonKind.STAFF))).all())
    if found:
        return sorted(set(found))
    managers = (
        links.affiliations(institutions=[placement.institution_id])
        .where(Affiliation.role.in_(MANAGEMENT_ROLES))
        .with_only_columns(Affiliation.person_id)
    )
    return sorted(set((await session.scalars(links.people(managers, PersonKind.STAFF))).all()))


async def works_at(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    person_id: uuid.UUID,
    institution_id: uuid.UUID,
    today: dt.date,
) -> bool:
    """Whether the person is staff at the institution today (affiliated, or in its groups)."""
    links = Links(municipality_id, today)
    person = [person_id]
    for part in (
        links.affiliations(institutions=[institution_id], people=person).with_only_columns(
            Affiliation.person_id
        ),
        links.members(STAFF_ROLES, institutions=[institution_id], people=person).with_only_columns(
            Membership.person_id
        ),
    ):
        if await session.scalar(links.people(part, PersonKind.STAFF).limit(1)) is not None:
            return True
    return False


async def institution_zone(
    session: AsyncSession, municipality_id: uuid.UUID, institution_id: uuid.UUID
) -> str | None:
    """An active institution's time zone, or None when there is no such institution."""
    return await session.scalar(
        select(Institution.time_zone).where(
            Institution.municipality_id == municipality_id,
            Institution.id == institution_id,
            Institution.active.is_(True),
        )
    )


async def group_at(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    institution_id: uuid.UUID,
    group_id: uuid.UUID,
) -> bool:
    """Whether the group is an active group of the institution."""
    found = await session.scalar(
        select(Group.id).where(
            Group.municipality_id == municipality_id,
            Group.institution_id == institution_id,
            Group.id == group_id,
            Group.active.is_(True),
        )
    )
    return found is not None


async def rooms_of(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    institution_id: uuid.UUID,
    child_ids: Collection[uuid.UUID],
    day: dt.date,
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    """Per child: its groups at the institution on ``day``, primary first, then by name."""
    if not child_ids:
        return {}
    query = (
        Links(municipality_id, day)
        .members(CHILD_ROLES, institutions=[institution_id], people=set(child_ids))
        .add_columns(Group.name, Membership.is_primary)
        .order_by(Membership.is_primary.desc(), Group.name, Group.id)
    )
    found: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    for person_id, group_id, _, name, _ in await session.execute(query):
        if all(g != group_id for g, _ in found[person_id]):
            found[person_id].append((group_id, name))
    return dict(found)
