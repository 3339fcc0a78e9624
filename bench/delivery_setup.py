"""What the push and email benchmarks share: a roster, planned deliveries, real worker processes.

The measured path is the product's own: announcements are posted with
``announcements.create`` and planned with ``fan_out`` (not timed; with no queue, so the
chunks are only reserved), then the chunks are enqueued on Redis for ``budstikke
worker`` processes, which claim, load, decide, render, send and record exactly as in
production. A round ends when no planned delivery still waits for its first try (a
row the channel answered Retry is counted as ``retrying``: the benchmark reports it as
a problem rather than waiting out the back-off); its time runs from the first enqueue
to the last row's ``updated_at``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from harness import import_demo
from redis.asyncio import Redis
from sqlalchemy import func, select, text, update

from gateway.audience.schemas import Audience, InstitutionAudience, Roles
from gateway.config import load_settings
from gateway.db import create_engine, session_factory
from gateway.delivery.fanout import fan_out
from gateway.delivery.models import Delivery, DeliveryState
from gateway.delivery.queue import Queue
from gateway.messaging import announcements
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.models import OutboxItem
from gateway.messaging.schemas import AnnouncementCreate
from gateway.roster.demo import write_demo_data
from gateway.roster.models import Affiliation, Person

ZONE = ZoneInfo("Europe/Copenhagen")
#: The body of every benchmark announcement: a realistic few lines with some Markdown.
BODY = (
    "Kære forældre\n\nPå **fredag** holder vi juleafslutning i salen kl. 10. Børnene må "
    "gerne tage nissehue på, og der er æbleskiver til alle. Husk at hente jeres barn "
    "senest kl. 12, da SFO holder lukket om eftermiddagen.\n\nVenlig hilsen skolen"
)


@dataclass(frozen=True)
class School:
    """The sender (the school's leader) and the school whose guardians receive."""

    actor: Actor
    institution_id: uuid.UUID


def environ(work: Path, database_url: str, redis: str, **channel: str) -> dict[str, str]:
    """``BUDSTIKKE_*`` settings for one channel, with no clock-bound waiting.

    Only the channel the benchmark measures is configured, so only its deliveries are
    planned. Quiet hours are a minute half a day away; staff work around the clock.
    """
    quiet = dt.datetime.now(ZONE) + dt.timedelta(hours=12)
    found = {
        "BUDSTIKKE_DATA_DIR": str(work / "data"),
        "BUDSTIKKE_DATABASE_URL": database_url,
        "BUDSTIKKE_REDIS_URL": redis,
        "BUDSTIKKE_QUEUE_NAME": f"bench:{uuid.uuid4().hex[:8]}",
        "BUDSTIKKE_QUIET_HOURS": f"{quiet:%H:%M}-{quiet + dt.timedelta(minutes=1):%H:%M}",
        "BUDSTIKKE_WORKING_HOURS": "mon-sun 00:00-23:59",
        "BUDSTIKKE_PUBLIC_URL": "https://besked.example.dk",
        "BUDSTIKKE_LOG_LEVEL": "warning",
    }
    found.update({f"BUDSTIKKE_{name.upper()}": value for name, value in channel.items()})
    return found


async def import_school(database_url: str, folder: Path, children: int) -> School:
    """Write and import the demo municipality (not timed); its first leader's school."""
    summary = write_demo_data(folder, children=children, seed=1)
    engine = create_engine(database_url)
    try:
        await import_demo(engine, folder)
        async with session_factory(engine)() as session:
            person = (
                await session.scalars(select(Person).where(Person.source_id == summary.leader))
            ).one()
            institution = await session.scalar(
                select(Affiliation.institution_id).where(
                    Affiliation.person_id == person.id, Affiliation.role == "principal"
                )
            )
    finally:
        await engine.dispose()
    assert institution is not None
    actor = Actor(
        person_id=person.id,
        municipality_id=person.municipality_id,
        kind=person.kind,
        acr="substantial",
        principal=f"bench:{person.id}",
    )
    return School(actor, institution)


async def post_and_plan(
    env: dict[str, str], school: School, count: int
) -> tuple[list[uuid.UUID], list[tuple[str, list[uuid.UUID], str]]]:
    """Post ``count`` announcements to the school's guardians and plan them (not timed).

    Returns the message ids and the chunks ``fan_out`` reserved: (channel, ids, job id).
    """
    settings = load_settings(env)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    audience = Audience(
        targets=[InstitutionAudience(institution=school.institution_id, roles=[Roles.GUARDIANS])]
    )
    messages: list[uuid.UUID] = []
    try:
        for number in range(count):
            data = AnnouncementCreate(
                subject=f"Juleafslutning fredag ({number + 1})", body=BODY, audience=audience
            )
            async with sessions() as session:
                accepted = await announcements.create(
                    session, school.actor, data, settings=settings, events=Events(None)
                )
            messages.append(accepted.message_id)
        async with sessions() as session:
            outbox = list(
                await session.scalars(select(OutboxItem.id).where(OutboxItem.item_id.in_(messages)))
            )
        for outbox_id in outbox:
            await fan_out(sessions, settings, Queue(None, settings.queue_name), outbox_id)
        async with sessions() as session:
            rows = await session.execute(
                select(Delivery.channel, Delivery.claimed_by, Delivery.id)
                .where(
                    Delivery.message_id.in_(messages),
                    Delivery.state == DeliveryState.QUEUED.value,
                )
                .order_by(Delivery.claimed_by, Delivery.id)
            )
            chunks: dict[str, tuple[str, list[uuid.UUID]]] = {}
            for channel, job_id, delivery_id in rows:
                chunks.setdefault(job_id, (channel, []))[1].append(delivery_id)
    finally:
        await engine.dispose()
    return messages, [(channel, ids, job) for job, (channel, ids) in chunks.items()]


async def retire(env: dict[str, str], messages: list[uuid.UUID]) -> None:
    """Close these messages' rows unsent, so no dispatcher hands them out later."""
    engine = create_engine(env["BUDSTIKKE_DATABASE_URL"])
    try:
        async with session_factory(engine)() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(Delivery.message_id.in_(messages))
                .values(state=DeliveryState.SUPERSEDED.value, claimed_by=None, claimed_until=None)
            )
    finally:
        await engine.dispose()


def announcements_for(deliveries: int, recipients: int) -> int:
    """How many announcements to the school give at least ``deliveries`` deliveries."""
    return max(1, math.ceil(deliveries / max(recipients, 1)))


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux ``/proc``; 0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text("ascii").rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _backends(session: Any) -> list[int]:
    """The PostgreSQL server processes serving this database (the workers' connections)."""
    rows = await session.execute(
        text(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    return [int(pid) for (pid,) in rows]


async def run_round(
    env: dict[str, str],
    chunks: list[tuple[str, list[uuid.UUID], str]],
    messages: list[uuid.UUID],
    limit_s: float = 300.0,
    pids: tuple[int, ...] = (),
) -> dict[str, Any]:
    """Enqueue the chunks for the running workers; wait until no row waits for a first try.

    Returns the seconds from the first enqueue to the last row's update, the rows'
    states, and the CPU seconds the ``pids`` (the workers) and the database server
    processes serving them used meanwhile — the figure the machine's load disturbs least.
    """
    settings = load_settings(env)
    redis = Redis.from_url(env["BUDSTIKKE_REDIS_URL"])
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    queue = Queue(redis, settings.queue_name)
    try:
        async with sessions() as session:
            before = {pid: cpu_seconds(pid) for pid in await _backends(session)}
        workers_before = sum(cpu_seconds(pid) for pid in pids)
        started_wall = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        for channel, ids, job_id in chunks:
            await queue.deliver(channel, ids, job_id)
        while True:
            async with sessions() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(
                        Delivery.message_id.in_(messages),
                        Delivery.state == DeliveryState.QUEUED.value,
                        # A row the channel answered Retry waits a minute or more: it
                        # is a finding (reported in the states), not something to wait for.
                        Delivery.attempts == 0,
                    )
                )
            if not waiting:
                break
            if time.perf_counter() - started > limit_s:
                raise SystemExit(f"{waiting} deliveries still queued after {limit_s:.0f} s")
            await asyncio.sleep(0.02)
        workers_cpu = sum(cpu_seconds(pid) for pid in pids) - workers_before
        async with sessions() as session:
            after = await _backends(session)
            database_cpu = sum(cpu_seconds(pid) - before.get(pid, 0.0) for pid in after)
            last = await session.scalar(
                select(func.max(Delivery.updated_at)).where(Delivery.message_id.in_(messages))
            )
            states = dict(
                (
                    await session.execute(
                        select(Delivery.state, func.count())
                        .where(Delivery.message_id.in_(messages))
                        .group_by(Delivery.state)
                    )
                ).all()
            )
            if "queued" in states:
                states["retrying"] = states.pop("queued")
    finally:
        await engine.dispose()
        await redis.aclose()
    assert last is not None
    return {
        "seconds": (last - started_wall).total_seconds(),
        "states": states,
        "workers_cpu_s": workers_cpu,
        "database_cpu_s": database_cpu,
    }


@contextlib.contextmanager
def workers(env: dict[str, str], count: int, work: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` ``budstikke worker`` processes on the benchmark's queue, stopped afterwards."""
    command = Path(sys.executable).parent / "budstikke"
    if not command.exists():
        raise SystemExit(f"{command} is missing: install the project (pip install -e .)")
    # Only the benchmark's own settings: the worker refuses BUDSTIKKE_* names it does not know.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("BUDSTIKKE_")}
    started: list[subprocess.Popen[bytes]] = []
    try:
        for number in range(count):
            log = (work / f"worker-{number}.log").open("wb")
            started.append(
                subprocess.Popen(  # noqa: S603 - our own entry point
                    [str(command), "worker"],
                    env={**inherited, **env},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def worker_failures(work: Path, count: int) -> str:
    """The tail of the workers' logs, for a round that failed."""
    tails = []
    for number in range(count):
        path = work / f"worker-{number}.log"
        if path.exists():
            tails.append(path.read_text("utf-8", "replace")[-2000:])
    return "\n".join(tails)
