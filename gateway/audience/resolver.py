"""Turn an audience into recipients: one set-based query, never a loop over people.

Targets of one type are merged before any SQL is built (twenty group targets make one
SELECT, not twenty); each kind of reach (people named, children, guardians, staff)
becomes one SELECT; their UNION ALL is checked against ``people`` once, in a CTE that
the guardians' ``regarding`` links join. :func:`resolve` therefore makes exactly one
round trip, whatever the audience; Python only groups the rows it returns.

Rules (docs/audiences.md has them with examples):

- only active people, and only current memberships and affiliations (begin and end
  date around ``today``) in active groups of active institutions;
- guardians are reached through active guardianships of active children, and only
  with custody unless the audience says ``include_non_custodial``;
- every id is looked up within the municipality: another municipality's ids match
  nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    CTE,
    String,
    Subquery,
    Uuid,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.links import CHILD_ROLES, STAFF_ROLES, AnySelect, AnyUnion, Links, one_of
from gateway.audience.schemas import (
    Audience,
    AudienceCounts,
    GroupAudience,
    GuardiansOf,
    InstitutionAudience,
    People,
    Recipient,
    Roles,
    YearAudience,
)
from gateway.roster.models import Guardianship, Membership, Person, PersonKind


def _role_sets() -> defaultdict[Roles, set[Any]]:
    return defaultdict(set)


@dataclass
class _Plan:
    """The audience's targets merged by type and by role."""

    people: set[uuid.UUID] = field(default_factory=set)
    guardians_of: set[uuid.UUID] = field(default_factory=set)
    groups: defaultdict[Roles, set[uuid.UUID]] = field(default_factory=_role_sets)
    institutions: defaultdict[Roles, set[uuid.UUID]] = field(default_factory=_role_sets)
    years: defaultdict[Roles, set[tuple[uuid.UUID, str]]] = field(default_factory=_role_sets)

    @classmethod
    def of(cls, audience: Audience) -> _Plan:
        plan = cls()
        for target in audience.targets:
            match target:
                case People():
                    plan.people.update(target.people)
                case GuardiansOf():
                    plan.guardians_of.update(target.children)
                case GroupAudience():
                    for role in target.roles:
                        plan.groups[role].add(target.group)
                case InstitutionAudience():
                    for role in target.roles:
                        plan.institutions[role].add(target.institution)
                case YearAudience():
                    for role in target.roles:
                        plan.years[role].add((target.institution, target.grade))
        return plan


# Typed NULLs: a UNION's column types come from its first SELECT, and PostgreSQL wants
# every branch to agree.
_NO_ID = cast(null(), Uuid)
_ANY_KIND = cast(null(), String)


class AudienceStatement:
    """The SQL of one audience in one municipality on one day (built, never run here)."""

    def __init__(self, *, municipality_id: uuid.UUID, audience: Audience, today: dt.date) -> None:
        self.links = Links(municipality_id, today)
        self.audience = audience
        self._plan = _Plan.of(audience)

    def children(self, role: Roles) -> AnySelect | None:
        """Ids of the active children whose ``role`` the audience asks for.

        ``Roles.CHILDREN``: the children themselves are recipients. ``Roles.GUARDIANS``:
        their guardians are (``guardians_of`` targets included).
        """
        links, plan = self.links, self._plan
        parts: list[AnySelect] = []
        if plan.groups[role]:
            members = links.members(CHILD_ROLES, groups=plan.groups[role])
            parts.append(members.with_only_columns(Membership.person_id))
        if plan.institutions[role]:
            parts.extend(links.at_institutions_parts(plan.institutions[role], CHILD_ROLES))
        for institution, grade in sorted(plan.years[role]):
            parts.append(links.year_children(institution, grade))
        if role is Roles.GUARDIANS and plan.guardians_of:
            parts.append(links.people(plan.guardians_of, PersonKind.CHILD))
        return links.people(one_of(parts), PersonKind.CHILD) if parts else None

    def staff(self) -> AnySelect | None:
        """Ids of the active staff the audience reaches."""
        links, plan = self.links, self._plan
        parts: list[AnySelect] = []
        if plan.groups[Roles.STAFF]:
            members = links.members(STAFF_ROLES, groups=plan.groups[Roles.STAFF])
            parts.append(members.with_only_columns(Membership.person_id))
        if plan.institutions[Roles.STAFF]:
            parts.extend(links.at_institutions_parts(plan.institutions[Roles.STAFF], STAFF_ROLES))
        for institution, grade in sorted(plan.years[Roles.STAFF]):
            # Staff of the institution's groups that hold a child of the year.
            year_groups = links.members(
                CHILD_ROLES,
                institutions=[institution],
                people=links.year_children(institution, grade),
            ).with_only_columns(Membership.group_id)
            staff = links.members(STAFF_ROLES, groups=year_groups)
            parts.append(staff.with_only_columns(Membership.person_id))
        return links.people(one_of(parts), PersonKind.STAFF) if parts else None

    def _raw(self) -> Subquery:
        """``(person_id, via, reached_as)`` for every way the audience reaches someone."""
        rows: list[AnySelect] = []
        if self._plan.people:
            rows.append(
                select(
                    Person.id.label("person_id"),
                    _NO_ID.label("via"),
                    _ANY_KIND.label("reached_as"),
                ).where(Person.id.in_(self._plan.people))
            )
        children = self.children(Roles.CHILDREN)
        if children is not None:
            rows.append(
                children.with_only_columns(
                    Person.id.label("person_id"),
                    Person.id.label("via"),
                    _as(PersonKind.CHILD),
                )
            )
        wards = self.children(Roles.GUARDIANS)
        if wards is not None:
            custody_only = not self.audience.include_non_custodial
            links = self.links.guardianships(children=wards, custody_only=custody_only)
            rows.append(
                links.with_only_columns(
                    Guardianship.guardian_id.label("person_id"),
                    Guardianship.child_id.label("via"),
                    _as(PersonKind.GUARDIAN),
                )
            )
        staff = self.staff()
        if staff is not None:
            rows.append(
                staff.with_only_columns(
                    Person.id.label("person_id"), _NO_ID.label("via"), _as(PersonKind.STAFF)
                )
            )
        if len(rows) == 1:
            return rows[0].subquery("raw")
        return union_all(*rows).subquery("raw")

    def reached(self) -> CTE:
        """``(person_id, kind, via)``: the people reached, each checked once against ``people``.

        ``via`` is the child through whom a guardian was reached (or the child itself);
        a person appears once per way they were reached.
        """
        raw = self._raw()
        return (
            select(raw.c.person_id, Person.kind, raw.c.via)
            .join(Person, Person.id == raw.c.person_id)
            .where(
                Person.municipality_id == self.links.municipality_id,
                Person.active.is_(True),
                # A guardianship's guardian must be a guardian, a member's child a child.
                or_(raw.c.reached_as.is_(None), raw.c.reached_as == Person.kind),
            )
            .cte("reached")
        )

    def rows(self) -> AnySelect | AnyUnion:
        """``(person_id, kind, via)``: :meth:`reached` plus the guardians' ``regarding`` links."""
        reached = self.reached()
        rows = select(reached.c.person_id, reached.c.kind, reached.c.via)
        if not self.audience.regarding:
            return rows.distinct()
        # ``regarding`` children that are a reached guardian's own, custody or not: the
        # guardian is a recipient already, and this only says what the message is about.
        theirs = self.links.guardianships(
            children=set(self.audience.regarding), custody_only=False
        ).subquery("theirs")
        regarding = (
            select(reached.c.person_id, reached.c.kind, theirs.c.child_id)
            .join(theirs, theirs.c.guardian_id == reached.c.person_id)
            .where(reached.c.kind == PersonKind.GUARDIAN.value)
        )
        return rows.union(regarding)

    def children_in_audience(self) -> AnySelect | AnyUnion:
        """Ids of the children the audience is about: child recipients and wards of guardians.

        A child whose guardians are asked for is in the list even when no guardian is
        found: that is the child a preview must point out.
        """
        reached = self.reached()
        parts = [
            select(reached.c.person_id).where(reached.c.kind == PersonKind.CHILD.value),
        ]
        wards = self.children(Roles.GUARDIANS)
        if wards is not None:
            parts.append(wards)
        return one_of(parts)


def _as(kind: PersonKind) -> Any:
    return literal(kind.value, String).label("reached_as")


async def resolve(
    session: AsyncSession, *, municipality_id: uuid.UUID, audience: Audience, today: dt.date
) -> list[Recipient]:
    """The recipients of ``audience``, each person once, ordered by id; one query."""
    statement = AudienceStatement(municipality_id=municipality_id, audience=audience, today=today)
    kinds: dict[uuid.UUID, str] = {}
    vias: defaultdict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for person_id, kind, via in await session.execute(statement.rows()):
        kinds[person_id] = kind
        if via is not None:
            vias[person_id].add(via)
    return [
        Recipient(person_id=person_id, kind=kind, regarding=_regarding(person_id, kind, vias))
        for person_id, kind in sorted(kinds.items())
    ]


def _regarding(
    person_id: uuid.UUID, kind: str, vias: defaultdict[uuid.UUID, set[uuid.UUID]]
) -> tuple[uuid.UUID, ...]:
    if kind == PersonKind.CHILD:
        return (person_id,)
    if kind == PersonKind.GUARDIAN:
        return tuple(sorted(vias[person_id]))
    return ()


async def resolve_count(
    session: AsyncSession, *, municipality_id: uuid.UUID, audience: Audience, today: dt.date
) -> AudienceCounts:
    """How many people of each kind :func:`resolve` would return; one query, no ids."""
    reached = AudienceStatement(
        municipality_id=municipality_id, audience=audience, today=today
    ).reached()
    query = select(reached.c.kind, func.count(reached.c.person_id.distinct())).group_by(
        reached.c.kind
    )
    by_kind = {kind: int(number) for kind, number in await session.execute(query)}
    return AudienceCounts.of(by_kind)
