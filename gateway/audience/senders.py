"""Who is sending: the sender's kind, and the rules and roles of their institutions.

A staff member belongs to the institutions they are affiliated with or in a group of, a
pupil to their own, a guardian to their children's (custody or not). Settings come from
:mod:`gateway.audience.settings`, per such institution.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import String, cast, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.links import CHILD_ROLES, AnySelect, AnyUnion, Ids, Links
from gateway.audience.refusals import NO_SENDER
from gateway.audience.settings import AudienceRules, rules_from
from gateway.errors import Forbidden
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

# The staff role an affiliation's OneRoster role amounts to, as the importer maps
# enrollments; ``broadcast_roles`` may name either.
AFFILIATION_STAFF_ROLES = {
    "teacher": MemberRole.TEACHER.value,
    "proctor": MemberRole.TEACHER.value,
    "counselor": MemberRole.TEACHER.value,
    "aide": MemberRole.PEDAGOGUE.value,
    "administrator": MemberRole.LEADER.value,
    "principal": MemberRole.LEADER.value,
    "siteAdministrator": MemberRole.LEADER.value,
    "districtAdministrator": MemberRole.LEADER.value,
    "systemAdministrator": MemberRole.ADMIN.value,
}
ALL_ROLES = tuple(MemberRole)


@dataclass(frozen=True, slots=True)
class Sender:
    id: uuid.UUID
    kind: str
    municipality: AudienceRules
    # Per institution the sender belongs to (a guardian: their children's institutions).
    rules: dict[uuid.UUID, AudienceRules]
    # Staff only: the roles they hold at each institution.
    roles: dict[uuid.UUID, frozenset[str]]

    @property
    def limit(self) -> int:
        if not self.rules:
            return self.municipality.recipient_limit
        return min(rules.recipient_limit for rules in self.rules.values())

    @property
    def may_broadcast(self) -> bool:
        return self.kind == PersonKind.STAFF and any(
            self.roles.get(institution, frozenset()) & rules.broadcast_roles
            for institution, rules in self.rules.items()
        )

    def allowing(self, permission: str) -> set[uuid.UUID]:
        """The sender's institutions whose rules turn ``permission`` on."""
        return {i for i, rules in self.rules.items() if getattr(rules, permission)}


async def load_sender(session: AsyncSession, links: Links, sender_id: uuid.UUID) -> Sender:
    """The sender's kind, and the rules and roles of each institution they belong to."""
    found = (
        await session.execute(
            select(Person.kind, Municipality.settings)
            .join(Municipality, Municipality.id == Person.municipality_id)
            .where(
                Person.id == sender_id,
                Person.municipality_id == links.municipality_id,
                Person.active.is_(True),
            )
        )
    ).one_or_none()
    if found is None:
        raise Forbidden(NO_SENDER)
    kind, municipality_settings = found
    held = _held(links, sender_id, kind).subquery("held")
    rows = await session.execute(
        select(Institution.id, Institution.settings, held.c.role).join(
            held, held.c.institution_id == Institution.id
        )
    )
    rules: dict[uuid.UUID, AudienceRules] = {}
    roles: defaultdict[uuid.UUID, set[str]] = defaultdict(set)
    for institution_id, settings, role in rows:
        if institution_id not in rules:
            rules[institution_id] = rules_from(municipality_settings, settings)
        if role is not None:
            roles[institution_id].update({role, AFFILIATION_STAFF_ROLES.get(role, role)})
    return Sender(
        id=sender_id,
        kind=kind,
        municipality=rules_from(municipality_settings),
        rules=rules,
        roles={institution: frozenset(held) for institution, held in roles.items()},
    )


def _held(links: Links, sender_id: uuid.UUID, kind: str) -> AnySelect | AnyUnion:
    """``(institution_id, role)`` the sender belongs to; the role is staff's only."""
    if kind == PersonKind.STAFF:
        by_affiliation = links.affiliations(people=[sender_id]).with_only_columns(
            Affiliation.institution_id.label("institution_id"), Affiliation.role.label("role")
        )
        by_membership = links.members(ALL_ROLES, people=[sender_id]).with_only_columns(
            Group.institution_id.label("institution_id"), Membership.role.label("role")
        )
        return union_all(by_affiliation, by_membership)
    through: Ids = [sender_id]
    if kind == PersonKind.GUARDIAN:
        through = own_children(links, sender_id)
    institutions = links.institutions_of(through, CHILD_ROLES).subquery("institutions")
    return select(institutions.c.institution_id, cast(null(), String).label("role")).select_from(
        institutions
    )


def own_children(links: Links, guardian_id: uuid.UUID) -> AnySelect:
    # Custody or not: a parent without custody still has the right to talk to the school.
    return links.guardianships(guardians=[guardian_id], custody_only=False).with_only_columns(
        Guardianship.child_id
    )
