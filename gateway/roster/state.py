"""What a municipality's roster holds now, loaded in one query per table for a sync.

A sync compares a whole batch against this snapshot in memory instead of asking the
database row by row: one SELECT per table, then bulk writes.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.roster.models import (
    Affiliation,
    ContactKind,
    ContactPoint,
    Group,
    Guardianship,
    Institution,
    Membership,
    Person,
)

Row = dict[str, Any]


@dataclass(frozen=True)
class Shape:
    """A table as a sync sees it: the natural key and the columns a source may set."""

    table: Table
    key: tuple[str, ...]
    values: tuple[str, ...]


INSTITUTIONS = Shape(
    Institution.__table__,  # type: ignore[arg-type]
    ("source_id",),
    ("kind", "name", "identifier", "time_zone", "active"),
)
GROUPS = Shape(
    Group.__table__,  # type: ignore[arg-type]
    ("source_id",),
    ("institution_id", "kind", "name", "grades", "details", "active"),
)
PEOPLE = Shape(
    Person.__table__,  # type: ignore[arg-type]
    ("source_id",),
    (
        "kind",
        "given_name",
        "family_name",
        "protected",
        "alias",
        "locale",
        "birth_date",
        "grades",
        "uni_login",
        "username",
        "active",
    ),
)
AFFILIATIONS = Shape(
    Affiliation.__table__,  # type: ignore[arg-type]
    ("person_id", "institution_id", "role"),
    ("is_primary", "begin_date", "end_date", "active"),
)
GUARDIANSHIPS = Shape(
    Guardianship.__table__,  # type: ignore[arg-type]
    ("child_id", "guardian_id"),
    ("custody", "relation", "active"),
)
MEMBERSHIPS = Shape(
    Membership.__table__,  # type: ignore[arg-type]
    ("group_id", "person_id", "role"),
    ("source_id", "is_primary", "begin_date", "end_date", "active"),
)
EMAILS = Shape(
    ContactPoint.__table__,  # type: ignore[arg-type]
    ("person_id", "address"),
    ("origin", "active"),
)


@dataclass
class Snapshot:
    """One table's rows by natural key (a tuple, or a scalar for one-column keys)."""

    shape: Shape
    rows: dict[Hashable, Row] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # itemgetter gives a scalar for one name and a tuple for several: the key shape.
        self._key = operator.itemgetter(*self.shape.key)

    def key_of(self, row: Row) -> Hashable:
        key: Hashable = self._key(row)
        return key

    def add(self, row: Row) -> None:
        self.rows[self.key_of(row)] = row

    def id_of(self, key: Hashable) -> uuid.UUID | None:
        row = self.rows.get(key)
        return None if row is None else row["id"]


@dataclass
class RosterState:
    """The whole roster of one municipality, as the sync needs it."""

    institutions: Snapshot
    groups: Snapshot
    people: Snapshot
    affiliations: Snapshot
    guardianships: Snapshot
    memberships: Snapshot
    emails: Snapshot


@dataclass(frozen=True)
class Scope:
    """The rows a delta batch can touch: the people and groups it names (by source id).

    A delta batch changes only what it names, so the sync needs those rows and their
    links, not the whole municipality: a one-person PUT in a 100 000-child municipality
    loaded 1.9 million rows without this.
    """

    people: frozenset[str]
    groups: frozenset[str]


# A bound on ids per IN list: SQLite's default variable limit is 32 766.
_IN_CHUNK = 10_000


async def _load(
    session: AsyncSession,
    shape: Shape,
    municipality_id: uuid.UUID,
    where: tuple[str, Collection[Any]] | None = None,
) -> Snapshot:
    """The rows of one table, all of them or those whose column ``where[0]`` is in ``where[1]``."""
    columns: Sequence[str] = ("id", *shape.key, *shape.values)
    table = shape.table
    query = select(*(table.c[name] for name in columns)).where(
        table.c.municipality_id == municipality_id
    )
    if shape is EMAILS:
        query = query.where(table.c.kind == ContactKind.EMAIL.value)
    snapshot = Snapshot(shape)
    if where is None:
        queries = [query]
    else:
        column, values = where[0], sorted(where[1], key=str)
        queries = [
            query.where(table.c[column].in_(values[start : start + _IN_CHUNK]))
            for start in range(0, len(values), _IN_CHUNK)
        ]
    for part in queries:
        # One buffered fetch: streaming row by row costs a greenlet switch per row.
        for record in await session.execute(part):
            snapshot.add(dict(zip(columns, record, strict=True)))
    return snapshot


async def load_state(
    session: AsyncSession, municipality_id: uuid.UUID, scope: Scope | None = None
) -> RosterState:
    """Read the municipality's roster (or what ``scope`` can touch), one query per table.

    Institutions are always read whole: they are few, and every record names one.
    """
    institutions = await _load(session, INSTITUTIONS, municipality_id)
    if scope is None:
        return RosterState(
            institutions=institutions,
            groups=await _load(session, GROUPS, municipality_id),
            people=await _load(session, PEOPLE, municipality_id),
            affiliations=await _load(session, AFFILIATIONS, municipality_id),
            guardianships=await _load(session, GUARDIANSHIPS, municipality_id),
            memberships=await _load(session, MEMBERSHIPS, municipality_id),
            emails=await _load(session, EMAILS, municipality_id),
        )
    people = await _load(session, PEOPLE, municipality_id, ("source_id", scope.people))
    ids = [row["id"] for row in people.rows.values()]
    guardianships = await _load(session, GUARDIANSHIPS, municipality_id, ("child_id", ids))
    for key, row in (
        await _load(session, GUARDIANSHIPS, municipality_id, ("guardian_id", ids))
    ).rows.items():
        guardianships.rows.setdefault(key, row)
    return RosterState(
        institutions=institutions,
        groups=await _load(session, GROUPS, municipality_id, ("source_id", scope.groups)),
        people=people,
        affiliations=await _load(session, AFFILIATIONS, municipality_id, ("person_id", ids)),
        guardianships=guardianships,
        memberships=await _load(session, MEMBERSHIPS, municipality_id, ("person_id", ids)),
        emails=await _load(session, EMAILS, municipality_id, ("person_id", ids)),
    )
