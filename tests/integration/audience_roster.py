"""Rosters for the audience tests: a small hand-made one, and the demo municipality.

The small roster (Toftegård) has one school with classes 3.A and 4.A, a daycare room,
and the awkward cases named so that a test reads like the rule it checks:

====  ================================================================================
c1    3.A, grade 03; guardians g1 (custody) and g2 (no custody)
c2    3.A, grade 03; guardian g1 (custody): g1 has two children in 3.A
c3    3.A, protected (alias "Elev A"); guardian g3 (custody, protected, no email)
c4    4.A, grades "04,05"; guardian g4 (custody)
c5    3.A and the school until yesterday (ended); guardian g5
c6    3.A and the school from tomorrow (not begun); guardian g6
c7    3.A, deactivated; guardian g7
c8    3.A, no guardian at all
c9    3.A; guardian g9 (custody) has no email address
t1    teacher of 3.A; t2 teacher of 4.A; l1 leader (affiliation only)
p1    pedagogue of the daycare room r1; d1 child of r1 with guardian gd1
x-*   Andby (0888): school x-s1, class x-k3a, child x-c1, guardian x-g1, teacher x-t1
====  ================================================================================

Every person has an email address unless the table says otherwise.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import session_factory
from gateway.roster.demo import DemoSummary
from gateway.roster.importer import import_oneroster
from gateway.roster.models import (
    Group,
    GroupKind,
    Institution,
    InstitutionKind,
    MemberRole,
    Municipality,
    Person,
    PersonKind,
)
from gateway.roster.records import (
    AffiliationRecord,
    GroupRecord,
    GuardianshipRecord,
    InstitutionRecord,
    MembershipRecord,
    Mode,
    MunicipalityRecord,
    PersonRecord,
    RosterBatch,
)
from gateway.roster.sync import sync_roster

TODAY = dt.date(2026, 9, 1)
BULK = dict.fromkeys(
    ("institutions", "groups", "people", "affiliations", "guardianships", "memberships"),
    Mode.BULK,
)


@dataclass
class Roster:
    """Gateway ids by source id, for one loaded roster."""

    municipality_id: uuid.UUID
    people: dict[str, uuid.UUID]
    groups: dict[str, uuid.UUID]
    institutions: dict[str, uuid.UUID]
    other_municipality_id: uuid.UUID | None = None

    def __getitem__(self, source_id: str) -> uuid.UUID:
        return self.people[source_id]

    def source_ids(self, ids: Any) -> set[str]:
        """Source ids of these gateway ids (people, groups or institutions)."""
        back = {
            value: key
            for table in (self.people, self.groups, self.institutions)
            for key, value in table.items()
        }
        return {back[i] for i in ids}


def _person(source_id: str, kind: PersonKind, **extra: Any) -> PersonRecord:
    emails = extra.pop("emails", (f"{source_id}@example.dk",))
    return PersonRecord(
        origin=f"test:{source_id}",
        source_id=source_id,
        kind=kind,
        given_name=extra.pop("given_name", source_id.upper()),
        family_name=extra.pop("family_name", "Toft"),
        emails=emails,
        **extra,
    )


def _member(
    group: str,
    person: str,
    role: MemberRole,
    *,
    begin_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> MembershipRecord:
    return MembershipRecord(
        origin=f"test:{group}:{person}",
        group=group,
        person=person,
        role=role,
        begin_date=begin_date,
        end_date=end_date,
    )


def _guardian(child: str, guardian: str, *, custody: bool = True) -> GuardianshipRecord:
    return GuardianshipRecord(
        origin=f"test:{child}:{guardian}",
        child=child,
        guardian=guardian,
        custody=custody,
        relation="parent",
    )


def small_batch() -> RosterBatch:
    child, guardian, staff = PersonKind.CHILD, PersonKind.GUARDIAN, PersonKind.STAFF
    children = [
        _person("c1", child, grades="03"),
        _person("c2", child, grades="03"),
        _person("c3", child, grades="03", protected=True, alias="Elev A"),
        _person("c4", child, grades="04,05"),
        _person("c5", child, grades="03"),
        _person("c6", child, grades="03"),
        _person("c7", child, grades="03"),
        _person("c8", child, grades="03"),
        _person("c9", child, grades="03"),
        _person("d1", child, grades="PR"),
    ]
    guardians = [_person(g, guardian) for g in ("g1", "g2", "g4", "g5", "g6", "g7", "gd1")] + [
        _person("g3", guardian, protected=True, alias="Forælder A", emails=()),
        _person("g9", guardian, emails=()),
    ]
    staff_people = [_person(s, staff) for s in ("t1", "t2", "l1", "p1")]
    in_3a = ["c1", "c2", "c3", "c7", "c8", "c9"]
    yesterday, tomorrow = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)
    return RosterBatch(
        municipality=MunicipalityRecord(code="0777", name="Toftegård Kommune"),
        modes=dict(BULK),
        institutions=[
            InstitutionRecord(
                origin="test:s1", source_id="s1", kind=InstitutionKind.SCHOOL, name="Toftskolen"
            ),
            InstitutionRecord(
                origin="test:dc1", source_id="dc1", kind=InstitutionKind.DAYCARE, name="Toften"
            ),
        ],
        groups=[
            GroupRecord(
                origin="test:k3a",
                source_id="k3a",
                institution="s1",
                kind=GroupKind.CLASS,
                name="3.A",
                grades="03",
            ),
            GroupRecord(
                origin="test:k4a",
                source_id="k4a",
                institution="s1",
                kind=GroupKind.CLASS,
                name="4.A",
                grades="04",
            ),
            GroupRecord(
                origin="test:r1", source_id="r1", institution="dc1", kind=GroupKind.ROOM, name="R"
            ),
        ],
        people=children + guardians + staff_people,
        affiliations=[
            *(
                AffiliationRecord(origin=f"test:a:{c}", person=c, institution="s1", role="student")
                for c in [*in_3a, "c4"]
            ),
            # Left the school yesterday / starts tomorrow, like their class memberships.
            AffiliationRecord(
                origin="test:a:c5",
                person="c5",
                institution="s1",
                role="student",
                end_date=yesterday,
            ),
            AffiliationRecord(
                origin="test:a:c6",
                person="c6",
                institution="s1",
                role="student",
                begin_date=tomorrow,
            ),
            AffiliationRecord(origin="test:a:d1", person="d1", institution="dc1", role="student"),
            *(
                AffiliationRecord(origin=f"test:a:{t}", person=t, institution="s1", role="teacher")
                for t in ("t1", "t2")
            ),
            AffiliationRecord(origin="test:a:l1", person="l1", institution="s1", role="principal"),
            AffiliationRecord(origin="test:a:p1", person="p1", institution="dc1", role="aide"),
        ],
        guardianships=[
            _guardian("c1", "g1"),
            _guardian("c1", "g2", custody=False),
            _guardian("c2", "g1"),
            _guardian("c3", "g3"),
            _guardian("c4", "g4"),
            _guardian("c5", "g5"),
            _guardian("c6", "g6"),
            _guardian("c7", "g7"),
            _guardian("c9", "g9"),
            _guardian("d1", "gd1"),
        ],
        memberships=[
            *(_member("k3a", c, MemberRole.CHILD) for c in in_3a),
            _member("k3a", "c5", MemberRole.CHILD, end_date=yesterday),
            _member("k3a", "c6", MemberRole.CHILD, begin_date=tomorrow),
            _member("k4a", "c4", MemberRole.CHILD),
            _member("k3a", "t1", MemberRole.TEACHER),
            _member("k4a", "t2", MemberRole.TEACHER),
            _member("r1", "d1", MemberRole.CHILD),
            _member("r1", "p1", MemberRole.PEDAGOGUE),
        ],
    )


def other_batch() -> RosterBatch:
    """Another municipality, whose ids must match nothing in Toftegård."""
    return RosterBatch(
        municipality=MunicipalityRecord(code="0888", name="Andby Kommune"),
        modes=dict(BULK),
        institutions=[
            InstitutionRecord(
                origin="o:s", source_id="x-s1", kind=InstitutionKind.SCHOOL, name="Andskolen"
            )
        ],
        groups=[
            GroupRecord(
                origin="o:k",
                source_id="x-k3a",
                institution="x-s1",
                kind=GroupKind.CLASS,
                name="3.A",
                grades="03",
            )
        ],
        people=[
            _person("x-c1", PersonKind.CHILD, grades="03"),
            _person("x-g1", PersonKind.GUARDIAN),
            _person("x-t1", PersonKind.STAFF),
        ],
        affiliations=[
            AffiliationRecord(origin="o:a", person="x-c1", institution="x-s1", role="student"),
            AffiliationRecord(origin="o:b", person="x-t1", institution="x-s1", role="teacher"),
        ],
        guardianships=[_guardian("x-c1", "x-g1")],
        memberships=[
            _member("x-k3a", "x-c1", MemberRole.CHILD),
            _member("x-k3a", "x-t1", MemberRole.TEACHER),
        ],
    )


async def load_small(engine: AsyncEngine) -> Roster:
    """Toftegård and Andby; c7 is deactivated after the sync (its links stay active)."""
    for batch in (small_batch(), other_batch()):
        async with session_factory(engine)() as session, session.begin():
            report = await sync_roster(
                session, batch, source="test", default_time_zone="Europe/Copenhagen"
            )
            assert report.rejected == []
    async with session_factory(engine)() as session, session.begin():
        await session.execute(update(Person).where(Person.source_id == "c7").values(active=False))
    roster = await ids(engine, "0777")
    other = await ids(engine, "0888")
    roster.other_municipality_id = other.municipality_id
    roster.people.update(other.people)
    roster.groups.update(other.groups)
    roster.institutions.update(other.institutions)
    return roster


async def load_demo(engine: AsyncEngine, folder: Path, summary: DemoSummary) -> Roster:
    """The demo municipality written to ``folder``, imported."""
    report = await import_oneroster(
        engine,
        folder,
        municipality_code=None,
        dry_run=False,
        max_file_bytes=1 << 30,
        default_time_zone="Europe/Copenhagen",
    )
    assert report.rejected == []
    return await ids(engine, summary.municipality_code)


async def ids(engine: AsyncEngine, code: str) -> Roster:
    """Gateway ids by source id of municipality ``code``."""
    async with engine.connect() as conn:
        municipality_id = await conn.scalar(
            select(Municipality.id).where(Municipality.code == code)
        )
        assert municipality_id is not None
        tables: list[dict[str, uuid.UUID]] = []
        for model in (Person, Group, Institution):
            query = select(model.source_id, model.id).where(
                model.municipality_id == municipality_id
            )
            tables.append({source_id: id_ for source_id, id_ in await conn.execute(query)})
    people, groups, institutions = tables
    return Roster(municipality_id, people, groups, institutions)
