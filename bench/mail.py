#!/usr/bin/env python3
"""Email benchmark: notification mails per second end to end, against raw aiosmtplib.

    .venv/bin/python bench/mail.py [--deliveries 4000] [--workers 1] [--size tiny]

(Not ``bench/email.py``: bench/ is first on a benchmark's ``sys.path``, so a file of
that name would stand in for the standard library's ``email`` in every benchmark.)

It imports the demo municipality, spreads the guardians' addresses over ``--domains``
mail domains (a real roster has many; the demo writes one), and posts announcements
from a school's leader to the school's guardians until ``--deliveries`` mails are
planned (``fan_out``, not timed). For each worker count in ``--workers`` it starts that
many ``budstikke worker`` processes, runs one warm-up announcement through them, then
enqueues the planned chunks and measures until every row is recorded: claim, load,
decide, render (Jinja2, HTML + text), build the MIME message, SMTP over the pool of
``BUDSTIKKE_SMTP_POOL_SIZE`` reused connections, record.

The SMTP server is :mod:`sinks`: a lean ESMTP sink in its own process that counts mail
per recipient and keeps one raw message per recipient; its CPU time is reported.

Baseline, same run, same sink: raw ``aiosmtplib`` with as many reused connections as
the pool has, sending the very messages the gateway rendered (pre-rendered bytes, one
recipient per transaction, as the channel sends them). Target: ≥ 0.9× the baseline.
Correctness is asserted: each recipient must have received exactly as many mails as it
has sent rows, and every row with an address must end ``sent``; otherwise the run
exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import aiosmtplib
import delivery_setup as setup
import harness
import sinks
from sqlalchemy import func, select, update

from gateway import migrate
from gateway.config import load_settings
from gateway.db import create_engine, session_factory
from gateway.delivery.models import Delivery
from gateway.logging import configure_logging
from gateway.roster.models import ContactKind, ContactPoint

DATABASE = "budstikke_bench_email"
SENDER = "bounces@skole.example.dk"
SIZES = {"tiny": (400, "1", 200), "default": (4000, "1", 1000), "big": (20000, "1,2", 2000)}


async def _spread_domains(database_url: str, domains: int) -> None:
    """Give the email addresses ``domains`` different domains, round robin (not timed)."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            rows = await session.execute(
                select(ContactPoint.id, ContactPoint.address)
                .where(ContactPoint.kind == ContactKind.EMAIL.value)
                .order_by(ContactPoint.id)
            )
            for number, (row_id, address) in enumerate(rows.all()):
                local = address.rpartition("@")[0]
                await session.execute(
                    update(ContactPoint)
                    .where(ContactPoint.id == row_id)
                    .values(address=f"{local}@mail{number % domains}.example.dk")
                )
    finally:
        await engine.dispose()


async def _expected(database_url: str, messages: list[uuid.UUID]) -> dict[str, int]:
    """Per address: how many of these messages' rows say a mail was sent to it."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                select(Delivery.address, func.count())
                .where(Delivery.message_id.in_(messages), Delivery.state == "sent")
                .group_by(Delivery.address)
            )
            return {str(address): n for address, n in rows}
    finally:
        await engine.dispose()


def _check(expected: dict[str, int], stats: dict[str, Any], label: str) -> list[str]:
    """What went wrong in one round: double sends, missing mail."""
    problems = []
    counts: dict[str, int] = stats["counts"]
    for address, want in expected.items():
        got = counts.get(address, 0)
        if got != want:
            problems.append(f"{label}: {address} received {got}, expected {want}")
    extra = set(counts) - set(expected)
    if extra:
        problems.append(f"{label}: {len(extra)} addresses received mail none was planned for")
    return problems[:20]


async def _baseline(samples: dict[str, bytes], count: int, port: int, connections: int) -> float:
    """Seconds for ``count`` pre-rendered mails over ``connections`` reused connections."""
    work = [(address, samples[address]) for address in sorted(samples)]
    jobs = [work[n % len(work)] for n in range(count)]
    position = 0

    async def sender() -> None:
        nonlocal position
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, use_tls=False, start_tls=False)
        await client.connect()
        try:
            while position < len(jobs):
                address, raw = jobs[position]
                position += 1
                await client.sendmail(SENDER, [address], raw)
        finally:
            await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(connections)))
    return time.perf_counter() - started


def _round(
    env: dict[str, str],
    school: setup.School,
    *,
    sink: sinks.Sink,
    workers: int,
    announcements: int,
    work: Path,
) -> dict[str, Any]:
    """One measured round with ``workers`` worker processes (after a warm-up announcement)."""
    warm_messages, warm_chunks = asyncio.run(setup.post_and_plan(env, school, 1))
    messages, chunks = asyncio.run(setup.post_and_plan(env, school, announcements))
    with setup.workers(env, workers, work) as processes:
        try:
            asyncio.run(setup.run_round(env, warm_chunks, warm_messages, limit_s=60))
        except SystemExit:
            print(setup.worker_failures(work, workers))
            raise
        sink.reset()
        pids = tuple(process.pid for process in processes)
        found = asyncio.run(setup.run_round(env, chunks, messages, pids=pids))
        stats = sink.stats()
    expected = asyncio.run(_expected(env["BUDSTIKKE_DATABASE_URL"], messages))
    states = found["states"]
    sent = states.get("sent", 0)
    problems = _check(expected, stats, f"{workers} worker(s)")
    unexpected = {k: v for k, v in states.items() if k not in {"sent", "skipped"}}
    if unexpected:
        problems.append(f"{workers} worker(s): rows ended {states}")
    return {
        "workers": workers,
        "deliveries": sent,
        "skipped": states.get("skipped", 0),
        "chunks": len(chunks),
        "seconds": found["seconds"],
        "rate": sent / found["seconds"],
        "states": states,
        "workers_cpu_s": found["workers_cpu_s"],
        "database_cpu_s": found["database_cpu_s"],
        "cpu_us_per_delivery": (found["workers_cpu_s"] + found["database_cpu_s"]) / sent * 1e6,
        "sink": {k: v for k, v in stats.items() if k != "counts"},
        "problems": problems,
    }


def _run(args: argparse.Namespace, work: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    admin, pg_server = harness.postgres_admin_url(work)
    redis, redis_server = harness.redis_url(work)
    sink = None
    database_url = None
    try:
        database_url = asyncio.run(harness.fresh_postgres(admin, DATABASE))
        migrate.upgrade(database_url)
        sink = sinks.start("smtp", keep_samples=True)
        env = setup.environ(
            work,
            database_url,
            redis,
            smtp_host="127.0.0.1",
            smtp_port=str(sink.port),
            smtp_tls="none",
            smtp_from="Budstikke <no-reply@skole.example.dk>",
            smtp_pool_size=str(args.connections),
            mail_domain="skole.example.dk",
            delivery_chunk_size=str(args.chunk),
        )
        configure_logging(load_settings(env))
        school = asyncio.run(setup.import_school(database_url, work / "demo", args.children))
        asyncio.run(_spread_domains(database_url, args.domains))
        probe, probe_chunks = asyncio.run(setup.post_and_plan(env, school, 1))
        per_announcement = sum(len(ids) for _, ids, _ in probe_chunks)
        asyncio.run(setup.retire(env, probe))
        count = setup.announcements_for(args.deliveries, per_announcement)
        rounds = [
            _round(env, school, sink=sink, workers=n, announcements=count, work=work)
            for n in args.worker_counts
        ]
        samples = sink.samples()
        sink.reset()
        base_count = rounds[0]["deliveries"]
        cpu = time.process_time()
        seconds = asyncio.run(_baseline(samples, base_count, sink.port, args.connections))
        cpu = time.process_time() - cpu
        stats = sink.stats()
        baseline = {
            "deliveries": base_count,
            "seconds": seconds,
            "rate": base_count / seconds,
            "cpu_us_per_delivery": cpu / base_count * 1e6,
            "message_bytes": stats["bytes"] / max(stats["total"], 1),
            "sink": {k: v for k, v in stats.items() if k != "counts"},
            "problems": []
            if stats["total"] == base_count
            else [f"baseline: the sink counted {stats['total']} of {base_count}"],
        }
    finally:
        if sink is not None:
            sink.stop()
        if database_url is not None:
            asyncio.run(harness.drop_postgres(admin, DATABASE))
        if pg_server is not None:
            pg_server.cleanup()
        if redis_server is not None:
            redis_server.shutdown()
    return rounds, baseline


def _report(
    args: argparse.Namespace, rounds: list[dict[str, Any]], baseline: dict[str, Any]
) -> int:
    result = harness.Result(
        "email",
        size={
            "deliveries": rounds[0]["deliveries"],
            "connections": args.connections,
            "domains": args.domains,
            "workers": args.workers,
        },
    )
    for found in rounds:
        result.figure(
            f"end to end, {found['workers']} worker(s)",
            value=found["rate"],
            unit="mails/s",
            baseline=baseline["rate"],
            baseline_name="raw aiosmtplib, pre-rendered",
            target=0.9 if found is rounds[0] else None,
            note=(
                f"{found['deliveries']:,} in {found['seconds']:.2f} s; "
                f"sink CPU {found['sink']['cpu_s']:.2f} s"
            ),
        )
    first = rounds[0]
    result.figure(
        f"CPU per mail, {first['workers']} worker(s) + their database server processes",
        value=first["cpu_us_per_delivery"],
        unit="µs",
        baseline=baseline["cpu_us_per_delivery"],
        baseline_name="the baseline's process",
        higher_is_better=False,
        note=(
            f"workers {first['workers_cpu_s']:.2f} s + database {first['database_cpu_s']:.2f} s; "
            "rendering is in this, not in the baseline"
        ),
    )
    if len(rounds) > 1:
        result.figure(
            f"scaling, {rounds[-1]['workers']} workers over {rounds[0]['workers']}",
            value=rounds[-1]["rate"],
            unit="mails/s",
            baseline=rounds[0]["rate"],
            baseline_name=f"{rounds[0]['workers']} worker(s)",
            target=1.0,
        )
    result.absolute(
        "baseline sink CPU share",
        value=baseline["sink"]["cpu_s"] / baseline["seconds"],
        unit="of one core",
        note=(
            f"{baseline['deliveries']:,} in {baseline['seconds']:.2f} s, "
            f"{baseline['message_bytes']:,.0f} bytes a mail"
        ),
    )
    result.details = {"rounds": rounds, "baseline": baseline}
    result.write()
    problems = [p for found in [*rounds, baseline] for p in found["problems"]]
    for problem in problems:
        print(f"  PROBLEM {problem}")
    return 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--deliveries", type=int, help="mails per round (default by --size)")
    parser.add_argument("--workers", help="worker counts to measure, e.g. 1,2")
    parser.add_argument("--children", type=int, help="demo municipality size")
    parser.add_argument(
        "--connections", type=int, default=4, help="BUDSTIKKE_SMTP_POOL_SIZE, and the baseline's"
    )
    parser.add_argument("--domains", type=int, default=10, help="mail domains to spread over")
    parser.add_argument("--chunk", type=int, default=500, help="BUDSTIKKE_DELIVERY_CHUNK_SIZE")
    args = parser.parse_args()
    deliveries, worker_counts, children = SIZES[args.size]
    args.deliveries = args.deliveries or deliveries
    args.workers = args.workers or worker_counts
    args.children = args.children or children
    args.worker_counts = [int(n) for n in args.workers.split(",")]
    with harness.bench_workdir() as work:
        rounds, baseline = _run(args, work)
    raise SystemExit(_report(args, rounds, baseline))


if __name__ == "__main__":
    main()
