"""A worker killed with SIGKILL in the middle of a chunk, then restarted, finishes the chunk.

The guarantee (docs/architecture.md): every recipient has exactly one inbox entry,
every delivery reaches a final state, and a mail is sent at least once — a batch that
was on the wire when the worker died may go out twice (at most one batch of
``SEND_BATCH`` per killed job), with the same Message-ID so mail clients collapse it.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select

from gateway.db import session_factory
from gateway.delivery.deliver import SEND_BATCH
from gateway.delivery.models import Delivery
from gateway.messaging.models import Participant
from tests.channels.conftest import SmtpHandler, SmtpServer, _free_port
from tests.channels.push_service import PushService
from tests.delivery.conftest import DeliveryWorld, build_delivery_world

pytestmark = pytest.mark.slow


class SlowHandler(SmtpHandler):
    """Takes a while per mail, so a worker can be killed with a batch in flight."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(0.15)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp() -> Iterator[SmtpServer]:
    handler = SlowHandler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler, controller)  # type: ignore[arg-type]
    finally:
        controller.stop()


@pytest.fixture
async def crash_world(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    make_settings: Any,
    engine: Any,
    slow_smtp: SmtpServer,
    push: PushService,
) -> AsyncIterator[DeliveryWorld]:
    async for built in build_delivery_world(
        tmp_path,
        database_url,
        redis_url,
        make_settings,
        engine,
        slow_smtp,
        push,
        delivery_lease_seconds="5",
        smtp_pool_size="1",
    ):
        yield built


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "worker"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_killed_worker_is_replaced_and_the_chunk_finishes(
    crash_world: DeliveryWorld,
) -> None:
    dw = crash_world
    sent = await dw.world.send_to_class()
    message_id = uuid.UUID(sent["message_id"])
    first = _worker(dw.env)
    try:

        async def some_mail() -> bool:
            return len(dw.smtp.received) >= 3

        await _wait(some_mail, 120, "the first mails")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    before_restart = len(dw.smtp.received)
    rows = await dw.deliveries(message_id=message_id)
    assert rows and any(r.state == "queued" for r in rows), "killed before the chunk finished"
    second = _worker(dw.env)
    try:

        async def all_final() -> bool:
            current = await dw.deliveries(message_id=message_id)
            return all(r.state not in {"queued", "deferred"} for r in current)

        await _wait(all_final, 180, "every delivery to reach a final state")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    rows = await dw.deliveries(message_id=message_id)
    assert {r.state for r in rows} == {"sent"}
    per_address = collections.Counter(rcpt for mail in dw.smtp.received for rcpt in mail.recipients)
    assert set(per_address) == {r.address for r in rows}
    duplicates = sum(count - 1 for count in per_address.values())
    assert duplicates <= min(SEND_BATCH, before_restart)
    # Duplicates carry the same Message-ID, so a mail client shows one.
    ids = collections.defaultdict(set)
    for mail in dw.smtp.received:
        ids[mail.recipients[0]].add(mail.parsed()["Message-ID"])
    assert all(len(found) == 1 for found in ids.values())
    async with session_factory(dw.world.engine)() as session:
        entries = await session.execute(
            select(Participant.person_id, func.count())
            .where(Participant.thread_id == uuid.UUID(sent["thread_id"]))
            .group_by(Participant.person_id)
        )
        assert all(count == 1 for _, count in entries)
        assert await session.scalar(select(func.count()).select_from(Delivery)) == len(rows)
