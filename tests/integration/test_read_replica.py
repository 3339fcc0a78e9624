"""Reads that may lag go to a real PostgreSQL streaming replica; writes stay on the primary.

The fixture builds a primary and a hot standby of its own (``initdb`` + ``pg_basebackup
-R``, Debian's binaries or pgserver's) on free ports in a temporary folder. The proof
that a list is served by the replica: with the replica's replay paused, a message the
teacher just sent is in the thread detail (primary) but not yet in the guardian's list,
unread count or the teacher's delivery report (replica); once replay resumes it is.
With the standby synchronous, the gateway's ``remote_apply`` commits make a read on the
replica right after a write see it.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from gateway import migrate
from gateway.api.resources import Resources, provide_read_session
from gateway.db import create_engine
from tests.integration.messaging_world import World, make_world

pytestmark = pytest.mark.slow

STANDBY_NAME = "budstikke_replica"
NEEDED = ("initdb", "pg_ctl", "pg_basebackup", "postgres")


def _bin_dir() -> Path:
    """Debian's PostgreSQL binaries, else pgserver's; installs Debian's as root if neither."""
    candidates = sorted(glob("/usr/lib/postgresql/*/bin"), reverse=True)
    try:
        import pgserver  # noqa: PLC0415

        candidates.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin"))
    except ImportError:
        pass
    for folder in map(Path, candidates):
        if all((folder / name).exists() for name in NEEDED):
            return folder
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True)
        return _bin_dir()
    pytest.fail(
        "a streaming replica needs PostgreSQL's initdb, pg_ctl and pg_basebackup: "
        "install Debian's `postgresql` package (apt-get install postgresql)"
    )


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as an unprivileged user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pgserver"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    subprocess.run(["useradd", "--system", "--no-create-home", "pgserver"], check=True)
    return "pgserver"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """A primary and a hot standby streaming from it."""

    bin: Path
    folder: Path
    user: str | None
    primary_port: int
    replica_port: int

    def run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / tool), *args],
            check=True,
            user=self.user,
            capture_output=True,
            cwd=self.folder,
        )

    def url(self, port: int, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"

    async def sql(self, port: int, statement: str, database: str = "postgres") -> Any:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=port, user="postgres", database=database
        )
        try:
            return await conn.fetchval(statement)
        finally:
            await conn.close()

    async def caught_up(self) -> None:
        """Wait until the replica has replayed everything the primary has written."""
        target = await self.sql(self.primary_port, "SELECT pg_current_wal_lsn()::text")
        for _ in range(500):
            done = await self.sql(
                self.replica_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
            )
            if done:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the replica did not catch up within 5 s")

    async def synchronous(self, on: bool) -> None:
        """Make the standby synchronous (or not), and wait until the primary agrees."""
        names = STANDBY_NAME if on else ""
        await self.sql(self.primary_port, f"ALTER SYSTEM SET synchronous_standby_names = '{names}'")
        await self.sql(self.primary_port, "SELECT pg_reload_conf()")
        wanted = "sync" if on else "async"
        for _ in range(500):
            state = await self.sql(
                self.primary_port, "SELECT sync_state FROM pg_stat_replication LIMIT 1"
            )
            if state == wanted:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"the standby did not become {wanted}")


def _start_cluster(folder: Path) -> Cluster:
    cluster = Cluster(_bin_dir(), folder, _run_as(), _free_port(), _free_port())
    primary, replica = folder / "primary", folder / "replica"
    cluster.run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync")
    common = (
        "listen_addresses = '127.0.0.1'\n"
        f"unix_socket_directories = '{folder}'\n"
        "fsync = off\nfull_page_writes = off\n"
        "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
    )
    with (primary / "postgresql.conf").open("a") as conf:
        conf.write(common + f"port = {cluster.primary_port}\n")
    cluster.run("pg_ctl", "-D", str(primary), "-l", str(folder / "primary.log"), "-w", "start")
    cluster.run(
        "pg_basebackup",
        *("-h", "127.0.0.1", "-p", str(cluster.primary_port), "-U", "postgres"),
        *("-D", str(replica), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"),
    )
    with (replica / "postgresql.conf").open("a") as conf:
        # cluster_name is the application_name the standby reports to the primary.
        conf.write(f"port = {cluster.replica_port}\ncluster_name = '{STANDBY_NAME}'\n")
    cluster.run("pg_ctl", "-D", str(replica), "-l", str(folder / "replica.log"), "-w", "start")
    return cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="budstikke-replica-"))
    started: Cluster | None = None
    try:
        user = _run_as()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        started = _start_cluster(folder)
        yield started
    finally:
        for name in ("replica", "primary"):
            if started is not None and (folder / name / "postmaster.pid").exists():
                started.run("pg_ctl", "-D", str(folder / name), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def replica_world(
    cluster: Cluster, tmp_path: Path, redis_url: str, make_settings: Any
) -> AsyncIterator[World]:
    name = f"budstikke_scale_{time.monotonic_ns()}"
    await cluster.sql(cluster.primary_port, f'CREATE DATABASE "{name}"')
    primary_url = cluster.url(cluster.primary_port, name)
    await asyncio.to_thread(migrate.upgrade, primary_url)
    engine = create_engine(primary_url)
    try:
        await cluster.synchronous(False)
        async for built in make_world(
            tmp_path,
            primary_url,
            redis_url,
            make_settings,
            engine,
            database_replica_url=cluster.url(cluster.replica_port, name),
        ):
            await cluster.caught_up()
            yield built
    finally:
        await engine.dispose()
        await cluster.sql(cluster.replica_port, "SELECT pg_wal_replay_resume()")


async def test_the_read_dependency_is_on_the_standby_and_writes_on_the_primary(
    replica_world: World,
) -> None:
    # The app's own Resources live on its server loop; these are made the same way.
    resources = Resources.open(replica_world.settings)
    try:
        async for session in provide_read_session(resources):
            assert await session.scalar(text("SELECT pg_is_in_recovery()")) is True
            assert await session.scalar(text("SHOW default_transaction_read_only")) == "on"
        async with resources.sessions() as session:
            assert await session.scalar(text("SELECT pg_is_in_recovery()")) is False
            assert await session.scalar(text("SHOW synchronous_commit")) == "remote_apply"
    finally:
        await resources.close()
    ready = (await replica_world.client.get("/readyz")).json()
    assert ready["checks"]["replica"] == "ok"
    assert 0 <= ready["replica_lag_seconds"] < 5


async def test_lists_and_reports_come_from_the_replica_until_it_replays(
    replica_world: World, cluster: Cluster
) -> None:
    w = replica_world
    guardian = w.summary.guardian_two_children
    before = (await w.get("/v1/inbox/unread", guardian)).json()["total"]
    await cluster.sql(cluster.replica_port, "SELECT pg_wal_replay_pause()")

    sent = await w.send_to_class(subject="Kun på den primære endnu")
    thread_id = sent["thread_id"]
    detail = await w.get(f"/v1/inbox/threads/{thread_id}", guardian)
    assert detail.status_code == 200  # written on the primary, read back from it
    listed = (await w.get("/v1/inbox/threads", guardian)).json()["items"]
    assert thread_id not in {item["id"] for item in listed}
    assert (await w.get("/v1/inbox/unread", guardian)).json()["total"] == before
    report = await w.get(f"/v1/messages/{sent['message_id']}/report", w.summary.teacher)
    assert report.status_code == 404  # the replica has not seen the message yet

    await cluster.sql(cluster.replica_port, "SELECT pg_wal_replay_resume()")
    await cluster.caught_up()
    listed = (await w.get("/v1/inbox/threads", guardian)).json()["items"]
    assert thread_id in {item["id"] for item in listed}
    assert (await w.get("/v1/inbox/unread", guardian)).json()["total"] > before
    report = await w.get(f"/v1/messages/{sent['message_id']}/report", w.summary.teacher)
    assert report.status_code == 200


async def test_a_synchronous_standby_shows_a_write_to_the_very_next_read(
    replica_world: World, cluster: Cluster
) -> None:
    # The inbox marks a thread read and at once asks for the unread count (thread.js);
    # with remote_apply and a synchronous standby that read cannot be stale.
    w = replica_world
    guardian = w.summary.guardian_two_children
    await cluster.synchronous(True)
    for round_ in range(3):
        sent = await w.send_to_class(subject=f"Runde {round_}")
        listed = (await w.get("/v1/inbox/threads", guardian)).json()["items"]
        assert sent["thread_id"] in {item["id"] for item in listed}
        read = await w.post(f"/v1/inbox/threads/{sent['thread_id']}/read", guardian)
        assert read.status_code == 200
        after = (await w.get("/v1/inbox/threads", guardian)).json()["items"]
        mine = next(item for item in after if item["id"] == sent["thread_id"])
        assert mine["unread_count"] == 0
