"""Erasure on both engines: the thread still reads for the others, the person is gone."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import anyio.to_thread
from click.testing import CliRunner
from sqlalchemy import JSON, String, Text, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import session_factory
from gateway.delivery.models import PushSubscription
from gateway.messaging.models import Attachment
from gateway.models import Base
from gateway.people.cli_data import erase_person_command
from gateway.people.erasure import ERASED_BODY, ERASED_NAME
from gateway.roster.models import Person
from tests.integration import messaging_world
from tests.integration.messaging_world import World
from tests.integration.person_data_world import admin, build_scene

world = messaging_world.world  # the fixture


async def _erase(w: World, headers: dict[str, str], person_id: str, confirm: str) -> Any:
    return await w.client.post(
        f"/v1/admin/people/{person_id}/erase", json={"confirm": confirm}, headers=headers
    )


async def _tables_holding(engine: AsyncEngine, needles: list[str]) -> list[str]:
    """Every ``table.column`` (text or JSON) whose stored value contains any needle."""
    found: list[str] = []
    async with session_factory(engine)() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | Text | JSON) and not hasattr(
                    column.type, "impl"
                ):
                    continue
                as_text = cast(column, Text)
                hits = await session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(or_(*(as_text.contains(n, autoescape=True) for n in needles)))
                )
                if hits:
                    found.append(f"{table.name}.{column.name}")
    return found


async def test_erasure_anonymises_the_guardian_and_keeps_the_thread(world: World) -> None:
    w = world
    scene = await build_scene(w)
    upload = await w.client.post(
        "/v1/attachments",
        files={"file": ("plan.txt", b"Min plan for turen\n", "text/plain")},
        headers=w.headers(scene.guardian),
    )
    assert upload.status_code == 201, upload.text
    file_path = (
        w.settings.data_dir / "attachments" / str((await w.person(scene.guardian)).municipality_id)
    ) / upload.json()["id"]
    assert file_path.exists()
    before = (await w.get(f"/v1/consents/{scene.consent_id}/results", w.summary.teacher)).json()

    wrong = await _erase(w, admin(scene), scene.guardian_id, str(uuid.uuid4()))
    assert wrong.status_code == 422
    done = await _erase(w, admin(scene), scene.guardian_id, scene.guardian_id)
    assert done.status_code == 200, done.text
    assert done.json()["messages"] == 1 and done.json()["push_subscriptions"] == 1

    # The teacher still reads the thread: the reply is there, by "Slettet person".
    thread = (await w.get(f"/v1/inbox/threads/{scene.thread_id}", w.summary.teacher)).json()
    theirs = [m for m in thread["messages"] if m["author"]["id"] == scene.guardian_id]
    assert [(m["author"]["name"], m["body"]) for m in theirs] == [(ERASED_NAME, ERASED_BODY)]
    assert any(m["body"] == "Husk madpakke til turen." for m in thread["messages"])

    # Name, addresses and identifiers are nowhere in the database.
    needles = [scene.guardian_name, *scene.guardian_emails, scene.guardian]
    assert await _tables_holding(w.engine, needles) == []
    async with session_factory(w.engine)() as session:
        subscriptions = await session.scalar(
            select(func.count())
            .select_from(PushSubscription)
            .where(PushSubscription.person_id == uuid.UUID(scene.guardian_id))
        )
        files = await session.scalar(select(func.count()).select_from(Attachment))
        row = await session.get(Person, uuid.UUID(scene.guardian_id))
    assert subscriptions == 0 and files == 0
    assert not file_path.exists()
    assert row is not None and not row.active and row.uni_login is None

    # Their token is refused; the consent result still counts their answer.
    assert (await w.get("/v1/me", scene.guardian)).status_code == 401
    after = (await w.get(f"/v1/consents/{scene.consent_id}/results", w.summary.teacher)).json()
    assert after["counts"] == before["counts"]


async def test_non_admin_callers_cannot_erase(world: World) -> None:
    w = world
    scene = await build_scene(w)
    for headers in (w.headers(scene.guardian), w.headers(w.summary.teacher)):
        refused = await _erase(w, headers, scene.guardian_id, scene.guardian_id)
        assert refused.status_code == 403
    assert (await w.person(scene.guardian)).active


async def test_the_cli_erases_only_with_yes(world: World, tmp_path: Path, monkeypatch: Any) -> None:
    w = world
    scene = await build_scene(w)
    monkeypatch.setenv("BUDSTIKKE_DATABASE_URL", w.settings.database_url)
    monkeypatch.setenv("BUDSTIKKE_DATA_DIR", str(w.settings.data_dir))
    runner = CliRunner()
    unconfirmed = await anyio.to_thread.run_sync(
        lambda: runner.invoke(erase_person_command, [scene.guardian])
    )
    assert unconfirmed.exit_code != 0 and (await w.person(scene.guardian)).active
    result = await anyio.to_thread.run_sync(
        lambda: runner.invoke(erase_person_command, [scene.guardian, "--yes"])
    )
    assert result.exit_code == 0, result.output
    async with session_factory(w.engine)() as session:
        erased = await session.get(Person, uuid.UUID(scene.guardian_id))
    assert erased is not None and erased.given_name == ERASED_NAME and not erased.active
    assert erased.source_id.startswith("erased:")
