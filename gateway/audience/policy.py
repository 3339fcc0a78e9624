"""Who may start a thread with whom: the send policy, applied to resolved recipients.

- Staff may start threads with anyone in their institutions: people affiliated with one
  or in one of its groups, and the guardians of its children. Groups, institutions,
  ``guardians_of`` children and ``regarding`` children an audience names must be theirs.
- Guardians and pupils address people only (``people`` targets), and may mark a thread
  as regarding only their own children (or themself); everything else is for staff.
- Guardians may write to staff of their children's institutions, to their own children
  and to their children's other guardians; to other families' guardians only where
  ``guardians_may_write_guardians`` is on, and then only to the custodial guardians of
  their children's group mates; never to other families' pupils.
- Pupils may write to staff of their institutions and to their own guardians; to the
  pupils of their own groups only where ``pupils_may_write_pupils`` is on; never to
  other families' guardians.
- Only staff start threads with a protected person of another family.
- A :class:`~gateway.audience.models.PersonBlock` between the sender and a recipient, in
  either direction, refuses the send.
- More recipients than ``recipient_limit`` (the sender not counted) refuses, unless
  the sender holds one of the ``broadcast_roles`` at one of their institutions.

Settings come from :mod:`gateway.audience.settings`, per institution the sender belongs
to (a guardian through their children); where these differ, each permission applies
within its own institution's groups, and the lowest limit counts.

A refusal never says who could not be reached, or why: a name could expose a protected
person, and "blocked" would expose a block. It is always :data:`UNREACHABLE`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.links import CHILD_ROLES, STAFF_ROLES, AnySelect, AnyUnion, Ids, Links
from gateway.audience.models import PersonBlock
from gateway.audience.schemas import (
    Audience,
    GroupAudience,
    GuardiansOf,
    InstitutionAudience,
    People,
    Recipient,
    YearAudience,
)
from gateway.audience.settings import AudienceRules, rules_from
from gateway.dialect import among
from gateway.errors import Forbidden, LimitExceeded
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

UNREACHABLE = "one or more of the recipients cannot be reached by you"
PEOPLE_ONLY = "guardians and pupils can only address people directly (a 'people' target)"
OWN_CHILDREN_ONLY = "a thread can only be marked as regarding your own children"
OUTSIDE = "the audience names a group, institution or child outside your institutions"
NO_SENDER = "this account cannot start threads"

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
# The day rosters are read on when the caller does not say.
DEFAULT_TIME_ZONE = "Europe/Copenhagen"


@dataclass(frozen=True, slots=True)
class _Sender:
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


async def check_send(
    session: AsyncSession,
    *,
    sender_id: uuid.UUID,
    municipality_id: uuid.UUID,
    audience: Audience,
    recipients: list[Recipient],
    today: dt.date | None = None,
) -> None:
    """Allow ``sender_id`` to start a thread with ``recipients``, or raise.

    ``recipients`` are what :func:`~gateway.audience.resolver.resolve` made of
    ``audience``; pass the same ``today`` (default: the date in Copenhagen now).
    Raises Forbidden (never naming anyone) or LimitExceeded(limit="recipient_limit").
    """
    links = Links(municipality_id, today or _today())
    sender = await _load_sender(session, links, sender_id)
    _check_shape(sender, audience)
    others = _others(recipients, sender_id)
    if len(others) > sender.limit and not sender.may_broadcast:
        raise LimitExceeded(
            f"the audience reaches {len(others)} people; at most {sender.limit} "
            "can be addressed at once",
            limit="recipient_limit",
        )
    await _check_people(session, links, sender, audience, others)


async def check_reach(
    session: AsyncSession,
    *,
    sender_id: uuid.UUID,
    municipality_id: uuid.UUID,
    audience: Audience,
    recipients: list[Recipient],
    today: dt.date | None = None,
) -> None:
    """:func:`check_send` without the recipient limit: may the sender address these at all."""
    links = Links(municipality_id, today or _today())
    sender = await _load_sender(session, links, sender_id)
    _check_shape(sender, audience)
    await _check_people(session, links, sender, audience, _others(recipients, sender_id))


async def check_scope(
    session: AsyncSession,
    *,
    municipality_id: uuid.UUID,
    institution_ids: Collection[uuid.UUID],
    audience: Audience,
    recipients: list[Recipient],
    today: dt.date | None = None,
) -> None:
    """Forbidden unless the audience stays inside these institutions (a scoped system key)."""
    links = Links(municipality_id, today or _today())
    ids = [recipient.person_id for recipient in recipients]
    await _check_inside(session, links, set(institution_ids), audience, ids)


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(DEFAULT_TIME_ZONE)).date()


def _others(recipients: Sequence[Recipient], sender_id: uuid.UUID) -> list[uuid.UUID]:
    # A sender is often in their own audience (a teacher of the class); that is no reach.
    return list(dict.fromkeys(r.person_id for r in recipients if r.person_id != sender_id))


async def _load_sender(session: AsyncSession, links: Links, sender_id: uuid.UUID) -> _Sender:
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
    return _Sender(
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
        through = _own_children(links, sender_id)
    institutions = links.institutions_of(through, CHILD_ROLES).subquery("institutions")
    return select(institutions.c.institution_id, cast(null(), String).label("role")).select_from(
        institutions
    )


def _own_children(links: Links, guardian_id: uuid.UUID) -> AnySelect:
    # Custody or not: a parent without custody still has the right to talk to the school.
    return links.guardianships(guardians=[guardian_id], custody_only=False).with_only_columns(
        Guardianship.child_id
    )


def _check_shape(sender: _Sender, audience: Audience) -> None:
    if sender.kind == PersonKind.STAFF:
        return
    if not all(isinstance(target, People) for target in audience.targets):
        raise Forbidden(PEOPLE_ONLY)


async def _check_people(
    session: AsyncSession,
    links: Links,
    sender: _Sender,
    audience: Audience,
    others: list[uuid.UUID],
) -> None:
    """Every recipient within the sender's reach, and no block between them."""
    if sender.kind == PersonKind.STAFF:
        await _check_inside(session, links, set(sender.rules), audience, others)
    else:
        await _check_family_reach(session, links, sender, audience, others)
    blocks = await session.execute(
        select(PersonBlock.person_id, PersonBlock.blocked_id).where(
            PersonBlock.municipality_id == links.municipality_id,
            or_(PersonBlock.person_id == sender.id, PersonBlock.blocked_id == sender.id),
        )
    )
    counterparts = {person for pair in blocks for person in pair} - {sender.id}
    if counterparts.intersection(others):
        raise Forbidden(UNREACHABLE)


async def _check_inside(
    session: AsyncSession,
    links: Links,
    institutions: set[uuid.UUID],
    audience: Audience,
    people: list[uuid.UUID],
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
    people = [person for person in people if person in listed]
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


async def _check_family_reach(
    session: AsyncSession,
    links: Links,
    sender: _Sender,
    audience: Audience,
    others: list[uuid.UUID],
) -> None:
    """Guardians and pupils: staff, their own family, and group mates where allowed."""
    if sender.kind == PersonKind.GUARDIAN:
        family = _own_children(links, sender.id)
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
