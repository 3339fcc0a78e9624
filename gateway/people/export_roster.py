"""The person's export, roster side: their row, links, addresses and blocks.

Collectors for :func:`gateway.people.export.export_person`, each one area's records as
JSON-ready dicts.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.models import PersonBlock
from gateway.messaging import access
from gateway.messaging.actors import Actor
from gateway.roster.models import (
    Affiliation,
    ContactPoint,
    Group,
    Guardianship,
    Institution,
    Membership,
    Person,
)

Json = dict[str, Any]


def _person(person: Person) -> Json:
    return {
        "id": person.id,
        "source_id": person.source_id,
        "kind": person.kind,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "protected": person.protected,
        "alias": person.alias,
        "locale": person.locale,
        "birth_date": person.birth_date,
        "grades": person.grades,
        "uni_login": person.uni_login,
        "username": person.username,
        "active": person.active,
        "deactivated_at": person.deactivated_at,
        "created_at": person.created_at,
        "updated_at": person.updated_at,
    }


async def _affiliations(session: AsyncSession, person: Person) -> list[Json]:
    rows = await session.execute(
        select(Affiliation, Institution.name, Institution.kind)
        .join(Institution, Institution.id == Affiliation.institution_id)
        .where(
            Affiliation.municipality_id == person.municipality_id,
            Affiliation.person_id == person.id,
        )
        .order_by(Institution.name, Affiliation.role)
    )
    return [
        {
            "institution": {"id": a.institution_id, "name": name, "kind": kind},
            "role": a.role,
            "primary": a.is_primary,
            "begin_date": a.begin_date,
            "end_date": a.end_date,
            "active": a.active,
        }
        for a, name, kind in rows
    ]


async def _memberships(session: AsyncSession, person: Person) -> list[Json]:
    rows = await session.execute(
        select(Membership, Group.name, Group.kind, Group.institution_id)
        .join(Group, Group.id == Membership.group_id)
        .where(
            Membership.municipality_id == person.municipality_id,
            Membership.person_id == person.id,
        )
        .order_by(Group.name, Membership.role)
    )
    return [
        {
            "group": {"id": m.group_id, "name": name, "kind": kind, "institution_id": place},
            "role": m.role,
            "primary": m.is_primary,
            "begin_date": m.begin_date,
            "end_date": m.end_date,
            "active": m.active,
        }
        for m, name, kind, place in rows
    ]


async def _guardianships(session: AsyncSession, person: Person) -> Json:
    """The person's children (as guardian) and guardians (as child), named as ``/v1/me``
    would: a protected one by alias unless the person is its custodial guardian."""
    rows = await session.execute(
        select(Guardianship, Person)
        .join(
            Person,
            or_(
                (Guardianship.guardian_id == person.id) & (Person.id == Guardianship.child_id),
                (Guardianship.child_id == person.id) & (Person.id == Guardianship.guardian_id),
            ),
        )
        .where(
            Guardianship.municipality_id == person.municipality_id,
            or_(Guardianship.guardian_id == person.id, Guardianship.child_id == person.id),
        )
    )
    children: list[Json] = []
    guardians: list[Json] = []
    for link, other in rows:
        as_guardian = link.guardian_id == person.id
        entitled = as_guardian and link.custody
        entry = {
            "person": {"id": other.id, "name": _shown(other, entitled=entitled)},
            "custody": link.custody,
            "relation": link.relation,
            "active": link.active,
        }
        (children if as_guardian else guardians).append(entry)
    for listed in (children, guardians):
        listed.sort(key=lambda e: (e["person"]["name"], str(e["person"]["id"])))
    return {"children": children, "guardians": guardians}


def _shown(person: Person, *, entitled: bool) -> str:
    if person.protected and not entitled:
        return person.alias or "Beskyttet person"
    return f"{person.given_name} {person.family_name}".strip()


async def _contact_points(session: AsyncSession, person: Person) -> list[Json]:
    rows = await session.scalars(
        select(ContactPoint)
        .where(
            ContactPoint.municipality_id == person.municipality_id,
            ContactPoint.person_id == person.id,
        )
        .order_by(ContactPoint.kind, ContactPoint.address)
    )
    return [
        {
            "kind": c.kind,
            "address": c.address,
            "origin": c.origin,
            "verified": c.verified,
            "verified_at": c.verified_at,
            "active": c.active,
            # A hard bounce disables the address: the bounce state the person may ask about.
            "disabled_at": c.disabled_at,
            "disabled_reason": c.disabled_reason,
        }
        for c in rows
    ]


async def _blocks(session: AsyncSession, actor: Actor) -> list[Json]:
    """Blocks that keep others from reaching the person (not those held against them)."""
    rows = list(
        (
            await session.scalars(
                select(PersonBlock).where(
                    PersonBlock.municipality_id == actor.municipality_id,
                    PersonBlock.person_id == actor.person_id,
                )
            )
        ).all()
    )
    refs = await access.people(
        session, actor.municipality_id, {b.blocked_id for b in rows}, viewer=actor
    )
    return [
        {"blocked": msgspec.to_builtins(refs[b.blocked_id]), "reason": b.reason}
        for b in rows
        if b.blocked_id in refs
    ]
