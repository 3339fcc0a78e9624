"""The messaging world with the email channel configured, and helpers for consent tests.

The email channel points at an address nobody listens on: these tests look at what is
*planned* (``deliveries`` rows), not at mail; jobs go to a queue of the test's own, so no
other test's worker picks them up. The demo (``write_demo_data(children=60, seed=5)``)
gives the teacher ``staff-00024`` the classes 3.A (``school-02-3a``: four children, one
of them with a parent without custody) and 8.A (``school-02-8a``: two pupils aged 14).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.consents.models import ConsentAnswer, ConsentRequest
from gateway.db import session_factory
from gateway.messaging.models import Participant
from gateway.roster.models import Guardianship, Membership, Municipality, Person
from tests.integration.messaging_world import World, make_world

CLASS = "school-02-3a"
PUPILS_CLASS = "school-02-8a"
PROTECTED_CLASS = "school-02-5a"
ZONE = ZoneInfo("Europe/Copenhagen")


@pytest.fixture
async def world(
    tmp_path: Path, database_url: str, redis_url: str, make_settings: Any, engine: AsyncEngine
) -> AsyncIterator[World]:
    env = {
        "smtp_host": "127.0.0.1",
        "smtp_port": "9",
        "smtp_from": "Skolen <no-reply@skole.example.dk>",
        "queue_name": f"test:consents:{uuid.uuid4().hex}",
        "public_url": "https://besked.example.dk",
        # Quiet hours well away from now, so that "instant" is instant.
        "quiet_hours": _hours_away(6),
    }
    async for built in make_world(tmp_path, database_url, redis_url, make_settings, engine, **env):
        yield built


def _hours_away(hours: int) -> str:
    start = dt.datetime.now(ZONE) + dt.timedelta(hours=hours)
    end = start + dt.timedelta(minutes=30)
    return f"{start:%H:%M}-{end:%H:%M}"


def in_days(days: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


async def group_target(w: World, group: str = CLASS) -> dict[str, Any]:
    return {"type": "group", "group": await w.id_of(group), "roles": ["children"]}


async def ask(w: World, *, who: str | None = None, expect: int = 202, **body: Any) -> Any:
    """POST /v1/consents as the teacher (a photo consent for 3.A unless told otherwise)."""
    payload: dict[str, Any] = {
        "title": "Fotos på skolens hjemmeside",
        "question": "Må vi vise **billeder** af dit barn på skolens hjemmeside?",
        "kind": "consent",
        "audience": {"targets": [await group_target(w)]},
        "deadline": in_days(7),
    }
    payload.update(body)
    response = await w.post("/v1/consents", who or w.summary.teacher, payload)
    assert response.status_code == expect, response.text
    return response.json()


async def answer(w: World, consent_id: str, who: str, *pairs: tuple[str, str]) -> Any:
    """POST …/answers with (child source id, option) pairs; the response."""
    items = [{"child_id": await w.id_of(child), "option": option} for child, option in pairs]
    return await w.post(f"/v1/consents/{consent_id}/answers", who, {"answers": items})


async def withdraw(w: World, consent_id: str, who: str, *children: str) -> Any:
    ids = [await w.id_of(child) for child in children]
    return await w.post(f"/v1/consents/{consent_id}/withdraw", who, {"child_ids": ids})


async def results(w: World, consent_id: str) -> dict[str, Any]:
    response = await w.get(f"/v1/consents/{consent_id}/results", w.summary.teacher)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def status_of(w: World, consent_id: str, child: str) -> str:
    child_id = await w.id_of(child)
    found = await results(w, consent_id)
    return next(c["status"] for c in found["children"] if c["child"]["id"] == child_id)


async def set_deadline(w: World, consent_id: str, when: dt.datetime) -> None:
    """Move the deadline (the API refuses past ones; time passing is what this stands for)."""
    async with session_factory(w.engine)() as session, session.begin():
        await session.execute(
            update(ConsentRequest)
            .where(ConsentRequest.id == uuid.UUID(consent_id))
            .values(deadline=when)
        )


async def set_pupils_from_age(w: World, age: int | None) -> None:
    async with session_factory(w.engine)() as session, session.begin():
        municipality = await session.scalar(select(Municipality))
        assert municipality is not None
        settings = dict(municipality.settings or {})
        settings["consents"] = {} if age is None else {"pupils_from_age": age}
        municipality.settings = settings


async def participants(w: World, thread_id: str) -> dict[uuid.UUID, Participant]:
    async with session_factory(w.engine)() as session:
        rows = await session.scalars(
            select(Participant).where(Participant.thread_id == uuid.UUID(thread_id))
        )
        return {row.person_id: row for row in rows}


async def children_of_group(w: World, group: str) -> list[uuid.UUID]:
    group_id = uuid.UUID(await w.id_of(group))
    async with session_factory(w.engine)() as session:
        return list(
            (
                await session.scalars(
                    select(Membership.person_id).where(
                        Membership.group_id == group_id, Membership.role == "child"
                    )
                )
            ).all()
        )


async def custodians(w: World, children: list[uuid.UUID]) -> set[uuid.UUID]:
    async with session_factory(w.engine)() as session:
        return set(
            (
                await session.scalars(
                    select(Guardianship.guardian_id).where(
                        Guardianship.child_id.in_(children), Guardianship.custody.is_(True)
                    )
                )
            ).all()
        )


async def record_rows(w: World, consent_id: str) -> list[ConsentAnswer]:
    async with session_factory(w.engine)() as session:
        return list(
            (
                await session.scalars(
                    select(ConsentAnswer)
                    .where(ConsentAnswer.request_id == uuid.UUID(consent_id))
                    .order_by(ConsentAnswer.created_at, ConsentAnswer.id)
                )
            ).all()
        )


async def source_of(w: World, person_id: uuid.UUID | str) -> str:
    async with session_factory(w.engine)() as session:
        found = await session.scalar(
            select(Person.source_id).where(Person.id == uuid.UUID(str(person_id)))
        )
    assert found is not None
    return found
