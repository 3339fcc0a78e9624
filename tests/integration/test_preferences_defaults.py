"""Institution notification defaults (API keys) and planning's bulk reads, on both engines."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import session_factory
from gateway.orm import utcnow
from gateway.preferences import service
from gateway.preferences.models import Preference, Schedule
from gateway.roster.models import Affiliation, Institution, Municipality, Person
from tests.integration import messaging_world
from tests.integration.messaging_world import World
from tests.integration.test_preferences import api_key

world = messaging_world.world  # the fixture

PREFERENCES = "/v1/me/preferences"


def defaults_path(institution_id: str) -> str:
    return f"/v1/institutions/{institution_id}/notification-defaults"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def home_of(w: World, who: str) -> Institution:
    """The institution whose defaults ``who``'s document shows."""
    doc = (await w.get(PREFERENCES, who)).json()
    async with session_factory(w.engine)() as session:
        found = await session.get(Institution, uuid.UUID(doc["defaults_from"]["id"]))
    assert found is not None
    return found


async def set_settings(w: World, institution_id: uuid.UUID, settings: dict[str, Any]) -> None:
    async with session_factory(w.engine)() as session, session.begin():
        row = await session.get(Institution, institution_id)
        assert row is not None
        row.settings = settings


async def stored_settings(w: World, institution_id: uuid.UUID) -> dict[str, Any]:
    async with session_factory(w.engine)() as session:
        row = await session.get(Institution, institution_id)
        assert row is not None
        return dict(row.settings)


async def test_institution_defaults_change_what_applies(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    home = await home_of(w, guardian)
    await set_settings(w, home.id, {"recipient_limit": 50})
    key = await api_key(w, ["roster"])
    # The guardian's own choice wins over any default.
    await w.client.put(
        PREFERENCES,
        json={"categories": {"message": {"push": "instant"}}},
        headers=w.headers(guardian),
    )

    body = {"categories": {"announcement": {"email": "digest"}, "message": {"push": "off"}}}
    put = await w.client.put(defaults_path(str(home.id)), json=body, headers=bearer(key))
    assert put.status_code == 200, put.text
    answer = put.json()
    assert answer["institution_id"] == str(home.id)
    assert answer["categories"]["announcement"] == {
        "push": "instant",
        "email": "digest",
        "locked": False,
    }
    assert answer["categories"]["message"]["push"] == "off"
    assert answer["categories"]["urgent"] == {"push": "instant", "email": "instant", "locked": True}
    got = await w.client.get(defaults_path(str(home.id)), headers=bearer(key))
    assert got.json() == answer
    assert await stored_settings(w, home.id) == {
        "recipient_limit": 50,
        "notifications": {"announcement": {"email": "digest"}, "message": {"webpush": "off"}},
    }

    doc = (await w.get(PREFERENCES, guardian)).json()
    assert doc["categories"]["announcement"]["email"] == {
        "mode": "digest",
        "source": "default",
        "default": "digest",
    }
    assert doc["categories"]["message"]["push"] == {
        "mode": "instant",
        "source": "own",
        "default": "off",
    }

    # A PUT replaces the whole set: what it leaves out is instant again.
    cleared = await w.client.put(
        defaults_path(str(home.id)), json={"categories": {}}, headers=bearer(key)
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["categories"]["announcement"]["email"] == "instant"
    assert await stored_settings(w, home.id) == {"recipient_limit": 50, "notifications": {}}
    doc = (await w.get(PREFERENCES, guardian)).json()
    assert doc["categories"]["announcement"]["email"]["mode"] == "instant"


async def test_notification_defaults_need_a_roster_key_whose_scope_covers_it(
    world: World,
) -> None:
    w = world
    home = await home_of(w, w.summary.guardian_two_children)
    async with session_factory(w.engine)() as session, session.begin():
        elsewhere = await session.scalar(
            select(Institution.source_id).where(Institution.id != home.id).limit(1)
        )
        stranger = Municipality(code="0998", name="Andetsteds", settings={})
        session.add(stranger)
        await session.flush()
        foreign = Institution(
            municipality_id=stranger.id, source_id="x", kind="school", name="Fremmed"
        )
        session.add(foreign)
    assert elsewhere is not None
    body = {"categories": {"message": {"email": "off"}}}
    path = defaults_path(str(home.id))

    assert (await w.client.get(path)).status_code == 401
    as_person = await w.client.put(path, json=body, headers=w.headers(w.summary.leader))
    assert as_person.status_code == 403
    sender = await api_key(w, ["send"])
    assert (await w.client.put(path, json=body, headers=bearer(sender))).status_code == 403
    outside = await api_key(w, ["roster"], institutions=[elsewhere])
    for method in ("get", "put"):
        answer = await w.client.request(method.upper(), path, json=body, headers=bearer(outside))
        assert answer.status_code == 404, answer.text
    wide = await api_key(w, ["roster"])
    missing = await w.client.get(defaults_path(str(uuid.uuid4())), headers=bearer(wide))
    assert missing.status_code == 404
    other_tenant = await w.client.put(
        defaults_path(str(foreign.id)), json=body, headers=bearer(wide)
    )
    assert other_tenant.status_code == 404
    assert "notifications" not in await stored_settings(w, home.id)
    async with session_factory(w.engine)() as session:
        untouched = await session.get(Institution, foreign.id)
        assert untouched is not None and untouched.settings == {}

    inside = await api_key(w, ["roster"], institutions=[home.source_id])
    done = await w.client.put(path, json=body, headers=bearer(inside))
    assert done.status_code == 200, done.text
    assert done.json()["categories"]["message"]["email"] == "off"


async def test_notification_defaults_refuse_urgent_and_unknown_fields(world: World) -> None:
    w = world
    home = await home_of(w, w.summary.guardian_two_children)
    key = await api_key(w, ["roster"])
    path = defaults_path(str(home.id))
    urgent = await w.client.put(
        path, json={"categories": {"urgent": {"email": "digest"}}}, headers=bearer(key)
    )
    assert urgent.status_code == 422
    assert urgent.json()["errors"][0].startswith("categories.urgent.email: urgent")
    for body in (
        {"categories": {"gossip": {"email": "off"}}},
        {"categories": {"message": {"email": "never"}}},
        {"message": {"email": "off"}},
        {},
    ):
        refused = await w.client.put(path, json=body, headers=bearer(key))
        assert refused.status_code == 422, (body, refused.text)
    assert "notifications" not in await stored_settings(w, home.id)


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_planning_reads_a_hundred_thousand_people_in_one_query_each(world: World) -> None:
    w = world
    async with session_factory(w.engine)() as session, session.begin():
        (municipality_id,) = (await session.execute(select(Person.municipality_id).limit(1))).one()
        people = list((await session.scalars(select(Person.id).limit(30))).all())
        for index, person_id in enumerate(people):
            session.add(
                Preference(
                    municipality_id=municipality_id,
                    person_id=person_id,
                    category="announcement" if index % 2 else "message",
                    channel="email",
                    mode="digest",
                )
            )
            if index % 3 == 0:
                session.add(
                    Schedule(
                        municipality_id=municipality_id,
                        person_id=person_id,
                        digest_time=index,
                        last_digest_at=utcnow(),
                    )
                )
    asked = [uuid.uuid4() for _ in range(100_000)] + people
    async with session_factory(w.engine)() as session:
        with counted(w.engine) as statements:
            modes = await service.modes_for(session, municipality_id, asked, "message")
            schedules = await service.schedules_for(session, municipality_id, asked)
            other_tenant = await service.modes_for(session, uuid.uuid4(), asked, "message")
    assert len(statements) == 3  # one per call, whatever the number of people
    assert modes == {(person_id, "email"): "digest" for person_id in people[0::2]}
    assert set(schedules) == set(people[0::3])
    assert all(schedules[p].digest_time == people.index(p) for p in schedules)
    assert other_tenant == {}


async def deactivate_affiliations(w: World, who: str) -> None:
    person_id = uuid.UUID(await w.id_of(who))
    async with session_factory(w.engine)() as session, session.begin():
        await session.execute(
            update(Affiliation).where(Affiliation.person_id == person_id).values(active=False)
        )


async def test_a_guardian_without_an_affiliation_gets_their_childrens_defaults(
    world: World,
) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    await deactivate_affiliations(w, guardian)
    child_ids = [uuid.UUID(await w.id_of(c)) for c in w.summary.guardian_two_children_children]
    async with session_factory(w.engine)() as session:
        places = set(
            (
                await session.scalars(
                    select(Affiliation.institution_id).where(
                        Affiliation.person_id.in_(child_ids), Affiliation.active.is_(True)
                    )
                )
            ).all()
        )
    home = await home_of(w, guardian)
    assert home.id in places
    await set_settings(w, home.id, {"notifications": {"consent": {"email": "off"}}})
    doc = (await w.get(PREFERENCES, guardian)).json()
    assert doc["categories"]["consent"]["email"] == {
        "mode": "off",
        "source": "default",
        "default": "off",
    }


async def test_without_any_institution_the_built_in_defaults_apply(world: World) -> None:
    w = world
    teacher = w.summary.teacher
    await deactivate_affiliations(w, teacher)
    doc = (await w.get(PREFERENCES, teacher)).json()
    assert doc["defaults_from"] is None
    assert doc["time_zone"] == w.settings.default_time_zone
    assert {c["email"]["mode"] for c in doc["categories"].values()} == {"instant"}
