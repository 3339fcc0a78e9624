"""Faults injected into the real delivery pipeline: each ends in the right state, nothing lost.

The app, a real arq worker, the real database, a misbehaving aiosmtpd server
(:mod:`tests.faults.smtp_faults`) and the local RFC 8030 push service. Retry delays are
fixed in code (a minute for SMTP 4xx, ``Retry-After`` or 30-60 s for push, doubling per
attempt, see ``gateway.delivery.outcomes``) and no setting shortens them, so a test checks
the delay the worker recorded, then moves the clock: it sets the waiting rows'
``not_before`` to now and runs the dispatcher and a worker again, as the 5-second cron
would once the wait is over.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api.app import create_app
from gateway.db import session_factory
from gateway.delivery import dispatch
from gateway.delivery.deliver import SEND_BATCH
from gateway.delivery.models import OPEN_STATES, Delivery, PushSubscription
from gateway.delivery.queue import Queue, fan_out_job_id
from gateway.messaging.models import OutboxItem, Participant
from gateway.orm import utcnow
from gateway.roster.demo import write_demo_data
from gateway.roster.importer import import_oneroster
from gateway.roster.models import ContactPoint
from tests.channels.push_service import PushService, Subscriber
from tests.delivery.conftest import (  # noqa: F401 - push is a fixture
    DeliveryWorld,
    build_delivery_world,
    channel_env,
    push,
)
from tests.faults.smtp_faults import DROP, LOST_REPLY, FaultySmtp, faulty_smtp  # noqa: F401
from tests.integration.messaging_world import World

# Long enough that a held SMTP answer or a hanging push origin is still hanging while the
# test looks at the others; the push timeout test sets its own, shorter one.
ENV = {"smtp_timeout_seconds": "30", "push_timeout_seconds": "3"}
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
async def fault_world(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    make_settings: Any,
    engine: AsyncEngine,
    faulty_smtp: FaultySmtp,  # noqa: F811 - the fixture imported above
    push: PushService,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[DeliveryWorld]:
    async for built in build_delivery_world(
        tmp_path,
        database_url,
        redis_url,
        make_settings,
        engine,
        _as_server(faulty_smtp),
        push,
        **ENV,
    ):
        yield built


# --- helpers ---------------------------------------------------------------------------


def _as_server(smtp: FaultySmtp) -> Any:
    """The world only reads ``host``, ``port`` and ``received``, which FaultySmtp has."""
    return cast(Any, smtp)


async def recipient_emails(dw: DeliveryWorld, thread_id: str) -> dict[uuid.UUID, str]:
    """person id → active email address of every recipient of the thread."""
    async with session_factory(dw.world.engine)() as session:
        rows = await session.execute(
            select(Participant.person_id, ContactPoint.address)
            .join(ContactPoint, ContactPoint.person_id == Participant.person_id)
            .where(
                Participant.thread_id == uuid.UUID(thread_id),
                Participant.role == "recipient",
                ContactPoint.kind == "email",
                ContactPoint.active.is_(True),
            )
        )
        return {person: value for person, value in rows.all()}


async def time_passes(dw: DeliveryWorld) -> None:
    """Every retry's wait is over: the dispatcher hands the rows out and a worker sends them."""
    sessions = session_factory(dw.world.engine)
    now = utcnow()
    async with sessions() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.state == "queued", Delivery.not_before > now)
            .values(not_before=now)
        )
    redis = Redis.from_url(dw.settings.redis_url)
    try:
        await dispatch.dispatch(sessions, dw.settings, Queue(redis, dw.settings.queue_name), now)
    finally:
        await redis.aclose()
    await dw.run_worker()


def wait_of(row: Delivery) -> float:
    """Seconds the worker told this row to wait before its next attempt."""
    return (row.not_before - row.updated_at).total_seconds()


async def eventually(condition: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.02)
    return await condition()


async def inbox_entries(engine: AsyncEngine, thread_id: str) -> collections.Counter[uuid.UUID]:
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(Participant.person_id, func.count())
            .where(Participant.thread_id == uuid.UUID(thread_id))
            .group_by(Participant.person_id)
        )
        return collections.Counter({person: value for person, value in rows.all()})


async def announce_to_school(world: World, roles: list[str] | None = None) -> str:
    """The leader announces to the whole school of ``teacher_class``; the thread id."""
    body = {
        "subject": "Skolefest",
        "body": "Alle er velkomne.",
        "audience": {
            "targets": [
                {
                    "type": "institution",
                    "institution": await _school_of_teacher_class(world),
                    "roles": roles or ["guardians"],
                }
            ]
        },
    }
    response = await world.post("/v1/announcements", world.summary.leader, body)
    assert response.status_code == 202, response.text
    thread_id: str = response.json()["thread_id"]
    return thread_id


# --- SMTP ------------------------------------------------------------------------------


async def test_smtp_faults_end_in_the_right_state_with_bounded_retries(
    fault_world: DeliveryWorld,
    faulty_smtp: FaultySmtp,  # noqa: F811
) -> None:
    dw, smtp = fault_world, faulty_smtp
    thread_id = await announce_to_school(dw.world)
    emails = sorted(set((await recipient_emails(dw, thread_id)).values()))
    assert len(emails) >= 8
    closing, busy, dead, dropped, lost, *healthy = emails
    smtp.fail(closing, "421 4.7.0 closing, try later")
    smtp.fail(busy, "451 4.3.0 try again later")
    smtp.fail(dead, "550 5.1.1 no such mailbox")
    smtp.fail(dropped, DROP, at="data")
    smtp.fail(lost, LOST_REPLY, at="data")
    await dw.run_worker()
    rows = {r.address or "": r for r in await dw.deliveries(channel="email")}
    by_person = {r.person_id: r for r in await dw.deliveries(channel="email")}
    emails_of = await recipient_emails(dw, thread_id)
    row_of = {address: by_person[person] for person, address in emails_of.items()}
    assert {rows[a].state for a in healthy} == {"sent"}
    assert rows[dead].state == "bounced" and "550" in (rows[dead].reason or "")
    first_waits = {}
    for address in (closing, busy, dropped, lost):
        row = row_of[address]
        assert (row.state, row.attempts) == ("queued", 1), address
        assert wait_of(row) >= 60  # backed off a minute at least, not retried at once
        first_waits[address] = wait_of(row)
    assert "421" in (row_of[closing].reason or "") and "451" in (row_of[busy].reason or "")
    # The server still says 451: the second wait is longer (exponential backoff).
    smtp.heal()
    smtp.fail(busy, "451 4.3.0 try again later")
    await time_passes(dw)
    busy_row = next(r for r in await dw.deliveries(channel="email") if r.id == row_of[busy].id)
    assert (busy_row.state, busy_row.attempts) == ("queued", 2)
    assert wait_of(busy_row) >= 120 and wait_of(busy_row) > first_waits[busy]  # doubled
    smtp.heal()
    await time_passes(dw)
    final = {r.id: r for r in await dw.deliveries(channel="email")}
    for address in (closing, busy, dropped, lost):
        assert final[row_of[address].id].state == "sent", address
    assert final[row_of[dead].id].state == "bounced"
    assert all(r.state not in OPEN_STATES for r in final.values())
    async with session_factory(dw.world.engine)() as session:
        contact = await session.scalar(select(ContactPoint).where(ContactPoint.address == dead))
    assert contact is not None and contact.disabled_at is not None
    # What the server took: one mail each, two for the mail whose 250 was lost — the
    # at-least-once duplicate, with the same Message-ID so the mail client shows one.
    for address in (*healthy, closing, busy, dropped):
        assert smtp.copies(address) == 1, address
    assert smtp.copies(lost) == 2 and len(smtp.message_ids(lost)) == 1
    assert smtp.copies(dead) == 0 and smtp.handler.attempts[dead] == 1  # never retried
    assert smtp.handler.attempts[busy] == 3 and smtp.handler.attempts[closing] == 2
    # The disabled address gets nothing more: the next message does not even try it.
    await announce_to_school(dw.world)
    await dw.run_worker()
    assert smtp.handler.attempts[dead] == 1


@POSTGRES_ONLY
async def test_a_slow_domain_does_not_hold_up_mail_to_another(
    fault_world: DeliveryWorld,
    faulty_smtp: FaultySmtp,  # noqa: F811
) -> None:
    dw, smtp = fault_world, faulty_smtp
    emails = await recipient_emails(dw, await announce_to_school(dw.world))
    slow = set(sorted(emails.values())[::2])
    async with session_factory(dw.world.engine)() as session, session.begin():
        for address in slow:
            local = address.partition("@")[0]
            await session.execute(
                update(ContactPoint)
                .where(ContactPoint.address == address)
                .values(address=f"{local}@slow.example.dk")
            )
    fast = set(emails.values()) - slow
    assert len(slow) >= 8 and len(fast) >= 8
    smtp.hold("@slow.example.dk")
    worker = asyncio.create_task(dw.run_worker())
    try:

        async def fast_all_in() -> bool:
            return {r for m in smtp.received for r in m.recipients} >= fast

        done = await eventually(fast_all_in, 10)
        # Ordering, not speed: the slow domain's answers are still held while we look.
        assert smtp.handler.answered_after_hold == 0
        assert done, f"{len(fast) - len({r for m in smtp.received for r in m.recipients})} fast"
    finally:
        smtp.release()
        await worker


# --- web push --------------------------------------------------------------------------


async def _subscribe_recipients(
    dw: DeliveryWorld, thread_id: str, service: PushService | None = None
) -> dict[uuid.UUID, Subscriber]:
    async with session_factory(dw.world.engine)() as session:
        people = list(
            (
                await session.scalars(
                    select(Participant.person_id).where(
                        Participant.thread_id == uuid.UUID(thread_id),
                        Participant.role == "recipient",
                    )
                )
            ).all()
        )
    found: dict[uuid.UUID, Subscriber] = {}
    for person_id in sorted(people):
        found[person_id] = await _subscribe(dw, person_id, service or dw.push)
    return found


async def _subscribe(dw: DeliveryWorld, person_id: uuid.UUID, service: PushService) -> Subscriber:
    from gateway.orm import new_id  # noqa: PLC0415
    from gateway.roster.models import Person  # noqa: PLC0415

    subscriber = service.subscribe(uuid.uuid4().hex[:12])
    async with session_factory(dw.world.engine)() as session, session.begin():
        person = await session.get(Person, person_id)
        assert person is not None
        session.add(
            PushSubscription(
                id=new_id(),
                municipality_id=person.municipality_id,
                person_id=person_id,
                endpoint=subscriber.endpoint,
                p256dh=subscriber.keys["p256dh"],
                auth=subscriber.keys["auth"],
                created_at=utcnow(),
            )
        )
    return subscriber


def _arrived(service: PushService, subscriber: Subscriber) -> list[int]:
    return [item.status for item in service.received if item.path == subscriber.path]


async def test_push_faults_end_in_the_right_state_with_bounded_retries(
    fault_world: DeliveryWorld,
) -> None:
    dw, service = fault_world, fault_world.push
    thread_id = await announce_to_school(dw.world)
    # Subscribe after the 202 and before the worker plans, so push is planned for everyone.
    subscribers = await _subscribe_recipients(dw, thread_id)
    (p429, s429), (p500, s500), (p410, s410), (p404, s404), (pslow, sslow), *healthy = (
        subscribers.items()
    )
    service.answer(s429, 429, retry_after="120")
    service.answer(s500, 500)
    service.answer(s410, 410)
    service.answer(s404, 404)
    service.slow(sslow, 4.5)  # past the 3 s push timeout
    await dw.run_worker()
    rows = {r.person_id: r for r in await dw.deliveries(channel="webpush")}
    assert {rows[p].state for p, _ in healthy} == {"delivered"}
    assert rows[p410].state == rows[p404].state == "rejected"
    assert wait_of(rows[p429]) >= 120  # deferred at least as long as Retry-After said
    assert wait_of(rows[p500]) >= 60
    assert "no answer within 3 s" in (rows[pslow].reason or "")
    for person in (p429, p500, pslow):
        assert (rows[person].state, rows[person].attempts) == ("queued", 1)
    # The push services recover, except the one answering 500, which keeps failing until
    # the give-up time (here: its row is older than BUDSTIKKE_DELIVERY_GIVE_UP_SECONDS).
    service.answer(s429, 201)
    service.slow(sslow, 0)
    async with session_factory(dw.world.engine)() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.id == rows[p500].id)
            .values(
                created_at=rows[p500].created_at
                - dt.timedelta(seconds=dw.settings.delivery_give_up_seconds)
            )
        )
    await time_passes(dw)
    final = {r.person_id: r for r in await dw.deliveries(channel="webpush")}
    assert final[p429].state == final[pslow].state == "delivered"
    assert final[p500].state == "failed" and "gave up" in (final[p500].reason or "")
    assert all(r.state not in OPEN_STATES for r in final.values())
    # What each subscription's push service took: bounded. (The push that timed out was
    # cut off before the service read it; had it been taken, the retry carries the same
    # Topic, so it would replace itself.)
    assert _arrived(service, s429) == [429, 201]
    assert _arrived(service, s500) == [500, 500]
    assert _arrived(service, s410) == [410] and _arrived(service, s404) == [404]
    assert _arrived(service, sslow) == [201]
    assert all(_arrived(service, s) == [201] for _, s in healthy)
    async with session_factory(dw.world.engine)() as session:
        subs = {s.endpoint: s for s in (await session.scalars(select(PushSubscription))).all()}
    assert subs[s410.endpoint].disabled_at is not None
    assert subs[s404.endpoint].disabled_at is not None
    assert subs[s500.endpoint].disabled_at is None  # a 500 is the service's problem
    # Disabled subscriptions get nothing more.
    await announce_to_school(dw.world)
    await dw.run_worker()
    assert _arrived(service, s410) == [410] and _arrived(service, s404) == [404]


async def _two_origins(
    dw: DeliveryWorld, thread_id: str, other: PushService, limit: int = 1000
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Alternate the recipients between the hanging origin (dw.push) and a healthy one."""
    async with session_factory(dw.world.engine)() as session:
        people = sorted(
            (
                await session.scalars(
                    select(Participant.person_id).where(
                        Participant.thread_id == uuid.UUID(thread_id),
                        Participant.role == "recipient",
                    )
                )
            ).all()
        )[:limit]
    hanging, healthy = set(people[::2]), set(people[1::2])
    for person in people:
        await _subscribe(dw, person, dw.push if person in hanging else other)
    return hanging, healthy


async def _healthy_first(
    dw: DeliveryWorld, other: PushService, healthy: set[uuid.UUID], hanging: set[uuid.UUID]
) -> None:
    """Every push to the healthy origin arrives before any answer of the hanging one."""
    dw.push.slow(None, 5)  # hangs past the 3 s push timeout
    worker = asyncio.create_task(dw.run_worker())
    try:

        async def healthy_all_in() -> bool:
            return len(other.received) >= len(healthy)

        done = await eventually(healthy_all_in, 10)
        rows = await dw.deliveries(channel="webpush")
        answered = [r for r in rows if r.person_id in hanging and r.attempts > 0]
        assert done and not answered, f"{len(answered)} hanging pushes answered first"
    finally:
        await worker
    rows = await dw.deliveries(channel="webpush")
    assert {r.state for r in rows if r.person_id in healthy} == {"delivered"}
    assert {r.state for r in rows if r.person_id in hanging} == {"queued"}


@POSTGRES_ONLY
async def test_a_hanging_push_origin_does_not_hold_up_another_in_a_batch(
    fault_world: DeliveryWorld,
) -> None:
    dw = fault_world
    other = PushService()
    await other.start()
    try:
        sent = await dw.world.send_to_class()
        hanging, healthy = await _two_origins(dw, sent["thread_id"], other)
        assert len(hanging) + len(healthy) <= SEND_BATCH  # one batch
        await _healthy_first(dw, other, healthy, hanging)
    finally:
        await other.stop()


@pytest.mark.slow
@POSTGRES_ONLY
async def test_a_hanging_push_origin_does_not_hold_up_another_across_batches(
    big_world: DeliveryWorld,
) -> None:
    dw = big_world
    other = PushService()
    await other.start()
    try:
        sent = await _everyone(dw.world)
        hanging, healthy = await _two_origins(dw, sent["thread_id"], other, limit=160)
        assert len(hanging) + len(healthy) > SEND_BATCH  # more than one batch
        await _healthy_first(dw, other, healthy, hanging)
    finally:
        await other.stop()


async def _school_of_teacher_class(world: World) -> str:
    from gateway.roster.models import Group  # noqa: PLC0415

    async with session_factory(world.engine)() as session:
        group = await session.scalar(
            select(Group).where(Group.source_id == world.summary.teacher_class)
        )
    assert group is not None
    return str(group.institution_id)


# --- Redis flushed; a worker killed in the middle of fan-out ------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis server only this test uses, so it may FLUSHALL it."""
    port = _free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "worker"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(worker: subprocess.Popen[bytes], how: signal.Signals = signal.SIGTERM) -> None:
    if worker.poll() is None:
        worker.send_signal(how)
        worker.wait(30)


async def _all_final(dw_engine: AsyncEngine, seconds: float) -> list[Delivery]:
    async def final() -> bool:
        async with session_factory(dw_engine)() as session:
            open_rows = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.state.in_(OPEN_STATES))
            )
            outbox_open = await session.scalar(
                select(func.count()).select_from(OutboxItem).where(OutboxItem.done_at.is_(None))
            )
        return open_rows == 0 and outbox_open == 0

    assert await eventually(final, seconds), "every delivery to reach a final state"
    async with session_factory(dw_engine)() as session:
        return list((await session.scalars(select(Delivery))).all())


@pytest.mark.slow
@POSTGRES_ONLY
async def test_redis_flushed_before_and_during_the_run_loses_nothing(
    tmp_path: Path,
    database_url: str,
    private_redis: str,
    make_settings: Any,
    engine: AsyncEngine,
    faulty_smtp: FaultySmtp,  # noqa: F811
    push: PushService,  # noqa: F811 - the fixture imported above
) -> None:
    async for dw in build_delivery_world(
        tmp_path,
        database_url,
        private_redis,
        make_settings,
        engine,
        _as_server(faulty_smtp),
        push,
        outbox_sweep_after_seconds="1",
        delivery_lease_seconds="10",
        smtp_pool_size="1",
    ):
        smtp = faulty_smtp
        smtp.handler.data_delay = 0.05  # slow enough to flush while mail is going out
        threads = [
            (await dw.world.send_to_class(subject=f"Besked {n}"))["thread_id"] for n in range(3)
        ]
        redis = Redis.from_url(private_redis)
        try:
            assert await redis.zcard(dw.settings.queue_name) == 3  # the fan-out jobs
            await redis.flushall()  # before any worker ran: only the sweeper can recover
            worker = _worker({**dw.env, "BUDSTIKKE_REDIS_URL": private_redis})
            try:

                async def sending() -> bool:
                    return len(faulty_smtp.received) >= 5

                assert await eventually(sending, 60), "the sweeper re-enqueued the fan-outs"
                await redis.flushall()  # while deliver jobs run and wait
                rows = await _all_final(dw.world.engine, 60)
            finally:
                _stop(worker)
        finally:
            await redis.aclose()
        assert {r.state for r in rows} == {"sent"}
        per_mail = collections.Counter(str(m.parsed()["Message-ID"]) for m in smtp.received)
        assert len(per_mail) == len(rows)  # every delivery's mail arrived: nothing lost
        assert max(per_mail.values()) == 1  # no worker died, leases outlast a batch
        for thread_id in threads:
            entries = await inbox_entries(dw.world.engine, thread_id)
            assert entries and set(entries.values()) == {1}


# The big announcement: ~1,400 people of one school (a leader reaches only their own).
BIG_CHILDREN = 2400


@pytest.fixture
async def big_world(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    make_settings: Any,
    engine: AsyncEngine,
    faulty_smtp: FaultySmtp,  # noqa: F811
    push: PushService,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[DeliveryWorld]:
    folder = tmp_path / "demo"
    summary = write_demo_data(folder, children=BIG_CHILDREN, seed=5)
    await import_oneroster(
        engine,
        folder,
        municipality_code=None,
        dry_run=False,
        max_file_bytes=1 << 30,
        default_time_zone="Europe/Copenhagen",
    )
    env = channel_env(faulty_smtp, **ENV, delivery_lease_seconds="5")  # type: ignore[arg-type]
    settings = make_settings(demo="true", database_url=database_url, redis_url=redis_url, **env)
    environ = {f"BUDSTIKKE_{key.upper()}": value for key, value in env.items()}
    environ.update(
        BUDSTIKKE_DATA_DIR=str(settings.data_dir),
        BUDSTIKKE_DEMO="true",
        BUDSTIKKE_DATABASE_URL=database_url,
        BUDSTIKKE_REDIS_URL=redis_url,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        world = World(client, settings, engine, summary, summary.municipality_code)
        yield DeliveryWorld(world, faulty_smtp, push, environ)  # type: ignore[arg-type]


async def _everyone(world: World) -> dict[str, Any]:
    """The leader's announcement to their whole school: guardians, pupils and staff."""
    body = {
        "subject": "Skolen informerer",
        "body": "Nye regler for skolebus.",
        "urgent": True,  # past quiet hours, so every notification is due at once
        "audience": {
            "targets": [
                {
                    "type": "institution",
                    "institution": await _school_of_teacher_class(world),
                    "roles": ["guardians", "children", "staff"],
                }
            ]
        },
    }
    response = await world.post("/v1/announcements", world.summary.leader, body)
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.slow
@POSTGRES_ONLY
async def test_a_worker_killed_while_planning_a_fan_out_loses_nothing(
    big_world: DeliveryWorld,
) -> None:
    dw = big_world
    engine = dw.world.engine
    sent = await _everyone(dw.world)
    entries = await inbox_entries(engine, sent["thread_id"])
    assert len(entries) >= 1300 and set(entries.values()) == {1}  # written at accept time
    async with session_factory(engine)() as session:
        outbox_id = await session.scalar(
            select(OutboxItem.id).where(OutboxItem.item_id == uuid.UUID(sent["message_id"]))
        )
    assert outbox_id is not None
    # Hold the outbox row: fan_out reads, plans and writes every delivery, then blocks on
    # marking the row done — the worker is in the middle of the fan-out, not yet committed.
    lock = await engine.connect()
    transaction = await lock.begin()
    await lock.execute(text("SELECT 1 FROM outbox WHERE id = :id FOR UPDATE"), {"id": outbox_id})
    first = _worker(dw.env)
    try:

        async def planning_blocked() -> bool:
            async with session_factory(engine)() as session:
                waiting = await session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database() AND query ILIKE 'UPDATE outbox%'"
                    )
                )
            return bool(waiting)

        assert await eventually(planning_blocked, 60), "fan_out reached the end of planning"
    finally:
        _stop(first, signal.SIGKILL)
    await transaction.rollback()
    await lock.close()
    assert await dw.count(Delivery) == 0  # the killed plan left nothing half-written
    # arq keeps a killed job's id locked for job_timeout + 10 s (610 s). This test plans
    # again under that first id, so let its lock run out here; the sweeper's own fresh
    # ids per round are the test below.
    redis = Redis.from_url(dw.settings.redis_url)
    try:
        await redis.delete(f"arq:in-progress:{fan_out_job_id(outbox_id)}")
    finally:
        await redis.aclose()
    second = _worker(dw.env)
    try:
        rows = await _all_final(engine, 90)
    finally:
        _stop(second)
    per_key = collections.Counter((r.person_id, r.channel, r.kind) for r in rows)
    assert set(per_key.values()) == {1}  # one delivery per recipient × channel
    assert {r.person_id for r in rows} <= set(entries)
    assert {r.state for r in rows} <= {"sent", "skipped"}
    sent_rows = [r for r in rows if r.state == "sent"]
    assert len(sent_rows) >= 1000
    copies = collections.Counter(str(m.parsed()["Message-ID"]) for m in dw.smtp.received)
    assert len(copies) == len(sent_rows) and max(copies.values()) == 1
    assert await inbox_entries(engine, sent["thread_id"]) == entries


@POSTGRES_ONLY
async def test_a_killed_fan_out_is_planned_again_by_the_sweeper(
    fault_world: DeliveryWorld,
) -> None:
    dw = fault_world
    engine = dw.world.engine
    sent = await dw.world.send_to_class()
    async with session_factory(engine)() as session:
        outbox_id = await session.scalar(select(OutboxItem.id))
    assert outbox_id is not None
    redis = Redis.from_url(dw.settings.redis_url)
    try:
        # What a worker killed inside fan_out leaves in Redis: the job, and its
        # in-progress mark with arq's expiry (the largest function timeout + 10 s).
        job_id = fan_out_job_id(outbox_id)
        await redis.psetex(f"arq:in-progress:{job_id}", 610_000, b"1")
        queue = Queue(redis, dw.settings.queue_name)
        later = utcnow() + dt.timedelta(seconds=dw.settings.outbox_sweep_after_seconds + 1)
        assert await dispatch.sweep_outbox(session_factory(engine), dw.settings, queue, later)
        worker = asyncio.create_task(dw.run_worker())
        try:

            async def planned() -> bool:
                return await dw.count(Delivery) > 0

            assert await eventually(planned, 8), "the swept fan_out ran"
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await redis.delete(f"arq:in-progress:{job_id}")
    finally:
        await redis.aclose()
    assert sent
