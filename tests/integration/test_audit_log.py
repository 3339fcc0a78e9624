"""The audit log on both engines: each recording point, GET /v1/audit, append-only, the CLI.

Every recording point is driven through the real API (or the real function the CLI
calls) and must leave exactly one event naming the right actor and target, with a
``detail`` that holds no name, address or text from the roster or the request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gateway.audit import AuditActor, AuditEvent, record
from gateway.audit.cli import audit as audit_command
from gateway.audit.service import purge_before
from gateway.auth.apikeys import create_api_key, revoke_api_key, verify_api_key
from gateway.auth.models import ApiKey
from gateway.db import session_factory
from gateway.roster.models import ContactPoint, ImportRun, Institution, Municipality, Person
from tests.integration import consent_world
from tests.integration.consent_world import ask
from tests.integration.messaging_world import World

world = consent_world.world  # the fixture


@pytest.fixture
async def w(world: World) -> World:
    return world


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def municipality_id(w: World, code: str | None = None) -> uuid.UUID:
    async with session_factory(w.engine)() as session:
        found = await session.scalar(
            select(Municipality.id).where(Municipality.code == (code or w.code))
        )
    assert found is not None
    return found


async def events(w: World, action: str, code: str | None = None) -> list[AuditEvent]:
    tenant = await municipality_id(w, code)
    async with session_factory(w.engine)() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.municipality_id == tenant, AuditEvent.action == action)
                    .order_by(AuditEvent.at, AuditEvent.id)
                )
            ).all()
        )


async def make_key(
    w: World, permissions: list[str], *, code: str | None = None, institutions: tuple[str, ...] = ()
) -> tuple[str, uuid.UUID]:
    async with session_factory(w.engine)() as session, session.begin():
        created = await create_api_key(
            session,
            municipality_code=code or w.code,
            name="Forvaltningen",
            permissions=permissions,
            institutions=institutions,
        )
        key_id = await session.scalar(select(ApiKey.id).where(ApiKey.prefix == created.info.prefix))
    assert key_id is not None
    return created.key, key_id


async def personal_words(w: World) -> set[str]:
    """Every name and address in the roster: none may appear in an event's detail."""
    async with session_factory(w.engine)() as session:
        people = (await session.execute(select(Person.given_name, Person.family_name))).all()
        addresses = (await session.scalars(select(ContactPoint.address))).all()
    words = {part for given, family in people for part in (given, family) if len(part) >= 3}
    return words | set(addresses)


async def assert_no_personal_text(w: World, event: AuditEvent, *extra: str) -> None:
    stored = json.dumps(event.detail)
    found = {word for word in {*await personal_words(w), *extra} if word in stored}
    assert not found, (event.action, found)


async def test_the_import_is_one_event_with_counts(w: World) -> None:
    [event] = await events(w, "roster.import")
    async with session_factory(w.engine)() as session:
        run = (await session.scalars(select(ImportRun))).one()
    assert (event.actor_kind, event.actor_id) == ("cli", None)
    assert (event.target_kind, event.target_id) == ("import_run", run.id)
    assert event.detail["changed"]["people.created"] == run.counts["people"]["created"] > 0
    assert event.detail["rejected"] == run.rejected
    await assert_no_personal_text(w, event)


async def test_reading_a_sensitive_thread_is_logged_and_a_plain_one_is_not(w: World) -> None:
    guardian = w.summary.guardian_two_children
    secret = await w.send_to_class(subject="Trivsel", body="Om jeres barns trivsel", sensitive=True)
    plain = await w.send_to_class(subject="Tur", body="Husk madpakke")
    path = f"/v1/inbox/threads/{secret['thread_id']}"
    assert (await w.get(path, guardian, token={"acr": "low"})).status_code == 403
    assert await events(w, "thread.sensitive_read") == []  # refused: nothing was read
    assert (await w.get(path, guardian)).status_code == 200
    assert (await w.get(f"/v1/inbox/threads/{plain['thread_id']}", guardian)).status_code == 200
    [event] = await events(w, "thread.sensitive_read")
    assert (event.actor_kind, str(event.actor_id)) == ("person", await w.id_of(guardian))
    assert (event.target_kind, str(event.target_id)) == ("thread", secret["thread_id"])
    await assert_no_personal_text(w, event, "Trivsel", "trivsel")


async def test_a_consent_export_is_logged(w: World) -> None:
    consent = (await ask(w))["consent_id"]
    refused = await w.get(f"/v1/consents/{consent}/results.csv", w.summary.guardian_two_children)
    assert refused.status_code in {403, 404}
    assert await events(w, "consent.export") == []
    response = await w.get(f"/v1/consents/{consent}/results.csv", w.summary.teacher)
    assert response.status_code == 200, response.text
    [event] = await events(w, "consent.export")
    assert (event.actor_kind, str(event.actor_id)) == ("person", await w.id_of(w.summary.teacher))
    assert (event.target_kind, str(event.target_id)) == ("consent_request", consent)
    assert event.detail == {"version": 1, "rows": 4}
    await assert_no_personal_text(w, event, "Fotos")


async def test_a_roster_upsert_is_one_event_per_request(w: World) -> None:
    key, key_id = await make_key(w, ["roster"])
    items = [
        {"source_id": f"new-{n}", "kind": "guardian", "given_name": "Oskar", "family_name": "Ny"}
        for n in range(3)
    ]
    response = await w.client.put(
        f"/v1/roster/{w.code}/people", json={"items": items}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    [event] = await events(w, "roster.upsert")
    assert (event.actor_kind, event.actor_id) == ("api_key", key_id)
    assert event.target_kind == "import_run"
    assert event.detail == {"changed": {"people.created": 3}, "rejected": 0}
    await assert_no_personal_text(w, event, "Oskar")
    # Every item refused: nothing changes, and nothing is claimed in the log.
    bad = [{**items[0], "source_id": "x", "protected": True}]
    refused = await w.client.put(
        f"/v1/roster/{w.code}/people", json={"items": bad}, headers=bearer(key)
    )
    assert refused.status_code == 422
    assert len(await events(w, "roster.upsert")) == 1


async def test_preference_and_default_changes_are_logged(w: World) -> None:
    guardian = w.summary.guardian_two_children
    body = {"categories": {"message": {"push": "off"}}, "digest_time": "18:30"}
    put = await w.client.put("/v1/me/preferences", json=body, headers=w.headers(guardian))
    assert put.status_code == 200, put.text
    [event] = await events(w, "preferences.change")
    me = await w.id_of(guardian)
    assert (event.actor_kind, str(event.actor_id)) == ("person", me)
    assert (event.target_kind, str(event.target_id)) == ("person", me)
    assert event.detail["modes"] == 1 and event.detail["categories"] == ["message"]
    await assert_no_personal_text(w, event)

    key, key_id = await make_key(w, ["roster"])
    doc = (await w.get("/v1/me/preferences", guardian)).json()
    home = doc["defaults_from"]["id"]
    defaults = {"categories": {"announcement": {"email": "digest"}}}
    put = await w.client.put(
        f"/v1/institutions/{home}/notification-defaults", json=defaults, headers=bearer(key)
    )
    assert put.status_code == 200, put.text
    [change] = await events(w, "notification_defaults.change")
    assert (change.actor_kind, change.actor_id) == ("api_key", key_id)
    assert (change.target_kind, str(change.target_id)) == ("institution", home)
    assert change.detail == {"categories": ["announcement"]}


async def test_api_keys_creation_revocation_and_hourly_use(w: World) -> None:
    key, key_id = await make_key(w, ["send", "report"])
    [created] = await events(w, "api_key.create")
    assert (created.actor_kind, created.target_kind, created.target_id) == (
        "cli",
        "api_key",
        key_id,
    )
    assert created.detail["permissions"] == ["report", "send"]
    assert key.split("_", 2)[2] not in json.dumps(created.detail)  # never the secret

    hour = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
    for at in (hour, hour + dt.timedelta(seconds=30), hour + dt.timedelta(minutes=5)):
        async with session_factory(w.engine)() as session, session.begin():
            await verify_api_key(session, key, now=at)
    assert [e.at for e in await events(w, "api_key.use")] == [hour]
    later = hour + dt.timedelta(hours=1, seconds=1)
    async with session_factory(w.engine)() as session, session.begin():
        await verify_api_key(session, key, now=later)
    used = await events(w, "api_key.use")
    assert [e.at for e in used] == [hour, later]
    assert all((e.actor_kind, e.actor_id, e.target_id) == ("api_key", key_id, key_id) for e in used)

    async with session_factory(w.engine)() as session, session.begin():
        await revoke_api_key(session, created.detail["prefix"])
        await revoke_api_key(session, created.detail["prefix"])  # again: no second event
    [revoked] = await events(w, "api_key.revoke")
    assert (revoked.actor_kind, revoked.target_id) == ("cli", key_id)


async def test_only_a_municipality_wide_admin_key_reads_its_own_log(w: World) -> None:
    admin, admin_id = await make_key(w, ["admin"])
    report, _ = await make_key(w, ["report"])
    school = (await w.person(w.summary.teacher)).municipality_id
    async with session_factory(w.engine)() as session:
        institution = await session.scalar(
            select(Institution.source_id).where(Institution.municipality_id == school).limit(1)
        )
    assert institution is not None
    narrow, _ = await make_key(w, ["admin"], institutions=(institution,))
    async with session_factory(w.engine)() as session, session.begin():
        session.add(Municipality(code="0202", name="Sydby", settings={}))
    other, _ = await make_key(w, ["admin"], code="0202")

    assert (await w.client.get("/v1/audit", headers=bearer(report))).status_code == 403
    assert (await w.client.get("/v1/audit", headers=bearer(narrow))).status_code == 403
    assert (
        await w.client.get("/v1/audit", headers=w.headers(w.summary.teacher))
    ).status_code == 403
    assert (await w.client.get("/v1/audit")).status_code == 401

    mine = await w.client.get("/v1/audit", params={"limit": 200}, headers=bearer(admin))
    assert mine.status_code == 200, mine.text
    actions = {item["action"] for item in mine.json()["items"]}
    assert {"roster.import", "api_key.create", "api_key.use"} <= actions
    [read] = await events(w, "audit.read")
    assert (read.actor_kind, read.actor_id) == ("api_key", admin_id)
    assert read.ip is not None and read.detail["returned"] == len(mine.json()["items"])

    theirs = await w.client.get("/v1/audit", params={"limit": 200}, headers=bearer(other))
    assert theirs.status_code == 200
    ours = {str(e.id) for a in actions for e in await events(w, a)}
    seen = {item["id"] for item in theirs.json()["items"]}
    assert seen and not seen & ours
    own = {str(e.id) for a in ("api_key.create", "api_key.use") for e in await events(w, a, "0202")}
    assert seen == own


async def test_filters_and_paging(w: World) -> None:
    admin, admin_id = await make_key(w, ["admin"])
    _, report_id = await make_key(w, ["report"])
    assert (await w.client.get("/v1/audit", headers=bearer(admin))).status_code == 200
    async with session_factory(w.engine)() as session:
        everything = [
            str(row)
            for row in (
                await session.scalars(
                    select(AuditEvent.id)
                    .where(AuditEvent.municipality_id == await municipality_id(w))
                    .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                )
            ).all()
        ]
    assert len(everything) == 5  # import, 2 creates, a use, a read
    paged: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await w.client.get("/v1/audit", params=params, headers=bearer(admin))).json()
        paged += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == everything  # newest first, no gaps, no repeats

    def get(**params: Any) -> Any:
        return w.client.get("/v1/audit", params=params, headers=bearer(admin))

    created = (await get(action="api_key.create")).json()["items"]
    assert {item["target_id"] for item in created} >= {str(admin_id), str(report_id)}
    assert {item["action"] for item in created} == {"api_key.create"}
    by_target = (await get(target=str(report_id))).json()["items"]
    assert [item["action"] for item in by_target] == ["api_key.create"]
    by_actor = (await get(actor=str(admin_id))).json()["items"]
    assert by_actor and {item["actor_id"] for item in by_actor} == {str(admin_id)}
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert (await get(since=future)).json()["items"] == []
    assert (await get(until="2000-01-01T00:00:00+00:00")).json()["items"] == []
    for bad in (
        {"action": "thread.delete"},
        {"since": "2026-12-03T08:00:00"},  # no time zone
        {"cursor": "bm90LW91cnM"},
        {"limit": 0},
        {"limit": 10_000},
    ):
        answer = await get(**bad)
        assert 400 <= answer.status_code < 500, (bad, answer.status_code)


async def test_the_database_refuses_update_and_delete(w: World) -> None:
    tenant = await municipality_id(w)
    async with session_factory(w.engine)() as session, session.begin():
        await record(
            session, municipality_id=tenant, actor=AuditActor.system(), action="audit.read"
        )
    for statement in (
        "UPDATE audit_events SET action = 'audit.read', detail = '{}'",
        "DELETE FROM audit_events",
    ):
        async with session_factory(w.engine)() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
            await session.rollback()
    if w.engine.dialect.name == "postgresql":
        async with session_factory(w.engine)() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text("TRUNCATE audit_events"))
            await session.rollback()
    async with session_factory(w.engine)() as session:
        assert len((await session.scalars(select(AuditEvent))).all()) >= 2

    # The retention escape: only through purge_before, and only for deletes.
    async with session_factory(w.engine)() as session, session.begin():
        purged = await purge_before(session, tenant, dt.datetime.now(dt.UTC) + dt.timedelta(1))
    assert purged >= 2
    [purge] = await events(w, "audit.purge")
    assert purge.detail["deleted"] == purged
    async with session_factory(w.engine)() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("DELETE FROM audit_events"))


async def test_detail_takes_ids_and_counts_only(w: World) -> None:
    tenant = await municipality_id(w)
    async with session_factory(w.engine)() as session:
        for detail in ({"name": "Anna Hansen"}, {"body": "x" * 100}, {"n": 1.5}, {"x": {"y": {}}}):
            with pytest.raises(ValueError, match="audit detail"):
                await record(
                    session,
                    municipality_id=tenant,
                    actor=AuditActor.cli(),
                    action="audit.read",
                    detail=detail,
                )


async def test_the_cli_lists_events(w: World, tmp_path: Any) -> None:
    env = {
        "BUDSTIKKE_DATABASE_URL": w.settings.database_url,
        "BUDSTIKKE_DATA_DIR": str(tmp_path / "cli"),
    }
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(audit_command, ["--municipality", w.code, *args], env=env)

    table = await asyncio.to_thread(invoke)
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0].split()[:3] == ["AT", "(UTC)", "ACTION"]
    assert "roster.import" in table.output
    guardian = w.summary.guardian_two_children
    await w.client.put(
        "/v1/me/preferences", json={"digest_time": "18:30"}, headers=w.headers(guardian)
    )
    listed = await asyncio.to_thread(invoke, "--person", guardian, "--json")
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.output)["items"]
    assert [item["action"] for item in items] == ["preferences.change"]
    only = await asyncio.to_thread(invoke, "--action", "audit.read", "--json")
    reads = json.loads(only.output)["items"]
    assert len(reads) == 2 and {r["actor_kind"] for r in reads} == {"cli"}  # each run logs
    unknown = await asyncio.to_thread(
        runner.invoke, audit_command, ["--municipality", "9999"], env=env
    )
    assert unknown.exit_code != 0 and "9999" in unknown.output
