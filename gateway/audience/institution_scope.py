"""Whether an audience stays inside a set of institutions: staff's reach, a scoped key's.

Group, year and institution targets are checked by the institution they name; people
a target names one by one, and children an audience names, by whether they (or a child
they guard) belong to one of the institutions.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.links import CHILD_ROLES, Links
from gateway.audience.refusals import OUTSIDE, UNREACHABLE
from gateway.audience.schemas import (
    Audience,
    GroupAudience,
    GuardiansOf,
    InstitutionAudience,
    People,
    YearAudience,
)
from gateway.audience.senders import ALL_ROLES
from gateway.dialect import among
from gateway.errors import Forbidden
from gateway.roster.models import Group, Guardianship, Person, PersonKind


async def check_inside(
    session: AsyncSession,
    links: Links,
    institutions: set[uuid.UUID],
    audience: Audience,
    people: Collection[uuid.UUID],
) -> None:
    """Forbidden unless the audience and ``people`` are all within ``institutions``.

    Group, year and institution targets inside the institutions reach only people inside
    them, and guardians of children inside are inside; so only the people a target
    names one by one are checked person by person (a broadcast to a whole school asks
    nothing per recipient).
    """
    groups: set[uuid.UUID] = set()
    named: set[uuid.UUID] = set()
    children = set(audience.regarding)
    listed: set[uuid.UUID] = set()
    for target in audience.targets:
        match target:
            case GroupAudience():
                groups.add(target.group)
            case InstitutionAudience() | YearAudience():
                named.add(target.institution)
            case GuardiansOf():
                children.update(target.children)
            case People():
                listed.update(target.people)
    # The listed ones among the recipients (a broadcast's recipients: a set of 100,000).
    reached = people if isinstance(people, set | frozenset) else set(people)
    people = [person for person in listed if person in reached]
    if groups:
        rows = await session.execute(
            select(Group.id, Group.institution_id).where(
                Group.id.in_(groups), Group.municipality_id == links.municipality_id
            )
        )
        # Not dict(rows): a Result has keys(), so dict() would take it for a mapping.
        found = {group_id: institution_id for group_id, institution_id in rows}
        named.update(found.values())
        if len(found) < len(groups):
            raise Forbidden(OUTSIDE)
    if not named <= institutions:
        raise Forbidden(OUTSIDE)
    if children and await _count_in(session, links, institutions, children) < len(children):
        raise Forbidden(OUTSIDE)
    if people and await _count_in(session, links, institutions, people) < len(set(people)):
        raise Forbidden(UNREACHABLE)


async def _count_in(
    session: AsyncSession,
    links: Links,
    institutions: set[uuid.UUID],
    people: Collection[uuid.UUID],
) -> int:
    """How many of ``people`` belong to the institutions (or guard a child who does)."""
    if not institutions:
        return 0
    inside = links.at_institutions(institutions, ALL_ROLES)
    children = links.people(links.at_institutions(institutions, CHILD_ROLES), PersonKind.CHILD)
    guardians = links.guardianships(children=children, custody_only=False).with_only_columns(
        Guardianship.guardian_id
    )
    # One statement, the ids bound as one parameter: the subqueries are planned once.
    query = select(Person.id).where(
        among(Person.id, sorted(set(people)), session),
        or_(Person.id.in_(inside), Person.id.in_(guardians)),
    )
    return len(set(await session.scalars(query)))
