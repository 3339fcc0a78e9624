"""PostgreSQL stopped and started again while the API takes requests.

The gateway runs on a PostgreSQL server of its own (pgserver's binaries, in a temporary
folder), so the test can stop it without disturbing anything else. While it is down,
every request that needs the database answers 503 with ``Retry-After`` — never a 500 —
readiness says not-ready, and nothing is half-accepted; once it is back, the same app
answers again by itself, and every message accepted with 202 before the outage is there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pgserver
import pytest
from pgserver._commands import pg_ctl

from gateway import migrate
from tests.conftest import _asyncpg_dsn, _sqlalchemy_url
from tests.integration.messaging_world import World, make_world

pytestmark = pytest.mark.slow


class PrivatePostgres:
    """A PostgreSQL server only this test uses, which it may stop and start."""

    def __init__(self, folder: Path) -> None:
        self.server = pgserver.get_server(folder, cleanup_mode="delete")
        self.uri = self.server.get_uri()

    def stop(self) -> None:
        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        with self.server._lock:  # what pgserver holds while it starts a server
            self.server.ensure_postgres_running()
        assert self.server.get_uri() == self.uri  # the same socket: clients find it again


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(tmp_path / "pgdata")
    yield server
    server.server.cleanup()


@pytest.fixture
async def outage_world(
    private_postgres: PrivatePostgres, tmp_path: Path, redis_url: str, make_settings: Any
) -> AsyncIterator[World]:
    admin = await asyncpg.connect(**_asyncpg_dsn(private_postgres.uri))
    try:
        await admin.execute('CREATE DATABASE "outage"')
    finally:
        await admin.close()
    url = _sqlalchemy_url(private_postgres.uri, "outage")
    await asyncio.to_thread(migrate.upgrade, url)
    from gateway.db import create_engine  # noqa: PLC0415

    engine = create_engine(url)
    try:
        async for world in make_world(tmp_path, url, redis_url, make_settings, engine):
            yield world
    finally:
        await engine.dispose()


async def _until_answered(w: World, path: str, person: str, within: float = 30.0) -> int:
    """Poll until the app answers 200 again (it must recover without a restart)."""
    deadline = time.monotonic() + within
    while True:
        status: int = (await w.get(path, person)).status_code
        if status == 200 or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.5)


async def test_a_database_outage_is_503_with_retry_after_and_heals_by_itself(
    outage_world: World, private_postgres: PrivatePostgres
) -> None:
    w = outage_world
    guardian = w.summary.guardian_two_children
    before = await w.send_to_class(subject="Før nedbruddet")
    klass = await w.id_of(w.summary.teacher_class)
    assert (await w.client.get("/readyz")).status_code == 200

    private_postgres.stop()
    try:
        reading = await w.get("/v1/inbox/threads", guardian)
        assert reading.status_code == 503, reading.text
        assert int(reading.headers["retry-after"]) > 0
        assert reading.headers["content-type"].startswith("application/problem+json")
        sending = await w.post(
            "/v1/messages",
            w.summary.teacher,
            {
                "subject": "Under nedbruddet",
                "body": "Denne må ikke gå halvt igennem.",
                "audience": {
                    "targets": [{"type": "group", "group": klass, "roles": ["guardians"]}]
                },
            },
        )
        assert sending.status_code == 503, sending.text
        ready = await w.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] != "ready"
    finally:
        private_postgres.start()

    assert await _until_answered(w, "/v1/inbox/threads", guardian) == 200
    assert (await w.client.get("/readyz")).status_code == 200
    threads = (await w.get("/v1/inbox/threads", guardian)).json()["items"]
    subjects = [t["subject"] for t in threads]
    assert subjects.count("Før nedbruddet") == 1  # accepted before: kept, once
    assert "Under nedbruddet" not in subjects  # refused during: not half-stored
    assert before["thread_id"] in {t["id"] for t in threads}
    after = await w.send_to_class(subject="Efter nedbruddet")
    assert after["recipients"] == before["recipients"]
