"""Right of access on both engines: what a guardian's export holds, and what it never does."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from gateway.audit import AuditEvent
from gateway.db import session_factory
from gateway.messaging.models import Thread
from gateway.people.cli_data import export_person_command
from tests.integration import messaging_world
from tests.integration.messaging_world import EMAIL, World
from tests.integration.person_data_world import (
    ALIAS,
    AUTH,
    P256DH,
    admin,
    build_scene,
)

world = messaging_world.world  # the fixture


async def _export(w: World, headers: dict[str, str], person_id: str) -> Any:
    return await w.client.get(f"/v1/admin/people/{person_id}/export", headers=headers)


async def test_the_export_holds_the_guardians_data_and_nobody_elses(world: World) -> None:
    w = world
    scene = await build_scene(w)
    answer = await _export(w, admin(scene), scene.guardian_id)
    assert answer.status_code == 200, answer.text
    held = answer.json()
    text = answer.text

    assert held["schema_version"] == 1 and held["exported_at"]
    assert held["person"]["id"] == scene.guardian_id
    assert f"{held['person']['given_name']} {held['person']['family_name']}" == scene.guardian_name
    assert {c["person"]["id"] for c in held["guardianships"]["children"]} == set(scene.children)
    assert len(scene.children) >= 2
    assert {c["address"] for c in held["contact_points"]} == set(scene.guardian_emails)

    thread = next(t for t in held["threads"] if t["id"] == scene.thread_id)
    bodies = {m["author"]["id"]: m["body"] for m in thread["messages"]}
    assert "Husk madpakke til turen." in bodies.values()  # what they received
    assert bodies[scene.guardian_id] == "Tak, vi kommer begge to"  # what they wrote
    # The protected co-recipient: their message is there, under the alias only.
    protected = [m for m in thread["messages"] if m["body"] == "Vi glæder os"]
    assert protected and protected[0]["author"]["name"] == ALIAS
    assert scene.protected_name not in text

    answers = [a for a in held["consent_answers"] if a["consent_id"] == scene.consent_id]
    assert answers and answers[0]["option"] == "yes"
    assert answers[0]["answered_by"]["id"] == scene.guardian_id
    assert {(p["category"], p["channel"], p["mode"]) for p in held["preferences"]} == {
        ("message", "email", "digest")
    }
    assert held["notification_schedule"]["digest_minute"] == 18 * 60 + 15

    [push] = held["push_subscriptions"]
    assert push["push_service"] == "https://push.example.net"
    assert P256DH not in text and AUTH not in text and "secret-path" not in text

    # No one else's address, anywhere in it.
    assert set(EMAIL.findall(text)) <= set(scene.guardian_emails)
    assert not any(other in text for other in scene.other_emails)


async def test_only_admin_keys_of_the_municipality_may_export(world: World) -> None:
    w = world
    scene = await build_scene(w)
    from gateway.auth.apikeys import create_api_key  # noqa: PLC0415
    from gateway.db import session_factory  # noqa: PLC0415

    async with session_factory(w.engine)() as session, session.begin():
        sender = await create_api_key(
            session, municipality_code=w.code, name="Skolesystem", permissions=["send", "report"]
        )
    refused = await _export(w, {"Authorization": f"Bearer {sender.key}"}, scene.guardian_id)
    assert refused.status_code == 403
    # A person's token, even the person's own, is not an admin key.
    own = await _export(w, w.headers(scene.guardian), scene.guardian_id)
    assert own.status_code == 403
    teacher = await _export(w, w.headers(w.summary.teacher), scene.guardian_id)
    assert teacher.status_code == 403
    unknown = await _export(w, admin(scene), "00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404


async def test_the_cli_writes_the_same_export(
    world: World, tmp_path: Path, monkeypatch: Any
) -> None:
    w = world
    scene = await build_scene(w)
    monkeypatch.setenv("BUDSTIKKE_DATABASE_URL", w.settings.database_url)
    out = tmp_path / "export.json"
    result = await _invoke(
        export_person_command, [scene.guardian, "--municipality", w.code, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    held = json.loads(out.read_text())
    assert held["person"]["id"] == scene.guardian_id
    assert any(t["id"] == scene.thread_id for t in held["threads"])
    assert out.stat().st_mode & 0o077 == 0
    missing = await _invoke(export_person_command, ["nobody-here"])
    assert missing.exit_code != 0 and "no person" in missing.output


async def _invoke(command: Any, args: list[str]) -> Any:
    """Run a click command in a thread: it starts its own event loop (asyncio.run)."""
    import anyio.to_thread  # noqa: PLC0415

    return await anyio.to_thread.run_sync(lambda: CliRunner().invoke(command, args))


async def test_an_export_is_logged_as_the_export_not_as_the_persons_reads(world: World) -> None:
    w = world
    scene = await build_scene(w)
    async with session_factory(w.engine)() as session, session.begin():
        thread = await session.get(Thread, uuid.UUID(scene.thread_id))
        assert thread is not None
        thread.sensitive = True  # the export reads it as the guardian, at level high
    assert (await _export(w, admin(scene), scene.guardian_id)).status_code == 200
    async with session_factory(w.engine)() as session:
        events = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.at)))
    exports = [e for e in events if e.action == "person.export"]
    assert [(e.actor_kind, str(e.target_id)) for e in exports] == [("api_key", scene.guardian_id)]
    assert not any(e.action == "thread.sensitive_read" for e in events)
