"""The send policy on both engines: who may start threads with whom, blocks, the limit.

Every refusal is checked for what it must not say: no name, alias, source id or id of
anyone in the roster.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audience.models import PersonBlock
from gateway.audience.policy import UNREACHABLE, check_send
from gateway.audience.resolver import resolve
from gateway.audience.schemas import (
    Audience,
    GroupAudience,
    GuardiansOf,
    InstitutionAudience,
    People,
    Roles,
    Target,
    YearAudience,
)
from gateway.audience.settings import DEFAULT_RULES, rules_from, setting_problems
from gateway.db import session_factory
from gateway.errors import Forbidden, LimitExceeded
from gateway.roster.models import Institution, Municipality, Person
from tests.integration.audience_roster import TODAY, Roster, load_small


@pytest.fixture
async def small(engine: AsyncEngine) -> Roster:
    return await load_small(engine)


async def send(
    engine: AsyncEngine,
    roster: Roster,
    sender: str,
    *targets: Target,
    municipality_id: uuid.UUID | None = None,
    **options: Any,
) -> None:
    """Resolve and check as the messaging service does; raise what the policy raises."""
    municipality = municipality_id or roster.municipality_id
    audience = Audience(targets=list(targets), **options)
    async with session_factory(engine)() as session:
        recipients = await resolve(
            session, municipality_id=municipality, audience=audience, today=TODAY
        )
        assert recipients, "a test audience must reach someone"
        await check_send(
            session,
            sender_id=roster[sender],
            municipality_id=municipality,
            audience=audience,
            recipients=recipients,
            today=TODAY,
        )


async def refused(engine: AsyncEngine, roster: Roster, sender: str, *targets: Target) -> str:
    """The reason of the Forbidden that sending raises, checked to name no one."""
    with pytest.raises(Forbidden) as caught:
        await send(engine, roster, sender, *targets)
    detail = caught.value.detail
    async with session_factory(engine)() as session:
        people = (await session.execute(Person.__table__.select())).mappings().all()
    for person in people:
        for value in (person["given_name"], person["family_name"], person["alias"]):
            if value:
                assert value.casefold() not in detail.casefold(), detail
        assert str(person["id"]) not in detail and str(person["id"].hex) not in detail
        assert f" {person['source_id']}" not in detail
    return detail


def people(roster: Roster, *names: str) -> People:
    return People(people=[roster[name] for name in names])


async def set_settings(engine: AsyncEngine, model: Any, row_id: uuid.UUID, **values: Any) -> None:
    async with session_factory(engine)() as session, session.begin():
        await session.execute(update(model).where(model.id == row_id).values(settings=values))


async def test_a_pupil_may_not_write_to_another_familys_guardian(
    engine: AsyncEngine, small: Roster
) -> None:
    assert await refused(engine, small, "c1", people(small, "g4")) == UNREACHABLE
    assert await refused(engine, small, "c1", people(small, "t1", "g9")) == UNREACHABLE
    # Even where guardians may write to guardians and pupils to pupils.
    await set_settings(
        engine,
        Institution,
        small.institutions["s1"],
        guardians_may_write_guardians=True,
        pupils_may_write_pupils=True,
    )
    assert await refused(engine, small, "c1", people(small, "g9")) == UNREACHABLE


async def test_a_pupil_may_write_to_their_staff_and_own_guardians(
    engine: AsyncEngine, small: Roster
) -> None:
    await send(engine, small, "c1", people(small, "t1", "t2", "l1"))
    await send(engine, small, "c1", people(small, "g1", "g2"))
    # The daycare's pedagogue is not c1's staff.
    await refused(engine, small, "c1", people(small, "p1"))
    # Other pupils only where the setting allows, in their own groups, and never the
    # protected ones.
    await refused(engine, small, "c1", people(small, "c2"))
    await set_settings(engine, Institution, small.institutions["s1"], pupils_may_write_pupils=True)
    await send(engine, small, "c1", people(small, "c2", "c9"))
    await refused(engine, small, "c1", people(small, "c3"))
    await refused(engine, small, "c1", people(small, "c4"))


async def test_guardians_and_other_families_guardians(engine: AsyncEngine, small: Roster) -> None:
    # Their own children's staff, their own children, their children's other guardian.
    await send(engine, small, "g1", people(small, "t1", "l1", "c1", "c2", "g2"))
    # Other families: blocked by default.
    assert await refused(engine, small, "g1", people(small, "g9")) == UNREACHABLE
    await set_settings(
        engine, Institution, small.institutions["s1"], guardians_may_write_guardians=True
    )
    await send(engine, small, "g1", people(small, "g9"))
    # Allowed only within the children's groups, never to a protected guardian, and
    # never to another family's pupil.
    await refused(engine, small, "g1", people(small, "g4"))
    await refused(engine, small, "g1", people(small, "g3"))
    await refused(engine, small, "g1", people(small, "c9"))
    await refused(engine, small, "g1", people(small, "c4"))


async def test_an_institution_setting_overrides_the_municipalitys(
    engine: AsyncEngine, small: Roster
) -> None:
    await set_settings(
        engine, Municipality, small.municipality_id, guardians_may_write_guardians=True
    )
    await send(engine, small, "g1", people(small, "g9"))
    await set_settings(
        engine, Institution, small.institutions["s1"], guardians_may_write_guardians=False
    )
    await refused(engine, small, "g1", people(small, "g9"))


async def test_guardians_and_pupils_address_people_only(engine: AsyncEngine, small: Roster) -> None:
    k3a, s1 = small.groups["k3a"], small.institutions["s1"]
    for sender in ("g1", "c1"):
        for target in (
            GroupAudience(group=k3a, roles=[Roles.STAFF]),
            InstitutionAudience(institution=s1, roles=[Roles.STAFF]),
            YearAudience(institution=s1, grade="03", roles=[Roles.STAFF]),
            GuardiansOf(children=[small["c1"]]),
        ):
            assert "people" in await refused(engine, small, sender, target)
    # Regarding only their own children: another family's child stays out of the thread.
    with pytest.raises(Forbidden, match="your own children"):
        await send(engine, small, "g1", people(small, "t1"), regarding=[small["c9"]])
    await send(engine, small, "g1", people(small, "t1"), regarding=[small["c1"]])


async def test_staff_write_within_their_institutions(engine: AsyncEngine, small: Roster) -> None:
    k3a = small.groups["k3a"]
    await send(engine, small, "t1", GroupAudience(group=k3a, roles=list(Roles)))
    await send(engine, small, "t1", people(small, "g4", "c4", "t2", "l1"))
    # The daycare is not t1's institution: neither its people nor its groups.
    await refused(engine, small, "t1", people(small, "p1"))
    await refused(engine, small, "t1", people(small, "gd1"))
    assert "outside" in await refused(
        engine, small, "t1", GroupAudience(group=small.groups["r1"], roles=[Roles.STAFF])
    )
    assert "outside" in await refused(engine, small, "t1", GuardiansOf(children=[small["d1"]]))
    await send(engine, small, "p1", GroupAudience(group=small.groups["r1"], roles=list(Roles)))


async def test_another_municipalitys_sender_cannot_send_here(
    engine: AsyncEngine, small: Roster
) -> None:
    await refused(engine, small, "x-t1", people(small, "t1"))
    async with session_factory(engine)() as session, session.begin():
        await session.execute(update(Person).where(Person.id == small["t1"]).values(active=False))
    await refused(engine, small, "t1", people(small, "t2"))


async def test_blocks_refuse_in_either_direction(engine: AsyncEngine, small: Roster) -> None:
    await send(engine, small, "g1", people(small, "t1"))
    async with session_factory(engine)() as session, session.begin():
        session.add(
            PersonBlock(
                municipality_id=small.municipality_id,
                person_id=small["t1"],
                blocked_id=small["g1"],
                reason="test",
            )
        )
    # Refused like any unreachable recipient: a refusal must not reveal the block.
    assert await refused(engine, small, "g1", people(small, "t1")) == UNREACHABLE
    assert await refused(engine, small, "t1", people(small, "g1")) == UNREACHABLE
    assert (
        await refused(
            engine, small, "t1", GroupAudience(group=small.groups["k3a"], roles=[Roles.GUARDIANS])
        )
        == UNREACHABLE
    )
    # Nobody else is affected.
    await send(engine, small, "g1", people(small, "t2"))
    await send(engine, small, "t2", people(small, "g1"))


async def test_the_recipient_limit_and_the_broadcast_exception(
    engine: AsyncEngine, small: Roster
) -> None:
    class_3a = GroupAudience(group=small.groups["k3a"], roles=[Roles.CHILDREN, Roles.GUARDIANS])
    await send(engine, small, "t1", class_3a)  # 8 people under the default 400
    await set_settings(engine, Institution, small.institutions["s1"], recipient_limit=8)
    await send(engine, small, "t1", class_3a)
    await set_settings(engine, Institution, small.institutions["s1"], recipient_limit=7)
    with pytest.raises(LimitExceeded) as caught:
        await send(engine, small, "t1", class_3a)
    assert caught.value.limit == "recipient_limit"
    assert "8" in caught.value.detail and "7" in caught.value.detail
    # l1 is a principal (a leader): leaders may broadcast by default.
    await send(engine, small, "l1", class_3a)
    await set_settings(
        engine, Institution, small.institutions["s1"], recipient_limit=7, broadcast_roles=[]
    )
    with pytest.raises(LimitExceeded):
        await send(engine, small, "l1", class_3a)
    await set_settings(
        engine,
        Institution,
        small.institutions["s1"],
        recipient_limit=7,
        broadcast_roles=["teacher"],
    )
    await send(engine, small, "t1", class_3a)
    # The limit holds for guardians too, and they cannot broadcast.
    await set_settings(
        engine,
        Institution,
        small.institutions["s1"],
        recipient_limit=1,
        broadcast_roles=["leader", "teacher", "admin", "pedagogue"],
    )
    with pytest.raises(LimitExceeded):
        await send(engine, small, "g1", people(small, "t1", "l1"))


def test_settings_defaults_precedence_and_bad_values() -> None:
    assert DEFAULT_RULES.recipient_limit == 400
    assert DEFAULT_RULES.broadcast_roles == {"leader", "admin"}
    assert not DEFAULT_RULES.guardians_may_write_guardians
    assert not DEFAULT_RULES.pupils_may_write_pupils
    rules = rules_from(
        {"recipient_limit": 100, "pupils_may_write_pupils": True}, {"recipient_limit": 50}
    )
    assert (rules.recipient_limit, rules.pupils_may_write_pupils) == (50, True)
    # A bad value is ignored: the layer below (here the municipality's) stays in force.
    bad = rules_from(
        {"recipient_limit": 100},
        {"recipient_limit": True, "guardians_may_write_guardians": "yes", "broadcast_roles": "x"},
    )
    assert bad == rules_from({"recipient_limit": 100})
    assert setting_problems({"recipient_limit": 0, "pupils_may_write_pupils": 1, "other": 1}) == [
        "recipient_limit: must be a whole number of at least 1",
        "pupils_may_write_pupils: must be true or false",
    ]
