#!/usr/bin/env python3
"""Fan-out over worker processes: do two ``budstikke worker`` processes beat one?

    .venv/bin/python bench/fanout_workers.py [--recipients 5000] [--announcements 6]
                                             [--workers 1,2]

A morning has several announcements at once (one per school, say). This posts
``--announcements`` of them to a group of ``--recipients`` guardians (not timed), then
for each worker count: clears their planned deliveries and done marks, starts that many
real ``budstikke worker`` processes on one Redis queue, enqueues every fan-out job and
times until every outbox row is done. Quiet hours are set around now, so every
delivery is planned and none is sent: the figure is planning, not the network. The
outbox sweeper is held off (it would start the fan-outs before the timed enqueue).

The baseline is one worker process in the same run; the figure is the rate with more
(the issue asks that 2 on 2 cores beat 1). It also checks that nothing was planned
twice: each run's deliveries are exactly one per (message, person, channel, kind) and
as many as the first run's. It writes ``bench/results/fanout_workers.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import fanout
from harness import (
    Result,
    bench_workdir,
    drop_postgres,
    fresh_postgres,
    postgres_admin_url,
    redis_url,
)
from redis.asyncio import Redis
from sqlalchemy import delete, func, select, update

from gateway import migrate
from gateway.config import load_settings
from gateway.db import create_engine, session_factory
from gateway.delivery.models import Delivery
from gateway.delivery.queue import Queue
from gateway.messaging import announcements
from gateway.messaging.events import Events
from gateway.messaging.models import OutboxItem
from gateway.roster.demo import write_demo_data

DATABASE = "budstikke_bench_fanout_workers"
ROOT = Path(__file__).resolve().parent.parent


def _environ(work: Path, database_url: str, redis: str) -> dict[str, str]:
    """Channels configured; quiet hours around now, so that planning sends nothing."""
    zone = ZoneInfo("Europe/Copenhagen")
    now = dt.datetime.now(zone)
    start, end = now - dt.timedelta(hours=2), now + dt.timedelta(hours=2)
    return {
        **fanout._environ(work, database_url),
        "BUDSTIKKE_REDIS_URL": redis,
        "BUDSTIKKE_QUIET_HOURS": f"{start:%H:%M}-{end:%H:%M}",
        # The sweeper would fan the bench's rows out on its own, before the timed
        # enqueue; it is what recovers lost jobs, not what this measures.
        "BUDSTIKKE_OUTBOX_SWEEP_AFTER_SECONDS": "86400",
    }


async def _post(environ: dict[str, str], actor: Any, group: uuid.UUID, count: int) -> list[Any]:
    """``count`` announcements to ``group``; their outbox ids (not timed)."""
    settings = load_settings(environ)
    engine = create_engine(settings.database_url)
    ids = []
    try:
        for _ in range(count):
            async with session_factory(engine)() as session:
                accepted = await announcements.create(
                    session,
                    actor,
                    fanout._announcement(group),
                    settings=settings,
                    events=Events(None),
                )
            async with session_factory(engine)() as session:
                ids.append(
                    await session.scalar(
                        select(OutboxItem.id).where(OutboxItem.item_id == accepted.message_id)
                    )
                )
    finally:
        await engine.dispose()
    return ids


async def _reset(database_url: str, outbox: list[uuid.UUID]) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await session.execute(delete(Delivery))
            await session.execute(
                update(OutboxItem).where(OutboxItem.id.in_(outbox)).values(done_at=None)
            )
    finally:
        await engine.dispose()


async def _fan_out(
    environ: dict[str, str], outbox: list[uuid.UUID], run: str
) -> tuple[float, int, int]:
    """Enqueue the fan-outs, wait until all are done: seconds, deliveries, distinct keys."""
    settings = load_settings(environ)
    redis = Redis.from_url(settings.redis_url)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        started = time.perf_counter()
        # A fresh job id per run: arq keeps a finished job's id for an hour.
        await Queue(redis, settings.queue_name).fan_out(outbox, sweep_round=run)
        while True:
            async with sessions() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(OutboxItem)
                    .where(OutboxItem.id.in_(outbox), OutboxItem.done_at.is_(None))
                )
            if not left:
                break
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        async with sessions() as session:
            rows = await session.scalar(select(func.count()).select_from(Delivery))
            keys = await session.scalar(
                select(func.count()).select_from(
                    select(Delivery.message_id, Delivery.person_id, Delivery.channel, Delivery.kind)
                    .distinct()
                    .subquery()
                )
            )
    finally:
        await engine.dispose()
        await redis.aclose()
    return seconds, int(rows or 0), int(keys or 0)


def _start_workers(count: int, environ: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    budstikke = Path(sys.executable).parent / "budstikke"
    env = {**os.environ, **environ}
    return [
        subprocess.Popen([str(budstikke), "worker"], env=env, cwd=ROOT)  # noqa: S603
        for _ in range(count)
    ]


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in workers:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def _ready(environ: dict[str, str], count: int) -> None:
    """Wait until ``count`` workers are polling (arq's health-check keys)."""
    redis = Redis.from_url(environ["BUDSTIKKE_REDIS_URL"])
    try:
        for _ in range(400):
            if len(await redis.keys("*health-check*")) >= count:
                return
            await asyncio.sleep(0.05)
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5_000)
    parser.add_argument("--announcements", type=int, default=6)
    parser.add_argument("--workers", default="1,2", help="worker counts; the first is the baseline")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with bench_workdir() as work:
        folder = work / "demo"
        summary = write_demo_data(folder, children=max(100, math.ceil(args.recipients)), seed=1)
        fanout._add_group(folder, summary.leader, args.recipients)
        admin, server = postgres_admin_url(work)
        redis, redis_server = redis_url(work)
        database_url = asyncio.run(fresh_postgres(admin, DATABASE))
        workers: list[subprocess.Popen[bytes]] = []
        runs: dict[int, tuple[float, int, int]] = {}
        try:
            environ = _environ(work, database_url, redis)
            migrate.upgrade(database_url)
            actor, group, _, _ = asyncio.run(
                fanout._prepare(
                    database_url,
                    folder,
                    leader=summary.leader,
                    group=fanout.GROUP,
                    warm_group=summary.teacher_class,
                    push_share=0.5,
                )
            )
            outbox = asyncio.run(_post(environ, actor, group, args.announcements))
            for count in counts:
                asyncio.run(_reset(database_url, outbox))
                workers = _start_workers(count, environ)
                asyncio.run(_ready(environ, count))
                runs[count] = asyncio.run(_fan_out(environ, outbox, f"bench-{count}"))
                _stop(workers)
                workers = []
        finally:
            _stop(workers)
            asyncio.run(drop_postgres(admin, DATABASE))
            if server is not None:
                server.cleanup()
            if redis_server is not None:
                redis_server.shutdown()
    _report(args, runs, counts)


def _report(
    args: argparse.Namespace, runs: dict[int, tuple[float, int, int]], counts: list[int]
) -> None:
    base_seconds, base_rows, _ = runs[counts[0]]
    result = Result(
        "fanout_workers",
        size={"recipients": args.recipients, "announcements": args.announcements},
        details={
            str(n): {"seconds": s, "deliveries": r, "distinct": k} for n, (s, r, k) in runs.items()
        },
    )
    for count in counts:
        seconds, rows, keys = runs[count]
        if rows != keys or rows != base_rows:
            raise SystemExit(
                f"{count} workers planned {rows:,} deliveries ({keys:,} distinct), "
                f"one worker {base_rows:,}: something was planned twice or lost"
            )
        if count == counts[0]:
            result.absolute(
                f"{count} worker(s)",
                value=rows / seconds,
                unit="deliveries/s",
                note=f"{seconds:.2f} s for {args.announcements} fan-outs",
            )
            continue
        result.figure(
            f"{count} worker processes",
            value=rows / seconds,
            unit="deliveries/s",
            baseline=base_rows / base_seconds,
            baseline_name=f"{counts[0]} worker process",
            target=1.1,
            note=f"{seconds:.2f} s; {rows:,} deliveries, none twice",
        )
    result.write()


if __name__ == "__main__":
    main()
