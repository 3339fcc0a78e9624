"""Backups: what a restored database serves matches the original; bad archives restore nothing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import tarfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import click
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from litestar.testing import AsyncTestClient
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from gateway import migrate
from gateway.api.app import create_app
from gateway.auth.links import secret_key
from gateway.backup import backup as write_backup
from gateway.backup_cli import backup, restore
from gateway.db import create_engine
from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture


@pytest.fixture(autouse=True)
def postgres_client_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    """pg_dump and pg_restore: the machine's, else the ones pgserver ships (a machine with
    nothing but Python runs its tests on pgserver's PostgreSQL, so those fit its server)."""
    if shutil.which("pg_dump") is None:
        from pgserver._commands import POSTGRES_BIN_PATH  # noqa: PLC0415

        monkeypatch.setenv("PATH", f"{POSTGRES_BIN_PATH}{os.pathsep}{os.environ.get('PATH', '')}")


PDF = b"%PDF-1.7\n" + bytes(range(256)) * 16
MakeDatabase = Callable[[str], Awaitable[str]]


@pytest.fixture
async def empty_database(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[MakeDatabase]:
    """Makes new, empty (unmigrated) databases on the engine under test."""
    sqlite = database_url.startswith("sqlite")
    admin = None if sqlite else str(request.getfixturevalue("postgres_admin_url"))
    created: list[str] = []

    async def make(label: str) -> str:
        if admin is None:
            return f"sqlite+aiosqlite:///{tmp_path / label}.db"
        name = f"budstikke_restore_{uuid.uuid4().hex[:12]}"
        await _admin(admin, f'CREATE DATABASE "{name}"')
        created.append(name)
        parsed = make_url(admin).set(drivername="postgresql+asyncpg", database=name)
        return parsed.render_as_string(hide_password=False)

    yield make
    for name in created:
        assert admin is not None
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(url: str, statement: str) -> None:
    parsed = make_url(url)
    conn = await asyncpg.connect(
        user=parsed.username or "postgres",
        password=parsed.password or None,
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        database=parsed.database or "postgres",
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names: list[str] = await conn.run_sync(lambda c: inspect(c).get_table_names())
            return names
    finally:
        await engine.dispose()


async def _cli(command: click.Command, args: list[str], w: World) -> Result:
    env = {
        "BUDSTIKKE_DATABASE_URL": w.settings.database_url,
        "BUDSTIKKE_DATA_DIR": str(w.settings.data_dir),
    }
    # In a thread: restore migrates, and Alembic runs its own event loop.
    return await asyncio.to_thread(CliRunner().invoke, command, args, env=env)


def _names(archive: Path) -> list[str]:
    with tarfile.open(archive, "r:gz") as tar:
        return tar.getnames()


async def _conversation(w: World) -> tuple[str, str]:
    """A class message with an attachment, a guardian's reply, and the thread read."""
    guardian = w.summary.guardian_two_children
    uploaded = await w.client.post(
        "/v1/attachments",
        files={"data": ("plan.pdf", PDF, "application/pdf")},
        headers=w.headers(w.summary.teacher),
    )
    assert uploaded.status_code == 201, uploaded.text
    sent = await w.send_to_class(attachments=[uploaded.json()["id"]])
    thread = sent["thread_id"]
    reply = await w.post(f"/v1/threads/{thread}/messages", guardian, {"body": "Tak, vi kommer!"})
    assert reply.status_code == 202, reply.text
    assert (await w.post(f"/v1/inbox/threads/{thread}/read", guardian, {})).status_code == 200
    return thread, uploaded.json()["id"]


async def _what_they_see(w: World, thread: str, attachment: str) -> dict[str, Any]:
    guardian = w.summary.guardian_two_children
    download = await w.get(f"/v1/attachments/{attachment}", guardian)
    assert download.status_code == 200, download.text
    return {
        "inbox": (await w.get("/v1/inbox/threads", guardian)).json(),
        "unread": (await w.get("/v1/inbox/unread", w.summary.teacher)).json(),
        "thread": (await w.get(f"/v1/inbox/threads/{thread}", guardian)).json(),
        "attachment": hashlib.sha256(download.content).hexdigest(),
        "receipts": (await w.get(f"/v1/threads/{thread}/receipts", w.summary.teacher)).json(),
    }


async def test_a_restored_backup_serves_the_same_inbox_thread_file_and_receipts(
    world: World,
    empty_database: MakeDatabase,
    redis_url: str,
    make_settings: Any,
    tmp_path: Path,
) -> None:
    w = world
    thread, attachment = await _conversation(w)
    secret_key(w.settings)  # the key file exists, so leaving it out is a choice
    before = await _what_they_see(w, thread, attachment)
    assert [m["body"] for m in before["thread"]["messages"]][-1] == "Tak, vi kommer!"
    assert before["attachment"] == hashlib.sha256(PDF).hexdigest()
    guardian_id = await w.id_of(w.summary.guardian_two_children)
    mine = [r for r in before["receipts"]["recipients"] if r["person"]["id"] == guardian_id]
    assert mine and mine[0]["read"] is True

    archive = tmp_path / "backup.tar.gz"
    made = await _cli(backup, ["--out", str(archive)], w)
    assert made.exit_code == 0, made.output
    names = _names(archive)
    assert names[-1] == "manifest.json"
    assert any(name.endswith(f"/{attachment}") for name in names)
    assert not [name for name in names if name.startswith("keys/") or "secret" in name]

    target = await empty_database("restored")
    data_dir = tmp_path / "restored-data"
    done = await _cli(restore, [str(archive), "--into", target, "--data-dir", str(data_dir)], w)
    assert done.exit_code == 0, done.output
    assert "attachment files: 1" in done.output
    assert not (data_dir / "secret.key").exists()

    settings = make_settings(
        demo="true", database_url=target, redis_url=redis_url, data_dir=str(data_dir)
    )
    engine = create_engine(target)
    try:
        async with AsyncTestClient(create_app(settings)) as client:
            restored = World(client, settings, engine, w.summary, w.code)
            after = await _what_they_see(restored, thread, attachment)
    finally:
        await engine.dispose()
    assert after == before


def _repack(archive: Path, out: Path, change: Callable[[str, bytes], bytes]) -> None:
    with tarfile.open(archive, "r:gz") as source, tarfile.open(out, "w:gz") as target:
        for info in source:
            extracted = source.extractfile(info)
            assert extracted is not None
            data = change(info.name, extracted.read())
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))


async def test_a_changed_archive_or_a_used_target_is_refused_and_nothing_is_restored(
    world: World, empty_database: MakeDatabase, tmp_path: Path
) -> None:
    w = world
    await _conversation(w)
    archive = tmp_path / "backup.tar.gz"
    assert (await _cli(backup, ["--out", str(archive)], w)).exit_code == 0

    flipped = tmp_path / "flipped.tar.gz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))

    def one_byte_of_the_attachment(name: str, content: bytes) -> bytes:
        if name.startswith("attachments/"):
            return content[:-1] + bytes([content[-1] ^ 0x01])
        return content

    edited = tmp_path / "edited.tar.gz"
    _repack(archive, edited, one_byte_of_the_attachment)

    for bad, says in ((flipped, "damaged"), (edited, "does not match")):
        target = await empty_database(bad.stem.split(".")[0])
        data_dir = tmp_path / f"data-{bad.stem}"
        refused = await _cli(restore, [str(bad), "--into", target, "--data-dir", str(data_dir)], w)
        assert refused.exit_code == 1, refused.output
        assert says in refused.output
        assert await _tables(target) == []
        assert not (data_dir / "attachments").exists()
    assert "attachments/" in refused.output  # names the member that changed

    # A database with the gateway's tables in it, or a data folder with files in it.
    used = await _cli(
        restore, [str(archive), "--into", w.settings.database_url, "--data-dir", str(tmp_path)], w
    )
    assert used.exit_code == 1
    assert "not empty" in used.output
    target = await empty_database("fresh")
    into_used_folder = ["--into", target, "--data-dir", str(w.settings.data_dir)]
    used_folder = await _cli(restore, [str(archive), *into_used_folder], w)
    assert used_folder.exit_code == 1
    assert "attachments is not empty" in used_folder.output
    assert await _tables(target) == []


async def test_keys_go_in_only_when_asked_and_come_back_private(
    world: World, empty_database: MakeDatabase, tmp_path: Path
) -> None:
    w = world
    key = secret_key(w.settings)
    archive = tmp_path / "with-keys.tar.gz"
    made = await _cli(backup, ["--out", str(archive), "--include-keys"], w)
    assert made.exit_code == 0, made.output
    assert "keys/secret.key" in _names(archive)
    again = await _cli(backup, ["--out", str(archive)], w)
    assert again.exit_code == 1 and "never overwrites" in again.output

    data_dir = tmp_path / "restored-data"
    target = await empty_database("keys")
    done = await _cli(restore, [str(archive), "--into", target, "--data-dir", str(data_dir)], w)
    assert done.exit_code == 0, done.output
    assert (data_dir / "secret.key").read_bytes() == key
    assert (data_dir / "secret.key").stat().st_mode & 0o077 == 0


async def test_a_missing_pg_dump_is_named(
    postgres_url: str, make_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url=postgres_url)
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder without the PostgreSQL tools
    env = {"BUDSTIKKE_DATABASE_URL": postgres_url, "BUDSTIKKE_DATA_DIR": str(settings.data_dir)}
    archive = tmp_path / "backup.tar.gz"
    result = CliRunner().invoke(backup, ["--out", str(archive)], env=env)
    assert result.exit_code == 1
    assert "pg_dump is not installed" in result.output
    assert not archive.exists()


async def test_an_older_backup_is_brought_to_the_newest_schema(
    empty_database: MakeDatabase, make_settings: Any, tmp_path: Path
) -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    head = scripts.get_current_head()
    assert head is not None
    older = scripts.get_revision(head).down_revision
    assert isinstance(older, str)
    source = await empty_database("older")
    await asyncio.to_thread(migrate.upgrade, source, older)
    archive = tmp_path / "older.tar.gz"
    manifest = await asyncio.to_thread(write_backup, make_settings(database_url=source), archive)
    assert manifest.alembic_revision == older

    target = await empty_database("newer")
    result = await asyncio.to_thread(
        CliRunner().invoke, restore, [str(archive), "--into", target, "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert f"revision {older}, now {head}" in result.output
    assert "alembic_version" in await _tables(target)
