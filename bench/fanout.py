#!/usr/bin/env python3
"""Fan-out benchmark: one announcement to N recipients, accepted and planned, against raw COPY.

    .venv/bin/python bench/fanout.py [--recipients 10000] [--engine sqlite|postgresql]
                                     [--push-share 0.5]

It writes the demo municipality, adds one group at the leader's school with as many
children as it takes for their custodial guardians to reach ``--recipients``, imports it
(not timed) and gives ``--push-share`` of the guardians a push subscription. Then the
school's leader (``principal``: a broadcast role, so the recipient limit does not apply)
posts one announcement to the group's guardians. (Why a group: an audience names at
most 20 targets, a demo school has some 1,200 custodial guardians, and the district
admin's role names no institution, so nobody in the plain demo reaches 100,000.) On the
same machine in the same run it measures:

- *accept*: ``announcements.create`` until it commits (the 202 moment: every inbox entry
  is written), against the driver alone writing the same rows (asyncpg ``COPY`` into
  ``CREATE TABLE … (LIKE thread_participants INCLUDING DEFAULTS)``; SQLite one
  ``executemany`` into a table of the same columns);
- *plan*: ``fan_out`` of its outbox row (deliveries planned and committed; nothing is
  enqueued) in a worker process, against the same raw write of the delivery rows;
- *end to end*: the two together, against the two raw writes;
- the worker's peak RSS during ``fan_out``, over its RSS just before.

Email and web push are configured (nothing is sent); quiet and working hours are set
away from the clock, so only escalation emails (the push holders') wait. It prints one
line per figure with the ratio to its baseline and writes ``bench/results/fanout_<engine>.json``.
PostgreSQL comes from ``BUDSTIKKE_TEST_POSTGRES_URL`` or an embedded ``pgserver``; the
run creates its own database and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import math
import multiprocessing
import os
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from harness import (
    Result,
    bench_workdir,
    connect,
    drop_postgres,
    fresh_postgres,
    import_demo,
    postgres_admin_url,
)
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from channels.vapid import generate_key_pair
from gateway import migrate
from gateway.audience.schemas import Audience, GroupAudience, Roles
from gateway.config import load_settings
from gateway.db import bulk_insert, create_engine, session_factory
from gateway.delivery.fanout import fan_out
from gateway.delivery.models import Delivery, PushSubscription
from gateway.delivery.queue import Queue
from gateway.logging import configure_logging
from gateway.messaging import announcements
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.models import OutboxItem
from gateway.messaging.schemas import AnnouncementCreate
from gateway.orm import new_id, utcnow
from gateway.roster.demo import write_demo_data
from gateway.roster.models import Group, Person, PersonKind

DATABASE = "budstikke_bench_fanout"
GROUP = "bench-everyone"
# Custodial guardians per demo child, a little low so that the demo has enough of them.
GUARDIANS_PER_CHILD = 1.0
MIB = 1024 * 1024


def _custodial(custody: str, child: str) -> bool:
    # ``metadata.dk.custody``: true, false, or the children the guardian has custody of.
    return custody == "true" or child in custody.split(",")


def _add_group(folder: Path, leader: str, recipients: int) -> int:
    """Add a group of children whose custodial guardians reach ``recipients`` to the set.

    The group belongs to the school ``leader`` is principal of; returns how many
    children it holds.
    """
    with (folder / "users.csv").open(encoding="utf-8", newline="") as file:
        users = list(csv.DictReader(file))
    custody = {u["sourcedId"]: u["metadata.dk.custody"] for u in users}
    with (folder / "roles.csv").open(encoding="utf-8", newline="") as file:
        school = next(
            r["orgSourcedId"]
            for r in csv.DictReader(file)
            if r["userSourcedId"] == leader and r["role"] == "principal"
        )
    guardians: set[str] = set()
    children: list[str] = []
    for user in users:
        if len(guardians) >= recipients:
            break
        if not user["sourcedId"].startswith("child-"):
            continue
        child = user["sourcedId"]
        agents = [a for a in user["agentSourcedIds"].split(",") if a]
        guardians.update(a for a in agents if _custodial(custody.get(a, ""), child))
        children.append(child)
    if len(guardians) < recipients:
        raise SystemExit(f"the demo has only {len(guardians):,} custodial guardians")
    stamp = "2026-08-01T06:00:00Z"
    _append(
        folder / "classes.csv",
        [
            {
                "sourcedId": GROUP,
                "status": "active",
                "dateLastModified": stamp,
                "title": "Alle børn",
                "classType": "scheduled",
                "schoolSourcedId": school,
                "termSourcedIds": "schoolyear-2026",
                "metadata.dk.kind": "custom",
            }
        ],
    )
    _append(
        folder / "enrollments.csv",
        [
            {
                "sourcedId": f"{GROUP}-{child}",
                "status": "active",
                "dateLastModified": stamp,
                "classSourcedId": GROUP,
                "schoolSourcedId": school,
                "userSourcedId": child,
                "role": "student",
                "primary": "false",
            }
            for child in children
        ],
    )
    return len(children)


def _append(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open(encoding="utf-8", newline="") as file:
        header = next(csv.reader(file))
    with path.open("a", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, header, lineterminator="\r\n")
        writer.writerows(rows)


def _environ(work: Path, database_url: str) -> dict[str, str]:
    """Settings with both channels configured and no clock-bound waiting."""
    zone = ZoneInfo("Europe/Copenhagen")
    quiet = dt.datetime.now(zone) + dt.timedelta(hours=12)
    return {
        "BUDSTIKKE_DATA_DIR": str(work / "data"),
        "BUDSTIKKE_DATABASE_URL": database_url,
        "BUDSTIKKE_SMTP_HOST": "127.0.0.1",
        "BUDSTIKKE_SMTP_FROM": "Budstikke <no-reply@example.dk>",
        "BUDSTIKKE_VAPID_PRIVATE_KEY": generate_key_pair().private_b64,
        "BUDSTIKKE_VAPID_SUBJECT": "mailto:drift@example.dk",
        # One minute of quiet half a day away; staff work around the clock.
        "BUDSTIKKE_QUIET_HOURS": f"{quiet:%H:%M}-{quiet + dt.timedelta(minutes=1):%H:%M}",
        "BUDSTIKKE_WORKING_HOURS": "mon-sun 00:00-23:59",
        # The figures are the output; the gateway's info lines (one per fan-out) are not.
        "BUDSTIKKE_LOG_LEVEL": "warning",
    }


async def _prepare(
    database_url: str,
    folder: Path,
    *,
    leader: str,
    group: str,
    warm_group: str,
    push_share: float,
) -> tuple[Actor, uuid.UUID, uuid.UUID, int]:
    """Import the roster and add push subscriptions (not timed); the sender and groups."""
    engine = create_engine(database_url)
    try:
        await import_demo(engine, folder)
        async with session_factory(engine)() as session, session.begin():
            person = (await session.scalars(select(Person).where(Person.source_id == leader))).one()
            groups = await session.execute(
                select(Group.source_id, Group.id).where(Group.source_id.in_([group, warm_group]))
            )
            ids = {source_id: group_id for source_id, group_id in groups}
            guardians = list(
                await session.scalars(
                    select(Person.id)
                    .where(Person.kind == PersonKind.GUARDIAN.value)
                    .order_by(Person.source_id)
                )
            )
            rng = random.Random(1)  # noqa: S311 - a reproducible sample, not a secret
            chosen = [g for g in guardians if rng.random() < push_share]
            now = utcnow()
            await bulk_insert(
                session,
                PushSubscription.__table__,  # type: ignore[arg-type]
                [
                    {
                        "id": new_id(),
                        "municipality_id": person.municipality_id,
                        "person_id": g,
                        "endpoint": f"https://push.example.net/bench/{g}",
                        "p256dh": "B" + "A" * 86,
                        "auth": "A" * 22,
                        "created_at": now,
                    }
                    for g in chosen
                ],
            )
        # A running database has its statistics; a just-loaded one would plan blind.
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    finally:
        await engine.dispose()
    actor = Actor(
        person_id=person.id,
        municipality_id=person.municipality_id,
        kind=person.kind,
        acr="substantial",
        principal=f"bench:{person.id}",
    )
    return actor, ids[group], ids[warm_group], len(chosen)


def _announcement(group_id: uuid.UUID) -> AnnouncementCreate:
    audience = Audience(targets=[GroupAudience(group=group_id, roles=[Roles.GUARDIANS])])
    return AnnouncementCreate(
        subject="Juleafslutning fredag", body="Vi ses i **salen** kl. 10.", audience=audience
    )


async def _accept(
    environ: dict[str, str], actor: Actor, warm_group: uuid.UUID, group: uuid.UUID
) -> dict[str, Any]:
    """Post a warm-up announcement, then the measured one; seconds until it committed."""
    settings = load_settings(environ)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    events = Events(None)
    try:
        found: dict[str, Any] = {}
        for name, target in (("warm", warm_group), ("main", group)):
            with _profiled(f"accept_{name}"):
                session = sessions()
                started = time.perf_counter()
                accepted = await announcements.create(
                    session, actor, _announcement(target), settings=settings, events=events
                )
                found[f"{name}_s"] = time.perf_counter() - started
                await session.close()
            async with sessions() as session:
                found[f"{name}_outbox"] = await session.scalar(
                    select(OutboxItem.id).where(OutboxItem.item_id == accepted.message_id)
                )
        found.update(
            recipients=accepted.recipients,
            thread_id=accepted.thread_id,
            message_id=accepted.message_id,
        )
        return found
    finally:
        await engine.dispose()


@contextlib.contextmanager
def _profiled(name: str) -> Iterator[None]:
    """With ``BUDSTIKKE_BENCH_PROFILE=<folder>``, a pyinstrument profile of the block."""
    folder = os.environ.get("BUDSTIKKE_BENCH_PROFILE")
    if not folder:
        yield
        return
    from pyinstrument import Profiler  # noqa: PLC0415 - a tool, not a dependency

    profiler = Profiler(async_mode="enabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        Path(folder).mkdir(parents=True, exist_ok=True)
        text = profiler.output_text(unicode=True, show_all=False)
        (Path(folder) / f"fanout_{name}.txt").write_text(text, encoding="utf-8")


def _memory() -> tuple[int, int]:
    """This process's resident set now and its peak, in bytes (Linux: /proc/self/status).

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux keeps that across fork and exec, so
    a spawned worker starts with its parent's peak (the parent here holds the roster
    import) and the figure says nothing about the worker. ``VmHWM`` is this process's own.
    """
    found = {}
    with open("/proc/self/status", encoding="ascii") as file:
        for line in file:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0]) * 1024
    return found["VmRSS"], found["VmHWM"]


def _reset_peak() -> None:
    """Start ``VmHWM`` again from the current RSS (Linux 4.0+), so the peak is fan-out's."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as file:
        file.write("5")


async def _plan(environ: dict[str, str], warm: uuid.UUID, main: uuid.UUID) -> dict[str, Any]:
    settings = load_settings(environ)
    configure_logging(settings)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    queue = Queue(None, settings.queue_name)
    try:
        await fan_out(sessions, settings, queue, warm)  # a worker that has done a job
        _reset_peak()
        before, _ = _memory()
        with _profiled("plan"):
            started = time.perf_counter()
            result = await fan_out(sessions, settings, queue, main)
            seconds = time.perf_counter() - started
        _, peak = _memory()
    finally:
        await engine.dispose()
    return {
        "plan_s": seconds,
        "planned": result.planned,
        "queued": result.queued,
        "chunks": result.chunks,
        "rss_before_bytes": before,
        "rss_peak_bytes": peak,
    }


def _worker(environ: dict[str, str], warm: uuid.UUID, main: uuid.UUID, out: Connection) -> None:
    """The fan-out in its own process, as a delivery worker runs it."""
    out.send(asyncio.run(_plan(environ, warm, main)))
    out.close()


def _plan_in_worker(environ: dict[str, str], warm: uuid.UUID, main: uuid.UUID) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_worker, args=(environ, warm, main, send))
    process.start()
    send.close()
    found: dict[str, Any] = receive.recv()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"the fan-out worker failed (exit {process.exitcode})")
    return found


async def _states(database_url: str, message_id: uuid.UUID) -> dict[str, int]:
    """Planned deliveries by ``channel/kind/state``."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                select(Delivery.channel, Delivery.kind, Delivery.state, func.count())
                .where(Delivery.message_id == message_id)
                .group_by(Delivery.channel, Delivery.kind, Delivery.state)
            )
            return {f"{c}/{k}/{s}": n for c, k, s, n in rows}
    finally:
        await engine.dispose()


async def _raw_write(
    database_url: str, table: str, column: str, value: uuid.UUID
) -> tuple[int, float]:
    """Rows, and seconds for the driver alone to write again the rows ``table`` holds for ``value``.

    The rows are read back first (not timed) and written into a scratch table of the
    same columns and defaults, without indexes, constraints or foreign keys.
    """
    scratch = f"scratch_{table}"
    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        assert path is not None
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA synchronous=NORMAL")  # as the engine's connections
        conn.execute(f"CREATE TABLE {scratch} AS SELECT * FROM {table} WHERE 0")  # noqa: S608
        rows = conn.execute(f"SELECT * FROM {table} WHERE {column} = ?", (value.hex,)).fetchall()  # noqa: S608
        marks = ", ".join("?" for _ in rows[0])
        started = time.perf_counter()
        conn.executemany(f"INSERT INTO {scratch} VALUES ({marks})", rows)  # noqa: S608
        conn.commit()
        seconds = time.perf_counter() - started
        conn.close()
        return len(rows), seconds
    pg = await connect(database_url)
    await pg.execute(f"CREATE TABLE {scratch} (LIKE {table} INCLUDING DEFAULTS)")
    fetched = await pg.fetch(f"SELECT * FROM {table} WHERE {column} = $1", value)  # noqa: S608
    records = [tuple(r) for r in fetched]
    started = time.perf_counter()
    await pg.copy_records_to_table(scratch, records=records)
    seconds = time.perf_counter() - started
    await pg.close()
    return len(records), seconds


def _run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Set up (not timed), measure, and return the figures."""
    folder = work / "demo"
    children = max(100, math.ceil(args.recipients / GUARDIANS_PER_CHILD))
    summary = write_demo_data(folder, children=children, seed=1)
    group_children = _add_group(folder, summary.leader, args.recipients)
    server = admin = None
    if args.engine == "sqlite":
        database_url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
    else:
        admin, server = postgres_admin_url(work)
        database_url = asyncio.run(fresh_postgres(admin, DATABASE))
    try:
        environ = _environ(work, database_url)
        configure_logging(load_settings(environ))
        migrate.upgrade(database_url)
        actor, group_id, warm_id, pushed = asyncio.run(
            _prepare(
                database_url,
                folder,
                leader=summary.leader,
                group=GROUP,
                warm_group=summary.teacher_class,
                push_share=args.push_share,
            )
        )
        accepted = asyncio.run(_accept(environ, actor, warm_id, group_id))
        planned = _plan_in_worker(environ, accepted["warm_outbox"], accepted["main_outbox"])
        states = asyncio.run(_states(database_url, accepted["message_id"]))
        inbox_rows, raw_inbox = asyncio.run(
            _raw_write(database_url, "thread_participants", "thread_id", accepted["thread_id"])
        )
        delivery_rows, raw_plan = asyncio.run(
            _raw_write(database_url, "deliveries", "message_id", accepted["message_id"])
        )
    finally:
        if admin is not None and not args.keep_database:
            asyncio.run(drop_postgres(admin, DATABASE))
        if server is not None:
            server.cleanup()
    # The baselines wrote what the pipeline wrote: every recipient's entry and the sender's.
    assert inbox_rows == accepted["recipients"] + 1, (inbox_rows, accepted["recipients"])
    assert delivery_rows == planned["planned"], (delivery_rows, planned["planned"])
    return {
        "recipients_asked": args.recipients,
        "workers": 1,
        "engine": args.engine,
        "children": summary.children,
        "group_children": group_children,
        "push_share": args.push_share,
        "push_subscriptions": pushed,
        "recipients": accepted["recipients"],
        "inbox_rows": inbox_rows,
        "deliveries": planned["planned"],
        "deliveries_by_channel_kind_state": states,
        "queued": planned["queued"],
        "chunks": planned["chunks"],
        "raw_inbox_write_s": raw_inbox,
        "accept_s": accepted["main_s"],
        "warm_up_accept_s": accepted["warm_s"],
        "raw_delivery_write_s": raw_plan,
        "plan_s": planned["plan_s"],
        "end_to_end_s": accepted["main_s"] + planned["plan_s"],
        "worker_rss_before_bytes": planned["rss_before_bytes"],
        "worker_rss_peak_bytes": planned["rss_peak_bytes"],
    }


def _report(f: dict[str, Any]) -> Result:
    """One line per figure: the rate, its ratio to the baseline, the absolute numbers."""
    raw = "raw COPY" if f["engine"] == "postgresql" else "raw executemany"
    rows, deliveries, recipients = f["inbox_rows"], f["deliveries"], f["recipients"]
    accept, plan, both = f["accept_s"], f["plan_s"], f["end_to_end_s"]
    raw_inbox, raw_plan = f["raw_inbox_write_s"], f["raw_delivery_write_s"]
    states = f["deliveries_by_channel_kind_state"]
    waiting = {key.split("/")[1]: n for key, n in states.items() if key.endswith("/deferred")}
    deferred = ", ".join(f"{kind} {n:,}" for kind, n in sorted(waiting.items())) or "none"
    before, peak = f["worker_rss_before_bytes"], f["worker_rss_peak_bytes"]
    result = Result(
        "fanout",
        size={
            "recipients": recipients,
            "push subscriptions": f["push_subscriptions"],
            "workers": f["workers"],
        },
        details=f,
    )
    # The target: 100 k in the inbox within 1 s, or at least 15 % of raw COPY.
    result.figure(
        "accept (202, every inbox entry committed)",
        value=rows / accept,
        unit="inbox rows/s",
        baseline=rows / raw_inbox,
        baseline_name=raw,
        target=0.15,
        note=f"{accept:.2f} s",
    )
    result.figure(
        "plan (every delivery planned)",
        value=deliveries / plan,
        unit="deliveries/s",
        baseline=deliveries / raw_plan,
        baseline_name=raw,
        note=f"{plan:.2f} s; {deliveries:,} planned, {f['queued']:,} queued, deferred: {deferred}",
    )
    result.figure(
        "end to end",
        value=recipients / both,
        unit="recipients/s",
        baseline=recipients / (raw_inbox + raw_plan),
        baseline_name=raw,
        note=f"{both:.2f} s",
    )
    result.absolute(
        "worker RSS growth during fan_out",
        value=(peak - before) / MIB,
        unit="MiB",
        limit=1024,
        note=f"over {before / MIB:,.1f} MiB before (peak {peak / MIB:,.1f} MiB), "
        f"{(peak - before) / max(deliveries, 1):,.0f} bytes per delivery",
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--push-share", type=float, default=0.5)
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help=f"leave PostgreSQL's {DATABASE} in place afterwards (to EXPLAIN its queries)",
    )
    args = parser.parse_args()
    with bench_workdir() as work:
        figures = _run(args, work)
    _report(figures).write(f"_{args.engine}_{args.recipients}")


if __name__ == "__main__":
    main()
