#!/usr/bin/env python3
"""Push benchmark: web push deliveries per second end to end, against a plain pywebpush loop.

    .venv/bin/python bench/push.py [--deliveries 6000] [--workers 1,2] [--size tiny]

It imports the demo municipality, gives every guardian one browser subscription with a
fresh P-256 key pair and auth secret (so the RFC 8291 encryption is real), and posts
announcements from a school's leader to the school's guardians until ``--deliveries``
pushes are planned (``fan_out``, not timed). For each worker count in ``--workers`` it
starts that many ``budstikke worker`` processes, runs one warm-up announcement through
them, then enqueues the planned chunks and measures until every row is recorded:
claim, load, decide, render, encrypt, VAPID, POST, record — the whole delivery path.

The push service is :mod:`sinks`: a lean HTTP/1.1 receiver in its own process that
counts pushes per subscription, requires a VAPID header and an aes128gcm body, and
decrypts every ``--verify-every``-th push with the subscriber's private key. Its CPU
time is reported, so one can see it was not the bottleneck.

Baseline, same run, same receiver, same subscriptions: a loop of pywebpush's
``webpush_async`` with one shared ``aiohttp.ClientSession`` at the same concurrency as
the channel's per-origin bound (``BUDSTIKKE_PUSH_CONCURRENCY``), sending a payload of
the same size. Target: ≥ 2× the baseline. With two worker counts it also reports the
scaling ratio. Correctness is asserted: every subscription must have received exactly
as many pushes as it has delivered rows, and every row must end ``delivered``;
otherwise the run exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import delivery_setup as setup
import harness
import sinks
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from channels.vapid import b64url, generate_key_pair
from gateway import migrate
from gateway.config import load_settings
from gateway.db import bulk_insert, create_engine, session_factory
from gateway.delivery.models import Delivery, PushSubscription
from gateway.logging import configure_logging
from gateway.orm import new_id, utcnow
from gateway.roster.models import Person, PersonKind

DATABASE = "budstikke_bench_push"
SIZES = {"tiny": (600, "1", 200), "default": (6000, "1,2", 1000), "big": (30000, "1,2", 2000)}


def _subscriber_keys(count: int) -> list[tuple[str, str, str]]:
    """(private scalar, p256dh, auth) per subscription, all base64url."""
    found = []
    for _ in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        scalar = key.private_numbers().private_value.to_bytes(32, "big")
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        found.append((b64url(scalar), b64url(point), b64url(uuid.uuid4().bytes)))
    return found


async def _guardians(database_url: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                select(Person.id, Person.municipality_id)
                .where(Person.kind == PersonKind.GUARDIAN.value)
                .order_by(Person.source_id)
            )
            return [(p, m) for p, m in rows]
    finally:
        await engine.dispose()


async def _subscribe(
    database_url: str, origin: str, people: list[tuple[uuid.UUID, uuid.UUID]], keys: list[Any]
) -> list[dict[str, Any]]:
    """One subscription per guardian at the receiver; the rows."""
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "municipality_id": municipality,
            "person_id": person,
            "endpoint": f"{origin}/push/{number}",
            "p256dh": p256dh,
            "auth": auth,
            "created_at": now,
        }
        for number, ((person, municipality), (_, p256dh, auth)) in enumerate(
            zip(people, keys, strict=True)
        )
    ]
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await bulk_insert(session, PushSubscription.__table__, rows)  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    return rows


async def _expected(database_url: str, messages: list[uuid.UUID]) -> dict[str, int]:
    """Per subscription path: how many of these messages' rows say it was delivered to it."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                select(PushSubscription.endpoint, func.count(Delivery.id))
                .join(Delivery, Delivery.person_id == PushSubscription.person_id)
                .where(Delivery.message_id.in_(messages), Delivery.state == "delivered")
                .group_by(PushSubscription.endpoint)
            )
            return {_path(endpoint): n for endpoint, n in rows}
    finally:
        await engine.dispose()


def _path(endpoint: str) -> str:
    return "/" + endpoint.split("/", 3)[3]


def _check(expected: dict[str, int], stats: dict[str, Any], label: str) -> list[str]:
    """What went wrong in one round: double sends, missing pushes, refused requests."""
    problems = []
    counts: dict[str, int] = stats["counts"]
    for path, want in expected.items():
        got = counts.get(path, 0)
        if got != want:
            problems.append(f"{label}: {path} received {got}, expected {want}")
    extra = set(counts) - set(expected)
    if extra:
        problems.append(f"{label}: {len(extra)} subscriptions received pushes none was planned for")
    if stats["refused_total"]:
        problems.append(f"{label}: {stats['refused_total']} refused, e.g. {stats['refused'][:3]}")
    return problems[:20]


async def _baseline(
    subscriptions: list[dict[str, Any]], private_b64: str, count: int, concurrency: int, size: int
) -> float:
    """Seconds for ``count`` ``webpush_async`` calls at ``concurrency`` on one session."""
    from py_vapid import Vapid  # noqa: PLC0415
    from pywebpush import webpush_async  # noqa: PLC0415

    from channels.vapid import b64url_decode  # noqa: PLC0415

    vapid = Vapid.from_raw(b64url(b64url_decode(private_b64)).encode())
    # The same plaintext size as the gateway's payloads (the receiver measured them).
    shell = json.dumps({"title": "Juleafslutning fredag", "body": ""})
    payload = json.dumps(
        {"title": "Juleafslutning fredag", "body": "x" * max(0, size - len(shell))}
    )
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(number: int) -> None:
            sub = subscriptions[number % len(subscriptions)]
            info = {
                "endpoint": sub["endpoint"],
                "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]},
            }
            async with gate:
                response = await webpush_async(
                    info,
                    payload,
                    vapid_private_key=vapid,
                    vapid_claims={"sub": "mailto:drift@example.dk"},
                    ttl=345_600,
                    aiohttp_session=session,
                )
                assert not isinstance(response, str)
                await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        return time.perf_counter() - started


async def _prepare(
    args: argparse.Namespace, work: Path, database_url: str, redis: str
) -> tuple[sinks.Sink, dict[str, str], setup.School, list[dict[str, Any]], str]:
    """Roster, keys, the receiver and the subscriptions (not timed)."""
    school = await setup.import_school(database_url, work / "demo", args.children)
    people = await _guardians(database_url)
    keys = _subscriber_keys(len(people))
    keys_file = work / "subscriber-keys.json"
    keys_file.write_text(
        json.dumps({f"/push/{n}": [k[0], k[2]] for n, k in enumerate(keys)}), "utf-8"
    )
    receiver = sinks.start("push", keys_file=str(keys_file), verify_every=args.verify_every)
    origin = f"http://127.0.0.1:{receiver.port}"
    subscriptions = await _subscribe(database_url, origin, people, keys)
    vapid = generate_key_pair().private_b64
    env = setup.environ(
        work,
        database_url,
        redis,
        vapid_private_key=vapid,
        vapid_subject="mailto:drift@example.dk",
        push_concurrency=str(args.concurrency),
        delivery_chunk_size=str(args.chunk),
    )
    configure_logging(load_settings(env))
    return receiver, env, school, subscriptions, vapid


def _round(
    env: dict[str, str],
    school: setup.School,
    *,
    receiver: sinks.Sink,
    workers: int,
    announcements: int,
    work: Path,
) -> dict[str, Any]:
    """One measured round with ``workers`` worker processes (after a warm-up announcement)."""
    database_url = env["BUDSTIKKE_DATABASE_URL"]
    warm_messages, warm_chunks = asyncio.run(setup.post_and_plan(env, school, 1))
    messages, chunks = asyncio.run(setup.post_and_plan(env, school, announcements))
    with setup.workers(env, workers, work) as processes:
        try:
            asyncio.run(setup.run_round(env, warm_chunks, warm_messages, limit_s=60))
        except SystemExit:
            print(setup.worker_failures(work, workers))
            raise
        receiver.reset()
        pids = tuple(process.pid for process in processes)
        found = asyncio.run(setup.run_round(env, chunks, messages, pids=pids))
        stats = receiver.stats()
    expected = asyncio.run(_expected(database_url, messages))
    deliveries = sum(found["states"].values())
    problems = _check(expected, stats, f"{workers} worker(s)")
    if found["states"].get("delivered", 0) != deliveries:
        problems.append(f"{workers} worker(s): rows ended {found['states']}, not all delivered")
    return {
        "workers": workers,
        "deliveries": deliveries,
        "chunks": len(chunks),
        "seconds": found["seconds"],
        "rate": deliveries / found["seconds"],
        "states": found["states"],
        "workers_cpu_s": found["workers_cpu_s"],
        "database_cpu_s": found["database_cpu_s"],
        "cpu_us_per_delivery": (found["workers_cpu_s"] + found["database_cpu_s"])
        / deliveries
        * 1e6,
        "receiver": {k: v for k, v in stats.items() if k != "counts"},
        "problems": problems,
    }


def _run(args: argparse.Namespace, work: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    admin, pg_server = harness.postgres_admin_url(work)
    redis, redis_server = harness.redis_url(work)
    receiver = None
    database_url = None
    try:
        database_url = asyncio.run(harness.fresh_postgres(admin, DATABASE))
        migrate.upgrade(database_url)
        receiver, env, school, subscriptions, vapid = asyncio.run(
            _prepare(args, work, database_url, redis)
        )
        probe, probe_chunks = asyncio.run(setup.post_and_plan(env, school, 1))
        per_announcement = sum(len(ids) for _, ids, _ in probe_chunks)
        asyncio.run(setup.retire(env, probe))
        count = setup.announcements_for(args.deliveries, per_announcement)
        rounds = [
            _round(env, school, receiver=receiver, workers=n, announcements=count, work=work)
            for n in args.worker_counts
        ]
        plaintext = int(rounds[0]["receiver"]["bytes"] / rounds[0]["receiver"]["total"]) - 103
        settings = load_settings(env)
        receiver.reset()
        base_count = rounds[0]["deliveries"]
        cpu = time.process_time()
        seconds = asyncio.run(
            _baseline(subscriptions, vapid, base_count, settings.push_concurrency, plaintext)
        )
        cpu = time.process_time() - cpu
        stats = receiver.stats()
        baseline = {
            "deliveries": base_count,
            "seconds": seconds,
            "rate": base_count / seconds,
            "cpu_us_per_delivery": cpu / base_count * 1e6,
            "payload_bytes": plaintext,
            "receiver": {k: v for k, v in stats.items() if k != "counts"},
            "problems": []
            if stats["total"] == base_count and not stats["refused_total"]
            else [f"baseline: receiver counted {stats['total']} of {base_count}"],
        }
    finally:
        if receiver is not None:
            receiver.stop()
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
        "push",
        size={
            "deliveries": rounds[0]["deliveries"],
            "concurrency": args.concurrency,
            "workers": args.workers,
        },
    )
    for found in rounds:
        receiver = found["receiver"]
        result.figure(
            f"end to end, {found['workers']} worker(s)",
            value=found["rate"],
            unit="deliveries/s",
            baseline=baseline["rate"],
            baseline_name="plain webpush_async loop",
            target=2.0 if found is rounds[0] else None,
            note=(
                f"{found['deliveries']:,} in {found['seconds']:.2f} s; receiver CPU "
                f"{receiver['cpu_s']:.2f} s, decrypted {receiver['decrypted']}"
            ),
        )
    first = rounds[0]
    result.figure(
        f"CPU per delivery, {first['workers']} worker(s) + their database server processes",
        value=first["cpu_us_per_delivery"],
        unit="µs",
        baseline=baseline["cpu_us_per_delivery"],
        baseline_name="the baseline loop's process",
        higher_is_better=False,
        target=2.0,
        note=(
            f"workers {first['workers_cpu_s']:.2f} s + database {first['database_cpu_s']:.2f} s; "
            "the machine's load disturbs this least"
        ),
    )
    if len(rounds) > 1:
        result.figure(
            f"scaling, {rounds[-1]['workers']} workers over {rounds[0]['workers']}",
            value=rounds[-1]["rate"],
            unit="deliveries/s",
            baseline=rounds[0]["rate"],
            baseline_name=f"{rounds[0]['workers']} worker(s)",
            target=1.0,
        )
    result.absolute(
        "baseline receiver CPU share",
        value=baseline["receiver"]["cpu_s"] / baseline["seconds"],
        unit="of one core",
        note=f"{baseline['deliveries']:,} in {baseline['seconds']:.2f} s",
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
    parser.add_argument("--deliveries", type=int, help="pushes per round (default by --size)")
    parser.add_argument("--workers", help="worker counts to measure, e.g. 1,2")
    parser.add_argument("--children", type=int, help="demo municipality size")
    parser.add_argument(
        "--concurrency", type=int, default=50, help="BUDSTIKKE_PUSH_CONCURRENCY, and the baseline's"
    )
    parser.add_argument("--chunk", type=int, default=500, help="BUDSTIKKE_DELIVERY_CHUNK_SIZE")
    parser.add_argument(
        "--verify-every",
        type=int,
        default=10,
        help="the receiver decrypts every n-th push (0: none)",
    )
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
