"""What a signed-in person may know about themself: ``GET /v1/me``.

Only the caller's own rows are read: their memberships and affiliations, and for a
guardian their children's. A custodial guardian sees a protected child's real name (they
are the ones the protection serves); a guardian without custody sees a protected
child only by the alias, since protection may be aimed at that very parent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.principals import PersonPrincipal
from gateway.errors import Unauthorized
from gateway.people.schemas import ChildRef, GroupRef, InstitutionRef, MeRead, MunicipalityRef
from gateway.roster.models import (
    Affiliation,
    Group,
    Guardianship,
    Institution,
    MemberRole,
    Membership,
    Municipality,
    Person,
    PersonKind,
)


def current(model: type[Membership] | type[Affiliation], today: dt.date) -> ColumnElement[bool]:
    """A filter for links that hold today: active, and within their dates if they have any."""
    return and_(
        model.active.is_(True),
        or_(model.begin_date.is_(None), model.begin_date <= today),
        or_(model.end_date.is_(None), model.end_date >= today),
    )


def full_name(person: Person) -> str:
    return f"{person.given_name} {person.family_name}".strip()


async def describe_self(
    session: AsyncSession, principal: PersonPrincipal, *, today: dt.date | None = None
) -> MeRead:
    """The caller's own profile, places, groups and (for guardians) children."""
    today = today or dt.datetime.now(dt.UTC).date()
    row = (
        await session.execute(
            select(Person, Municipality)
            .join(Municipality, Municipality.id == Person.municipality_id)
            .where(
                Person.municipality_id == principal.municipality_id,
                Person.id == principal.person_id,
                Person.active.is_(True),
            )
        )
    ).one_or_none()
    if row is None:  # deactivated between the guard and here
        raise Unauthorized("the token's subject is not an active person of this gateway")
    person, municipality = row
    groups = await _groups(session, person.municipality_id, [person.id], today)
    institutions = await _institutions(session, person.municipality_id, [person.id], today)
    own = {place.id: place for place in institutions.get(person.id, [])}
    children: list[ChildRef] = []
    if person.kind == PersonKind.GUARDIAN.value:
        children, places = await _children(session, person.municipality_id, person.id, today)
        # A guardian belongs where their children do, affiliated there or not.
        own.update((place.id, place) for place in places)
    return MeRead(
        id=person.id,
        kind=person.kind,
        source_id=person.source_id,
        display_name=full_name(person),
        given_name=person.given_name,
        family_name=person.family_name,
        protected=person.protected,
        alias=person.alias,
        locale=person.locale,
        assurance_level=principal.acr,
        municipality=MunicipalityRef(code=municipality.code, name=municipality.name),
        institutions=sorted(own.values(), key=lambda place: (place.name, place.id)),
        groups=groups.get(person.id, []),
        children=children,
    )


async def _children(
    session: AsyncSession, municipality_id: uuid.UUID, guardian_id: uuid.UUID, today: dt.date
) -> tuple[list[ChildRef], list[InstitutionRef]]:
    """The guardian's children, and the institutions they are at."""
    rows = (
        await session.execute(
            select(Person, Guardianship.custody)
            .join(Guardianship, Guardianship.child_id == Person.id)
            .where(
                Guardianship.municipality_id == municipality_id,
                Guardianship.guardian_id == guardian_id,
                Guardianship.active.is_(True),
                Person.active.is_(True),
            )
        )
    ).all()
    ids = [child.id for child, _ in rows]
    groups = await _groups(session, municipality_id, ids, today, roles=[MemberRole.CHILD])
    places = await _institutions(session, municipality_id, ids, today)
    children = [
        ChildRef(
            id=child.id,
            display_name=child.alias
            if child.protected and not custody and child.alias
            else full_name(child),
            custody=custody,
            institution_ids=sorted(place.id for place in places.get(child.id, [])),
            groups=groups.get(child.id, []),
        )
        for child, custody in rows
    ]
    children.sort(key=lambda child: (child.display_name, child.id))
    return children, [place for per_child in places.values() for place in per_child]


async def _groups(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    person_ids: Collection[uuid.UUID],
    today: dt.date,
    *,
    roles: Iterable[str] = (),
) -> dict[uuid.UUID, list[GroupRef]]:
    if not person_ids:
        return {}
    query = (
        select(
            Membership.person_id,
            Membership.role,
            Group.id,
            Group.name,
            Group.kind,
            Group.institution_id,
        )
        .join(Group, Group.id == Membership.group_id)
        .where(
            Membership.municipality_id == municipality_id,
            Membership.person_id.in_(person_ids),
            current(Membership, today),
            Group.active.is_(True),
        )
    )
    wanted = [str(role) for role in roles]
    if wanted:
        query = query.where(Membership.role.in_(wanted))
    found: dict[uuid.UUID, list[GroupRef]] = defaultdict(list)
    for person_id, role, group_id, name, kind, institution_id in await session.execute(query):
        found[person_id].append(
            GroupRef(id=group_id, name=name, kind=kind, institution_id=institution_id, role=role)
        )
    return {key: sorted(value, key=_group_order) for key, value in found.items()}


def _group_order(group: GroupRef) -> tuple[Any, ...]:
    return (str(group.institution_id), group.name, group.role, group.id)


async def _institutions(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    person_ids: Collection[uuid.UUID],
    today: dt.date,
) -> dict[uuid.UUID, list[InstitutionRef]]:
    if not person_ids:
        return {}
    rows = await session.execute(
        select(Affiliation.person_id, Institution.id, Institution.name, Institution.kind)
        .join(Institution, Institution.id == Affiliation.institution_id)
        .where(
            Affiliation.municipality_id == municipality_id,
            Affiliation.person_id.in_(person_ids),
            current(Affiliation, today),
            Institution.active.is_(True),
        )
    )
    found: dict[uuid.UUID, dict[uuid.UUID, InstitutionRef]] = defaultdict(dict)
    # A person may hold several roles at one place: one entry per place.
    for person_id, place_id, name, kind in rows:
        found[person_id][place_id] = InstitutionRef(id=place_id, name=name, kind=kind)
    return {key: list(value.values()) for key, value in found.items()}
