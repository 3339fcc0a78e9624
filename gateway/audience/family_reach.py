"""Whom guardians and pupils may write to: staff, their own family, and group mates.

Guardians reach staff of their children's institutions, their own children and their
children's other guardians; other families' custodial guardians of their children's
group mates only where ``guardians_may_write_guardians`` is on. Pupils reach staff of
their institutions and their own guardians; the pupils of their own groups only where
``pupils_may_write_pupils`` is on. Protected people of other families are never reached.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.links import CHILD_ROLES, STAFF_ROLES, AnySelect, Ids, Links
from gateway.audience.refusals import OWN_CHILDREN_ONLY, UNREACHABLE
from gateway.audience.schemas import Audience
from gateway.audience.senders import Sender, own_children
from gateway.dialect import among
from gateway.errors import Forbidden
from gateway.roster.models import Guardianship, Membership, Person, PersonKind


async def check_family_reach(
    session: AsyncSession,
    links: Links,
    sender: Sender,
    audience: Audience,
    others: Collection[uuid.UUID],
) -> None:
    """Guardians and pupils: staff, their own family, and group mates where allowed."""
    if sender.kind == PersonKind.GUARDIAN:
        family = own_children(links, sender.id)
        may_write = [
            links.people(family, PersonKind.CHILD),
            links.guardianships(children=family, custody_only=False).with_only_columns(
                Guardianship.guardian_id
            ),
        ]
        mates_kind = PersonKind.GUARDIAN
        mates_allowed = sender.allowing("guardians_may_write_guardians")
    else:
        family = select(Person.id).where(Person.id == sender.id)
        may_write = [
            links.guardianships(children=[sender.id], custody_only=False).with_only_columns(
                Guardianship.guardian_id
            )
        ]
        mates_kind = PersonKind.CHILD
        mates_allowed = sender.allowing("pupils_may_write_pupils")
    regarding = set(audience.regarding) - {sender.id}
    if regarding:
        own = set(await session.scalars(select(Person.id).where(Person.id.in_(family))))
        if not regarding <= own:
            raise Forbidden(OWN_CHILDREN_ONLY)
    institutions = links.institutions_of(family, CHILD_ROLES)
    may_write.append(
        links.people(links.at_institutions(institutions, STAFF_ROLES), PersonKind.STAFF)
    )
    if mates_allowed:
        may_write.append(_group_mates(links, family, mates_kind, mates_allowed))
    query = select(Person.id).where(
        among(Person.id, others, session), or_(*(Person.id.in_(allowed) for allowed in may_write))
    )
    reachable = set(await session.scalars(query))
    if len(reachable) < len(set(others)):
        raise Forbidden(UNREACHABLE)


def _group_mates(
    links: Links, children: Ids, kind: PersonKind, institutions: set[uuid.UUID]
) -> AnySelect:
    """Unprotected pupils sharing a group with ``children`` in ``institutions``, or
    (``kind`` guardian) those pupils' custodial guardians."""
    groups = links.members(CHILD_ROLES, people=children, institutions=institutions)
    mates = links.members(CHILD_ROLES, groups=groups.with_only_columns(Membership.group_id))
    pupils = links.people(mates.with_only_columns(Membership.person_id), PersonKind.CHILD)
    if kind == PersonKind.CHILD:
        return links.people(pupils, PersonKind.CHILD, protected=False)
    guardians = links.guardianships(children=pupils, custody_only=True).with_only_columns(
        Guardianship.guardian_id
    )
    return links.people(guardians, PersonKind.GUARDIAN, protected=False)
