"""SQL building blocks: who is linked to whom in one municipality on one day.

Every method returns a Core SELECT of ids and never runs it, so the resolver, the send
policy and the preview compose them into single statements. Each block checks the
municipality itself: an id from another municipality matches nothing, whatever it is
joined with. "Current" means active, with a begin and end date (inclusive) around the
day; a group counts only while it and its institution are active.

No block correlates with an enclosing query (``correlate(None)``): each is a set of ids
on its own, and an accidental correlation would silently change whom it holds.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from gateway.roster.models import (
    Affiliation,
    Group,
    Guardianship,
    Institution,
    MemberRole,
    Membership,
    Person,
    PersonKind,
)

STAFF_ROLES: tuple[MemberRole, ...] = (
    MemberRole.TEACHER,
    MemberRole.PEDAGOGUE,
    MemberRole.LEADER,
    MemberRole.ADMIN,
)
CHILD_ROLES: tuple[MemberRole, ...] = (MemberRole.CHILD,)

# SELECTs of any columns (SQLAlchemy 2.1 types a SELECT by each of its columns).
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
AnyUnion: TypeAlias = CompoundSelect[*tuple[Any, ...]]
# A literal set of ids, or a subquery that yields one column of ids.
Ids: TypeAlias = Collection[uuid.UUID] | AnySelect | AnyUnion


def one_of(selects: list[AnySelect]) -> AnySelect | AnyUnion:
    """The UNION of ``selects`` (at least one); a single SELECT stays as it is."""
    if len(selects) == 1:
        return selects[0]
    first, *rest = selects
    return first.union(*rest)


def grade_pattern(grade: str) -> str:
    """A LIKE pattern that finds ``grade`` as one whole item of a ``,item,item,`` list."""
    escaped = grade.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%,{escaped.strip().upper()},%"


@dataclass(frozen=True, slots=True)
class Links:
    """The building blocks for one municipality on one day."""

    municipality_id: uuid.UUID
    today: dt.date

    def current(self, model: type[Membership] | type[Affiliation]) -> ColumnElement[bool]:
        """A membership or affiliation that counts today."""
        return and_(
            model.municipality_id == self.municipality_id,
            model.active.is_(True),
            or_(model.begin_date.is_(None), model.begin_date <= self.today),
            or_(model.end_date.is_(None), model.end_date >= self.today),
        )

    def _live_groups(self) -> ColumnElement[bool]:
        return and_(
            Group.municipality_id == self.municipality_id,
            Group.active.is_(True),
            Institution.municipality_id == self.municipality_id,
            Institution.active.is_(True),
        )

    def members(
        self,
        roles: Collection[MemberRole],
        *,
        groups: Ids | None = None,
        institutions: Ids | None = None,
        people: Ids | None = None,
    ) -> AnySelect:
        """``(person_id, group_id, institution_id)`` of current members in ``roles``."""
        query = (
            select(Membership.person_id, Membership.group_id, Group.institution_id)
            .select_from(Membership)
            .join(Group, Group.id == Membership.group_id)
            .join(Institution, Institution.id == Group.institution_id)
            .where(self.current(Membership), self._live_groups())
            .where(Membership.role.in_([role.value for role in roles]))
            .correlate(None)
        )
        if groups is not None:
            query = query.where(Membership.group_id.in_(groups))
        if institutions is not None:
            query = query.where(Group.institution_id.in_(institutions))
        if people is not None:
            query = query.where(Membership.person_id.in_(people))
        return query

    def affiliations(
        self, *, institutions: Ids | None = None, people: Ids | None = None
    ) -> AnySelect:
        """``(person_id, institution_id, role)`` of current affiliations at live institutions."""
        query = (
            select(Affiliation.person_id, Affiliation.institution_id, Affiliation.role)
            .select_from(Affiliation)
            .join(Institution, Institution.id == Affiliation.institution_id)
            .where(
                self.current(Affiliation),
                Institution.municipality_id == self.municipality_id,
                Institution.active.is_(True),
            )
            .correlate(None)
        )
        if institutions is not None:
            query = query.where(Affiliation.institution_id.in_(institutions))
        if people is not None:
            query = query.where(Affiliation.person_id.in_(people))
        return query

    def at_institutions(self, institutions: Ids, roles: Collection[MemberRole]) -> AnyUnion:
        """Ids of people affiliated with the institutions, or members of their groups in ``roles``.

        Affiliations carry OneRoster roles, so callers narrow the result by person kind
        (:meth:`people`); the group roles narrow memberships here.
        """
        first, second = self.at_institutions_parts(institutions, roles)
        return first.union(second)

    def at_institutions_parts(
        self, institutions: Ids, roles: Collection[MemberRole]
    ) -> list[AnySelect]:
        """:meth:`at_institutions` as separate SELECTs, for a caller's own flat UNION.

        SQLite takes no parenthesised UNION inside a UNION, so composed sets stay flat.
        """
        return [
            self.affiliations(institutions=institutions).with_only_columns(Affiliation.person_id),
            self.members(roles, institutions=institutions).with_only_columns(Membership.person_id),
        ]

    def institutions_of(self, people: Ids, roles: Collection[MemberRole]) -> AnyUnion:
        """Ids of the institutions these people are affiliated with or in groups of."""
        by_affiliation = self.affiliations(people=people).with_only_columns(
            Affiliation.institution_id
        )
        by_membership = self.members(roles, people=people).with_only_columns(Group.institution_id)
        return by_affiliation.union(by_membership)

    def people(self, ids: Ids, kind: PersonKind, *, protected: bool | None = None) -> AnySelect:
        """Ids of active people of ``kind`` among ``ids`` (``protected`` narrows when given)."""
        query = (
            select(Person.id)
            .where(
                Person.id.in_(ids),
                Person.municipality_id == self.municipality_id,
                Person.active.is_(True),
                Person.kind == kind.value,
            )
            .correlate(None)
        )
        if protected is not None:
            query = query.where(Person.protected.is_(protected))
        return query

    def guardianships(
        self, *, children: Ids | None = None, guardians: Ids | None = None, custody_only: bool
    ) -> AnySelect:
        """``(guardian_id, child_id)`` of active guardianships of active children."""
        child = aliased(Person)
        query = (
            select(Guardianship.guardian_id, Guardianship.child_id)
            .select_from(Guardianship)
            .join(child, child.id == Guardianship.child_id)
            .where(
                Guardianship.municipality_id == self.municipality_id,
                Guardianship.active.is_(True),
                # A child who left is no longer a reason to reach (or be reached by) anyone.
                child.municipality_id == self.municipality_id,
                child.active.is_(True),
                child.kind == PersonKind.CHILD.value,
            )
            .correlate(None)
        )
        if custody_only:
            query = query.where(Guardianship.custody.is_(True))
        if children is not None:
            query = query.where(Guardianship.child_id.in_(children))
        if guardians is not None:
            query = query.where(Guardianship.guardian_id.in_(guardians))
        return query

    def year_children(self, institution: uuid.UUID, grade: str) -> AnySelect:
        """Ids of the institution's active children whose ``grades`` list holds ``grade``.

        Grades are a comma-separated list ("03", "KG,PR"); the grade must equal one item,
        so "1" finds neither "01" nor "10". Compared in upper case on both engines,
        because LIKE is case-insensitive on SQLite and not on PostgreSQL.
        """
        query = self.people(self.at_institutions([institution], CHILD_ROLES), PersonKind.CHILD)
        grade = grade.replace(" ", "")
        if not grade or "," in grade:
            # The schema refuses these; a list is no grade, and must not match a list.
            return query.where(false())
        listed = literal(",").concat(func.upper(func.replace(Person.grades, " ", ""))).concat(",")
        return query.where(listed.like(grade_pattern(grade), escape="\\"))
