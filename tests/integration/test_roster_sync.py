"""The roster sync on both engines: creates, idempotency, bulk removal, delta, refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import session_factory
from gateway.roster.models import (
    Affiliation,
    ContactPoint,
    Group,
    GroupKind,
    Guardianship,
    ImportRun,
    Institution,
    InstitutionKind,
    MemberRole,
    Membership,
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
    SyncReport,
)
from gateway.roster.state import Scope, load_state
from gateway.roster.sync import sync_roster

BULK = dict.fromkeys(
    ("institutions", "groups", "people", "affiliations", "guardianships", "memberships"),
    Mode.BULK,
)


def person(source_id: str, kind: PersonKind, **extra: Any) -> PersonRecord:
    return PersonRecord(
        origin=f"users.csv:{source_id}",
        source_id=source_id,
        kind=kind,
        given_name=extra.pop("given_name", source_id.title()),
        family_name=extra.pop("family_name", "Jensen"),
        **extra,
    )


def school_batch() -> RosterBatch:
    """A school with one class: two children, their guardians and a teacher."""
    people = [
        person("c1", PersonKind.CHILD),
        person("c2", PersonKind.CHILD, protected=True, alias="Elev (beskyttet)"),
        person("g1", PersonKind.GUARDIAN, emails=("g1@example.dk",)),
        person("g2", PersonKind.GUARDIAN, emails=("g2@example.dk", "g2@example.org")),
        person("t1", PersonKind.STAFF, emails=("t1@example.dk",)),
    ]
    return RosterBatch(
        municipality=MunicipalityRecord(code="0999", name="Budstikke Kommune", source_id="d1"),
        modes=dict(BULK),
        institutions=[
            InstitutionRecord(
                origin="orgs.csv:2", source_id="s1", kind=InstitutionKind.SCHOOL, name="Nordskolen"
            )
        ],
        groups=[
            GroupRecord(
                origin="classes.csv:2",
                source_id="k1",
                institution="s1",
                kind=GroupKind.CLASS,
                name="3.A",
                details={"classType": "homeroom"},
            )
        ],
        people=people,
        affiliations=[
            AffiliationRecord(
                origin=f"roles.csv:{p.source_id}", person=p.source_id, institution="s1", role=role
            )
            for p, role in zip(
                people, ["student", "student", "parent", "parent", "teacher"], strict=True
            )
        ],
        guardianships=[
            GuardianshipRecord(
                origin="users.csv:g1", child="c1", guardian="g1", custody=True, relation="parent"
            ),
            GuardianshipRecord(
                origin="users.csv:g2", child="c1", guardian="g2", custody=False, relation="parent"
            ),
            GuardianshipRecord(
                origin="users.csv:g2", child="c2", guardian="g2", custody=True, relation="parent"
            ),
        ],
        memberships=[
            MembershipRecord(
                origin="enrollments.csv:2",
                group="k1",
                person="c1",
                role=MemberRole.CHILD,
                source_id="e1",
            ),
            MembershipRecord(
                origin="enrollments.csv:3",
                group="k1",
                person="c2",
                role=MemberRole.CHILD,
                source_id="e2",
            ),
            MembershipRecord(
                origin="enrollments.csv:4",
                group="k1",
                person="t1",
                role=MemberRole.TEACHER,
                source_id="e3",
                primary=True,
                begin_date=dt.date(2026, 8, 1),
            ),
        ],
    )


async def apply(engine: AsyncEngine, batch: RosterBatch, **options: Any) -> SyncReport:
    async with session_factory(engine)() as session, session.begin():
        return await sync_roster(
            session, batch, source="test", default_time_zone="Europe/Copenhagen", **options
        )


def counts(report: SyncReport) -> dict[str, dict[str, int]]:
    return {kind: msgspec.structs.asdict(c) for kind, c in report.counts.items()}


async def count_active(engine: AsyncEngine, model: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).where(model.active.is_(True))) or 0)


async def test_first_sync_creates_everything(engine: AsyncEngine) -> None:
    report = await apply(engine, school_batch())
    assert report.rejected == []
    assert report.counts["people"].created == 5
    assert report.counts["guardianships"].created == 3
    assert report.counts["memberships"].created == 3
    async with session_factory(engine)() as session:
        child = await session.scalar(select(Person).where(Person.source_id == "c2"))
        assert child is not None and child.protected and child.alias == "Elev (beskyttet)"
        ids = dict((await session.execute(select(Person.id, Person.source_id))).all())
        links = (
            await session.execute(
                select(Guardianship.child_id, Guardianship.guardian_id, Guardianship.custody)
            )
        ).all()
        custody = {(ids[c], ids[g]): flag for c, g, flag in links}
        assert custody == {("c1", "g1"): True, ("c1", "g2"): False, ("c2", "g2"): True}
        school = await session.scalar(select(Institution))
        assert school is not None and school.time_zone == "Europe/Copenhagen"
        addresses = set(await session.scalars(select(ContactPoint.address)))
        assert addresses == {"g1@example.dk", "g2@example.dk", "g2@example.org", "t1@example.dk"}
        teacher = await session.scalar(select(Membership).where(Membership.role == "teacher"))
        assert teacher is not None and teacher.begin_date == dt.date(2026, 8, 1)
        assert teacher.is_primary
        runs = (await session.scalars(select(ImportRun))).all()
        assert len(runs) == 1 and runs[0].counts["people"]["created"] == 5


async def test_the_same_batch_twice_changes_nothing(engine: AsyncEngine) -> None:
    await apply(engine, school_batch())
    async with engine.connect() as conn:
        before = (await conn.execute(select(Person.source_id, Person.updated_at))).all()
    report = await apply(engine, school_batch())
    assert all(
        c["created"] == c["updated"] == c["deactivated"] == 0 for c in counts(report).values()
    )
    assert report.counts["people"].unchanged == 5
    assert report.counts["memberships"].unchanged == 3
    async with engine.connect() as conn:
        after = (await conn.execute(select(Person.source_id, Person.updated_at))).all()
    assert sorted(before) == sorted(after)


async def test_bulk_deactivates_what_vanished_and_never_deletes(engine: AsyncEngine) -> None:
    await apply(engine, school_batch())
    smaller = school_batch()
    smaller.people = [p for p in smaller.people if p.source_id != "c2"]
    smaller.affiliations = [a for a in smaller.affiliations if a.person != "c2"]
    smaller.guardianships = [g for g in smaller.guardianships if g.child != "c2"]
    smaller.memberships = [m for m in smaller.memberships if m.person != "c2"]
    report = await apply(engine, smaller)
    assert report.counts["people"].deactivated == 1
    assert report.counts["memberships"].deactivated == 1
    assert report.counts["guardianships"].deactivated == 1
    async with session_factory(engine)() as session:
        gone = await session.scalar(select(Person).where(Person.source_id == "c2"))
        assert gone is not None and not gone.active and gone.deactivated_at is not None
    assert await count_active(engine, Person) == 4
    # Back in the file: active again, with its links.
    again = await apply(engine, school_batch())
    assert again.counts["people"].updated == 1
    assert await count_active(engine, Person) == 5
    assert await count_active(engine, Membership) == 3
    async with session_factory(engine)() as session:
        back = await session.scalar(select(Person).where(Person.source_id == "c2"))
        assert back is not None and back.active and back.deactivated_at is None


async def test_bulk_keeps_people_who_belong_to_another_institution(engine: AsyncEngine) -> None:
    batch = school_batch()
    batch.institutions.append(
        InstitutionRecord(
            origin="orgs.csv:3", source_id="s2", kind=InstitutionKind.DAYCARE, name="Solsikken"
        )
    )
    batch.affiliations.append(
        AffiliationRecord(origin="roles.csv:x", person="g1", institution="s2", role="parent")
    )
    await apply(engine, batch)
    only_school = school_batch()
    only_school.people = [p for p in only_school.people if p.source_id != "g1"]
    only_school.affiliations = [a for a in only_school.affiliations if a.person != "g1"]
    only_school.guardianships = [g for g in only_school.guardianships if g.guardian != "g1"]
    report = await apply(engine, only_school)
    # g1 is still a daycare parent: the school's file cannot take them away.
    assert report.counts["people"].deactivated == 0
    assert report.counts["affiliations"].deactivated == 1
    assert report.counts["institutions"].deactivated == 0
    assert await count_active(engine, Institution) == 2


async def test_delta_changes_only_what_it_names(engine: AsyncEngine) -> None:
    await apply(engine, school_batch())
    delta = RosterBatch(
        modes={"people": Mode.DELTA},
        people=[
            person("c1", PersonKind.CHILD, given_name="Karla"),
            PersonRecord(
                origin="users.csv:3",
                source_id="t1",
                kind=PersonKind.STAFF,
                given_name="",
                family_name="",
                active=False,
            ),
        ],
    )
    report = await apply(engine, delta, municipality_code="0999")
    assert counts(report)["people"] == {
        "created": 0,
        "updated": 1,
        "deactivated": 1,
        "unchanged": 0,
    }
    # The teacher's membership goes with them; nobody else was touched.
    assert report.counts["memberships"].deactivated == 1
    assert await count_active(engine, Person) == 4
    async with session_factory(engine)() as session:
        karla = await session.scalar(select(Person).where(Person.source_id == "c1"))
        assert karla is not None and karla.given_name == "Karla"


async def test_changed_email_replaces_the_roster_address(engine: AsyncEngine) -> None:
    await apply(engine, school_batch())
    batch = school_batch()
    batch.people[2] = person("g1", PersonKind.GUARDIAN, emails=("new@example.dk",))
    report = await apply(engine, batch)
    assert report.counts["people"].updated == 1
    assert report.counts["people"].unchanged == 4
    async with engine.connect() as conn:
        rows = dict((await conn.execute(select(ContactPoint.address, ContactPoint.active))).all())
    assert rows["new@example.dk"] is True
    assert rows["g1@example.dk"] is False


async def test_bad_references_are_refused_where_they_came_from(engine: AsyncEngine) -> None:
    batch = school_batch()
    batch.groups.append(
        GroupRecord(
            origin="classes.csv:9",
            source_id="k9",
            institution="nope",
            kind=GroupKind.CLASS,
            name="x",
        )
    )
    batch.memberships.append(
        MembershipRecord(
            origin="enrollments.csv:7", group="k1", person="ghost", role=MemberRole.CHILD
        )
    )
    batch.memberships.append(
        MembershipRecord(
            origin="enrollments.csv:8", group="k1", person="g1", role=MemberRole.TEACHER
        )
    )
    batch.guardianships.append(
        GuardianshipRecord(
            origin="users.csv:44", child="g1", guardian="g2", custody=True, relation="parent"
        )
    )
    report = await apply(engine, batch)
    assert "classes.csv:9: unknown institution 'nope'" in report.rejected
    assert "enrollments.csv:7: unknown person 'ghost'" in report.rejected
    assert "enrollments.csv:8: a guardian cannot have the role teacher" in report.rejected
    assert any(
        r.startswith("users.csv:44: 'g2' cannot be a guardian of 'g1'") for r in report.rejected
    )
    assert len(report.rejected) == 4
    # The rest went in.
    assert await count_active(engine, Membership) == 3
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(Group)) == 1
        assert await conn.scalar(select(func.count()).select_from(Affiliation)) == 5


async def test_a_delta_batch_reads_only_what_it_names(engine: AsyncEngine) -> None:
    await apply(engine, school_batch())
    async with session_factory(engine)() as session:
        municipality = await session.scalar(select(ImportRun.municipality_id))
        assert municipality is not None
        state = await load_state(
            session, municipality, Scope(people=frozenset({"g2"}), groups=frozenset())
        )
    assert set(state.people.rows) == {"g2"}
    # g2's links come along (as guardian of c1 and c2), and nobody else's.
    assert len(state.guardianships.rows) == 2
    assert len(state.affiliations.rows) == 1
    assert {row["address"] for row in state.emails.rows.values()} == {
        "g2@example.dk",
        "g2@example.org",
    }
    assert state.groups.rows == {}


async def test_a_delta_deletion_of_a_guardian_ends_their_links(engine: AsyncEngine) -> None:
    await apply(engine, school_batch())
    delta = RosterBatch(
        modes={"people": Mode.DELTA},
        people=[
            PersonRecord(
                origin="users.csv:9",
                source_id="g2",
                kind=PersonKind.GUARDIAN,
                given_name="",
                family_name="",
                active=False,
            )
        ],
    )
    report = await apply(engine, delta, municipality_code="0999")
    assert report.counts["people"].deactivated == 1
    assert report.counts["guardianships"].deactivated == 2
    assert report.counts["affiliations"].deactivated == 1
    assert await count_active(engine, Guardianship) == 1
