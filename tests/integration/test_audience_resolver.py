"""The audience resolver on both engines: custody, dates, tenancy, years, roles, one query."""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audience.resolver import resolve, resolve_count
from gateway.audience.schemas import (
    Audience,
    AudienceCounts,
    GroupAudience,
    GuardiansOf,
    InstitutionAudience,
    People,
    Recipient,
    Roles,
    Target,
    YearAudience,
)
from gateway.db import session_factory
from gateway.roster.demo import DemoSummary, write_demo_data
from gateway.roster.models import Group, Guardianship, Membership
from tests.integration.audience_roster import TODAY, Roster, load_demo, load_small

CHILDREN, GUARDIANS, STAFF = Roles.CHILDREN, Roles.GUARDIANS, Roles.STAFF


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    folder = tmp_path_factory.mktemp("demo")
    return folder, write_demo_data(folder, children=60, seed=5)


@pytest.fixture
async def small(engine: AsyncEngine) -> Roster:
    return await load_small(engine)


async def run(
    engine: AsyncEngine,
    roster: Roster,
    *targets: Target,
    municipality_id: uuid.UUID | None = None,
    **options: Any,
) -> list[Recipient]:
    audience = Audience(targets=list(targets), **options)
    async with session_factory(engine)() as session:
        return await resolve(
            session,
            municipality_id=municipality_id or roster.municipality_id,
            audience=audience,
            today=TODAY,
        )


def who(roster: Roster, recipients: list[Recipient]) -> set[str]:
    people = [r.person_id for r in recipients]
    assert len(people) == len(set(people)), "a person came back twice"
    return roster.source_ids(people)


def regarding(roster: Roster, recipients: list[Recipient]) -> dict[str, set[str]]:
    return {
        roster.source_ids([r.person_id]).pop(): roster.source_ids(r.regarding) for r in recipients
    }


async def test_a_class_reaches_its_current_members_only(engine: AsyncEngine, small: Roster) -> None:
    k3a = small.groups["k3a"]
    # c5 left yesterday, c6 starts tomorrow, c7 is deactivated: none of them, nor their
    # guardians; g2 has no custody.
    assert who(small, await run(engine, small, GroupAudience(group=k3a, roles=[CHILDREN]))) == {
        "c1",
        "c2",
        "c3",
        "c8",
        "c9",
    }
    assert who(small, await run(engine, small, GroupAudience(group=k3a, roles=[GUARDIANS]))) == {
        "g1",
        "g3",
        "g9",
    }
    assert who(small, await run(engine, small, GroupAudience(group=k3a, roles=[STAFF]))) == {"t1"}


async def test_non_custodial_guardians_only_with_the_option(
    engine: AsyncEngine, small: Roster
) -> None:
    target = GroupAudience(group=small.groups["k3a"], roles=[GUARDIANS])
    assert "g2" not in who(small, await run(engine, small, target))
    included = await run(engine, small, target, include_non_custodial=True)
    assert who(small, included) == {"g1", "g2", "g3", "g9"}
    assert regarding(small, included)["g2"] == {"c1"}
    only_c1 = await run(engine, small, GuardiansOf(children=[small["c1"]]))
    assert who(small, only_c1) == {"g1"}


async def test_a_guardian_of_two_children_is_one_recipient_regarding_both(
    engine: AsyncEngine, small: Roster
) -> None:
    found = await run(
        engine,
        small,
        GroupAudience(group=small.groups["k3a"], roles=[GUARDIANS, CHILDREN]),
        People(people=[small["g1"]]),
    )
    g1 = [r for r in found if r.person_id == small["g1"]]
    assert len(g1) == 1
    assert g1[0].kind == "guardian"
    assert set(g1[0].regarding) == {small["c1"], small["c2"]}
    assert regarding(small, found)["c1"] == {"c1"}
    assert regarding(small, found)["g9"] == {"c9"}


async def test_inactive_people_and_stale_links_are_left_out(
    engine: AsyncEngine, small: Roster
) -> None:
    named = await run(
        engine,
        small,
        People(people=[small["c7"], small["c1"]]),
        GuardiansOf(children=[small["c5"], small["c7"], small["c6"]]),
    )
    # c7 is inactive; the guardians of c5 and c6 still count (their guardianships are
    # active; only the class and school links are out of date).
    assert who(small, named) == {"c1", "g5", "g6"}
    school = small.institutions["s1"]
    children = await run(engine, small, InstitutionAudience(institution=school, roles=[CHILDREN]))
    assert who(small, children) == {"c1", "c2", "c3", "c4", "c8", "c9"}
    async with session_factory(engine)() as session, session.begin():
        group = await session.get(Group, small.groups["k4a"])
        assert group is not None
        group.active = False
    gone = await run(engine, small, GroupAudience(group=small.groups["k4a"], roles=[CHILDREN]))
    assert gone == []


async def test_ids_of_another_municipality_match_nothing(
    engine: AsyncEngine, small: Roster
) -> None:
    theirs: list[Target] = [
        People(people=[small["x-t1"], small["x-g1"]]),
        GuardiansOf(children=[small["x-c1"]]),
        GroupAudience(group=small.groups["x-k3a"], roles=[CHILDREN, GUARDIANS, STAFF]),
        InstitutionAudience(institution=small.institutions["x-s1"], roles=[CHILDREN, STAFF]),
        YearAudience(institution=small.institutions["x-s1"], grade="03", roles=[CHILDREN]),
    ]
    # In their own municipality the same audience reaches everyone: the ids are real.
    home = await run(engine, small, *theirs, municipality_id=small.other_municipality_id)
    assert who(small, home) == {"x-c1", "x-g1", "x-t1"}
    assert await run(engine, small, *theirs) == []
    # Mixed in with Toftegård's ids, theirs still add no one; regarding theirs neither.
    mixed = await run(
        engine,
        small,
        People(people=[small["g1"], small["x-g1"]]),
        regarding=[small["x-c1"], small["c1"]],
    )
    assert regarding(small, mixed) == {"g1": {"c1"}}


async def test_a_year_group_matches_one_whole_grade(engine: AsyncEngine, small: Roster) -> None:
    school = small.institutions["s1"]

    async def year(grade: str, *roles: Roles) -> set[str]:
        target = YearAudience(institution=school, grade=grade, roles=list(roles))
        return who(small, await run(engine, small, target))

    assert await year("03", CHILDREN) == {"c1", "c2", "c3", "c8", "c9"}
    # c4's grades are "04,05": either item finds it, a part of one does not.
    assert await year("05", CHILDREN) == {"c4"}
    assert await year("04", CHILDREN, GUARDIANS, STAFF) == {"c4", "g4", "t2"}
    assert await year("5", CHILDREN) == set()
    # A list is no grade: the schema refuses it, and the resolver matches nothing.
    assert await year("04,05", CHILDREN) == set()
    with pytest.raises(msgspec.ValidationError, match="grade"):
        msgspec.json.decode(
            b'{"targets": [{"type": "year", "institution": "%s", "grade": "04,05",'
            b' "roles": ["children"]}]}' % str(school).encode(),
            type=Audience,
        )
    # LIKE wildcards in a grade are text, not patterns.
    assert await year("_3", CHILDREN) == set()
    assert await year("%", CHILDREN) == set()
    # The daycare's PR child is not at the school.
    assert await year("PR", CHILDREN) == set()


async def test_institution_roles(engine: AsyncEngine, small: Roster) -> None:
    school, daycare = small.institutions["s1"], small.institutions["dc1"]

    async def institution(institution_id: uuid.UUID, *roles: Roles) -> set[str]:
        target = InstitutionAudience(institution=institution_id, roles=list(roles))
        return who(small, await run(engine, small, target))

    # l1 is at the school by affiliation only, in no group.
    assert await institution(school, STAFF) == {"t1", "t2", "l1"}
    assert await institution(school, GUARDIANS) == {"g1", "g3", "g4", "g9"}
    assert await institution(daycare, CHILDREN, GUARDIANS, STAFF) == {"d1", "gd1", "p1"}
    async with session_factory(engine)() as session:
        counts = await resolve_count(
            session,
            municipality_id=small.municipality_id,
            audience=Audience(targets=[InstitutionAudience(institution=school, roles=list(Roles))]),
            today=TODAY,
        )
    assert counts == AudienceCounts(children=6, guardians=4, staff=3, total=13)


async def test_regarding_adds_only_the_guardians_own_children(
    engine: AsyncEngine, small: Roster
) -> None:
    found = await run(
        engine,
        small,
        People(people=[small["g2"], small["t1"], small["c1"], small["g4"]]),
        regarding=[small["c1"], small["c4"]],
    )
    assert regarding(small, found) == {
        "g2": {"c1"},  # custody or not, c1 is theirs
        "g4": {"c4"},
        "t1": set(),
        "c1": {"c1"},
    }


async def test_resolve_is_one_query(engine: AsyncEngine, small: Roster) -> None:
    audience = Audience(
        targets=[
            People(people=[small["t2"], small["g4"]]),
            GuardiansOf(children=[small["c4"], small["d1"]]),
            GroupAudience(group=small.groups["k3a"], roles=list(Roles)),
            GroupAudience(group=small.groups["r1"], roles=[STAFF]),
            InstitutionAudience(institution=small.institutions["s1"], roles=[STAFF]),
            YearAudience(institution=small.institutions["s1"], grade="05", roles=list(Roles)),
        ],
        include_non_custodial=True,
        regarding=[small["c1"], small["c4"]],
    )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    async with session_factory(engine)() as session:
        await session.connection()  # checking out (and pinging) is not the resolver's
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            found = await resolve(
                session, municipality_id=small.municipality_id, audience=audience, today=TODAY
            )
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert who(small, found) == {
        *("c1", "c2", "c3", "c8", "c9", "g1", "g2", "g3", "g9", "t1"),
        *("t2", "g4", "c4", "gd1", "p1", "l1"),
    }


# The demo municipality: the same rules against an independent reading of its roster.


async def demo_links(engine: AsyncEngine) -> tuple[dict[uuid.UUID, set[uuid.UUID]], list[Any]]:
    """Current child members per group, and every guardianship (child, guardian, custody)."""
    async with engine.connect() as conn:
        members = await conn.execute(
            select(Membership.group_id, Membership.person_id).where(
                Membership.role == "child", Membership.active.is_(True)
            )
        )
        by_group: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        for group_id, person_id in members:
            by_group[group_id].add(person_id)
        links = (
            await conn.execute(
                select(Guardianship.child_id, Guardianship.guardian_id, Guardianship.custody)
            )
        ).all()
    return by_group, list(links)


async def test_demo_class_guardians_follow_custody(
    engine: AsyncEngine, demo: tuple[Path, DemoSummary]
) -> None:
    folder, summary = demo
    roster = await load_demo(engine, folder, summary)
    by_group, links = await demo_links(engine)
    child, parent = roster[summary.non_custodial_child], roster[summary.non_custodial_parent]
    group = next(g for g, kids in by_group.items() if child in kids)
    target = GroupAudience(group=group, roles=[GUARDIANS])
    custodial = {g for c, g, custody in links if c in by_group[group] and custody}
    everyone = {g for c, g, _ in links if c in by_group[group]}
    assert parent in everyone - custodial
    default = await run(engine, roster, target)
    assert {r.person_id for r in default} == custodial
    included = await run(engine, roster, target, include_non_custodial=True)
    assert {r.person_id for r in included} == everyone
    assert child in next(r.regarding for r in included if r.person_id == parent)


async def test_demo_guardian_of_two_children_and_split_households(
    engine: AsyncEngine, demo: tuple[Path, DemoSummary]
) -> None:
    folder, summary = demo
    roster = await load_demo(engine, folder, summary)
    by_group, links = await demo_links(engine)
    guardian = roster[summary.guardian_two_children]
    children = {roster[c] for c in summary.guardian_two_children_children}
    split = roster[summary.split_household_child]
    groups = {g for g, kids in by_group.items() if kids & (children | {split})}
    found = await run(
        engine, roster, *(GroupAudience(group=g, roles=[GUARDIANS]) for g in sorted(groups))
    )
    mine = [r for r in found if r.person_id == guardian]
    assert len(mine) == 1
    assert children <= set(mine[0].regarding)
    split_custodians = {g for c, g, custody in links if c == split and custody}
    assert len(split_custodians) >= 2
    assert split_custodians <= {r.person_id for r in found if split in r.regarding}
