"""A person's notification preferences over the real app, on both engines."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from gateway.auth.apikeys import create_api_key
from gateway.db import session_factory
from gateway.preferences.models import Preference, Schedule
from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture

PATH = "/v1/me/preferences"
CATEGORIES = ("message", "announcement", "consent", "reminder", "urgent")


async def put(w: World, who: str, body: Any) -> Any:
    return await w.client.put(PATH, json=body, headers=w.headers(who))


async def rows(w: World, model: Any, person: str) -> list[Any]:
    person_id = uuid.UUID(await w.id_of(person))
    async with session_factory(w.engine)() as session:
        return list(
            (await session.scalars(select(model).where(model.person_id == person_id))).all()
        )


async def api_key(w: World, permissions: list[str], institutions: Sequence[str] = ()) -> str:
    """A new API key of the world's municipality (institution source ids narrow it)."""
    async with session_factory(w.engine)() as session, session.begin():
        created = await create_api_key(
            session,
            municipality_code=w.code,
            name="Portal",
            permissions=permissions,
            institutions=institutions,
        )
    return created.key


async def test_a_guardian_starts_with_the_defaults(world: World) -> None:
    w = world
    got = await w.get(PATH, w.summary.guardian_two_children)
    assert got.status_code == 200, got.text
    doc = got.json()
    assert set(doc["categories"]) == set(CATEGORIES)
    for name, category in doc["categories"].items():
        assert category["locked"] is (name == "urgent")
        for channel in ("push", "email"):
            assert category[channel] == {
                "mode": "instant",
                "source": "default",
                "default": "instant",
            }
    assert doc["quiet_hours"] == {"start": "20:00", "end": "07:00", "source": "default"}
    assert doc["working_hours"] is None
    assert doc["digest_time"] == "17:00" and doc["digest_time_source"] == "default"
    assert doc["time_zone"] == "Europe/Copenhagen"
    assert doc["defaults_from"] is not None and doc["defaults_from"]["name"]


async def test_staff_see_their_working_hours_and_have_no_quiet_hours(world: World) -> None:
    w = world
    doc = (await w.get(PATH, w.summary.teacher)).json()
    assert doc["quiet_hours"] is None
    assert doc["working_hours"] == {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "07:30",
        "end": "16:30",
    }
    refused = await put(w, w.summary.teacher, {"quiet_hours": {"start": "21:00", "end": "06:00"}})
    assert refused.status_code == 422
    assert any(error.startswith("quiet_hours: staff") for error in refused.json()["errors"])
    # The digest time is everyone's.
    done = await put(w, w.summary.teacher, {"digest_time": "15:45"})
    assert done.status_code == 200, done.text
    assert done.json()["digest_time"] == "15:45"


async def test_a_partial_update_changes_only_what_it_names(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    first = await put(
        w,
        guardian,
        {
            "categories": {"announcement": {"email": "digest"}, "message": {"push": "off"}},
            "quiet_hours": {"start": "21:30", "end": "06:45"},
            "digest_time": "18:15",
        },
    )
    assert first.status_code == 200, first.text
    second = await put(w, guardian, {"categories": {"message": {"email": "digest"}}})
    assert second.status_code == 200, second.text

    doc = (await w.get(PATH, guardian)).json()
    assert doc == second.json()
    categories = doc["categories"]
    assert categories["announcement"]["email"] == {
        "mode": "digest",
        "source": "own",
        "default": "instant",
    }
    assert categories["announcement"]["push"]["source"] == "default"
    assert categories["message"]["push"]["mode"] == "off"
    assert categories["message"]["email"]["mode"] == "digest"
    assert doc["quiet_hours"] == {"start": "21:30", "end": "06:45", "source": "own"}
    assert doc["digest_time"] == "18:15" and doc["digest_time_source"] == "own"

    stored = {(p.category, p.channel): p.mode for p in await rows(w, Preference, guardian)}
    assert stored == {
        ("announcement", "email"): "digest",
        ("message", "webpush"): "off",
        ("message", "email"): "digest",
    }
    (schedule,) = await rows(w, Schedule, guardian)
    assert (schedule.quiet_start, schedule.quiet_end, schedule.digest_time) == (
        21 * 60 + 30,
        6 * 60 + 45,
        18 * 60 + 15,
    )


async def test_null_goes_back_to_the_default(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    await put(
        w,
        guardian,
        {
            "categories": {"consent": {"push": "digest", "email": "off"}},
            "quiet_hours": {"start": "22:00", "end": "06:00"},
            "digest_time": "08:00",
        },
    )
    reset = await put(
        w,
        guardian,
        {"categories": {"consent": {"push": None}}, "quiet_hours": None, "digest_time": None},
    )
    assert reset.status_code == 200, reset.text
    doc = reset.json()
    assert doc["categories"]["consent"]["push"] == {
        "mode": "instant",
        "source": "default",
        "default": "instant",
    }
    assert doc["categories"]["consent"]["email"]["mode"] == "off"  # not named: kept
    assert doc["quiet_hours"]["source"] == "default" and doc["quiet_hours"]["start"] == "20:00"
    assert doc["digest_time"] == "17:00" and doc["digest_time_source"] == "default"
    stored = [(p.category, p.channel) for p in await rows(w, Preference, guardian)]
    assert stored == [("consent", "email")]
    (schedule,) = await rows(w, Schedule, guardian)
    assert (schedule.quiet_start, schedule.quiet_end, schedule.digest_time) == (None, None, None)


async def test_urgent_is_locked_and_a_refused_update_changes_nothing(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    for mode in ("off", "digest"):
        refused = await put(
            w,
            guardian,
            {
                "categories": {"urgent": {"push": mode}, "message": {"email": "off"}},
                "digest_time": "19:00",
            },
        )
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["errors"] == [
            "categories.urgent.push: urgent notifications are always instant: they cannot be "
            "turned off or put in a digest"
        ]
    assert await rows(w, Preference, guardian) == []
    assert await rows(w, Schedule, guardian) == []
    # Asking for what urgent is anyway is fine, and stores nothing.
    same = await put(w, guardian, {"categories": {"urgent": {"push": "instant", "email": None}}})
    assert same.status_code == 200, same.text
    assert same.json()["categories"]["urgent"]["push"]["mode"] == "instant"
    assert await rows(w, Preference, guardian) == []


async def test_bad_times_and_unknown_fields_are_refused_by_name(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    cases: list[tuple[dict[str, Any], str]] = [
        ({"digest_time": "25:00"}, "digest_time"),
        ({"digest_time": "7:00"}, "digest_time"),
        ({"quiet_hours": {"start": "20:00", "end": "24:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "20:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "20:00", "end": "20:00"}}, "quiet_hours: start and end"),
        ({"categories": {"message": {"push": "sometimes"}}}, "categories.message.push"),
        ({"categories": {"gossip": {"push": "off"}}}, "gossip"),
        ({"categories": {"message": {"sms": "off"}}}, "sms"),
        ({"colour": "blue"}, "colour"),
    ]
    for body, named in cases:
        refused = await put(w, guardian, body)
        assert refused.status_code == 422, (body, refused.text)
        problem = refused.json()
        assert problem["title"] == "Invalid input"
        assert any(named in error for error in problem.get("errors") or [problem["detail"]]), (
            body,
            problem,
        )
    assert await rows(w, Schedule, guardian) == []


async def test_people_change_only_their_own_preferences(world: World) -> None:
    w = world
    one = w.summary.guardian_two_children
    other = w.summary.non_custodial_parent
    await put(w, one, {"categories": {"message": {"push": "off"}}, "digest_time": "06:00"})
    theirs = (await w.get(PATH, other)).json()
    assert theirs["categories"]["message"]["push"]["mode"] == "instant"
    assert theirs["digest_time"] == "17:00"
    assert await rows(w, Preference, other) == []
    async with session_factory(w.engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Preference)) == 1


async def test_preferences_need_a_person(world: World) -> None:
    w = world
    assert (await w.client.get(PATH)).status_code == 401
    key = await api_key(w, ["send", "roster"])
    as_key = await w.client.get(PATH, headers={"Authorization": f"Bearer {key}"})
    assert as_key.status_code == 403
    # Not even acting for a staff member: preferences are the person's own.
    acting = await w.client.put(
        PATH,
        json={"digest_time": "09:00"},
        headers={"Authorization": f"Bearer {key}", "Budstikke-On-Behalf-Of": w.summary.teacher},
    )
    assert acting.status_code == 403
    assert await rows(w, Schedule, w.summary.teacher) == []
