#!/usr/bin/env python3
"""Peer benchmark: one message to 500 people, Budstikke against Matrix Synapse.

    .venv/bin/python bench/peer_synapse.py [--members 500] [--engine postgresql|sqlite]
                                           [--rounds 3]

Both systems run on this machine, loopback only, one server process each, on the same
database engine (PostgreSQL by default: Synapse's own production engine and
Budstikke's; ``--engine sqlite`` runs both on SQLite), and the same client process
drives them with aiohttp.

- *Synapse* (``matrix-synapse``, pinned in ``peer_matrix.py``, installed into
  ``bench/.peer-venv`` on first run, not timed): ``--members`` users and a sender are
  registered (shared-secret admin API), the sender makes a public room and everyone
  joins; each member's initial ``/sync`` gives its ``since`` token (all not timed).
  Timed: every member long-polls ``/sync?since=…``; once Synapse is idle (every poll
  parked), the sender sends one ``m.room.message``; the time runs until the last
  member's sync has returned it.
- *Budstikke* (``budstikke serve``): the demo municipality plus one group whose
  children's custodial guardians are exactly ``--members`` people; each guardian holds
  a live ``GET /v1/events`` stream (the analogue of ``/sync``); once the API is idle,
  the school's leader posts one message (``POST /v1/messages``) to the group's
  guardians. Timed: until the last stream had its event, and until every guardian's
  ``GET /v1/inbox/threads`` (what the portal does on the event: SSE events carry ids
  only, a Matrix sync carries the message) showed the thread. Also ``POST``→``202``.
  Then the same for the leader's reply in that thread (``POST /v1/threads/…/messages``):
  a message into an existing conversation, like Synapse's send into its room.

A warm-up round of each kind is not counted; the figures are the median of
``--rounds``. The ratio is Synapse's time over Budstikke's (issue 7's target: ≥ 10×).
Results go to ``bench/results/peer_synapse.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import harness
import peer_budstikke as bud
import peer_matrix as mx

from gateway import migrate
from gateway.config import load_settings
from gateway.logging import configure_logging

BUDSTIKKE_DB = "budstikke_bench_peer"
SYNAPSE_DB = "budstikke_bench_peer_synapse"


def _client() -> aiohttp.ClientSession:
    """One client for all members: no connection cap, no timeout (streams stay open).

    A connection per request: a server closes idle keep-alive connections (uvicorn after
    5 s), and reusing one it just closed fails the request, not the server.
    """
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))


def _raise_file_limit() -> None:
    """Each member holds a socket; lift the soft limit on open files to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _synapse_rounds(
    work: Path, args: argparse.Namespace, postgres: dict[str, Any] | None, python: Path
) -> list[dict[str, Any]]:
    server, url, secret = mx.start_synapse(python, work, args.engine, postgres)
    try:
        async with _client() as http:
            room = await mx.prepare_room(http, url, secret, args.members)
            rounds = []
            for number in range(args.rounds + 1):
                found = await mx.timed_round(http, room, server)
                _progress("synapse", number, found["all_seen_s"])
                rounds.append(found)
            return rounds
    finally:
        server.stop()


def _budstikke_rounds(
    work: Path, args: argparse.Namespace, database_url: str, redis: str
) -> dict[str, list[dict[str, Any]]]:
    folder = work / "demo"
    code, leader, guardians = bud.write_roster(folder, args.members)
    env = bud.environ(work, database_url, redis)
    migrate.upgrade(database_url)  # runs its own event loop
    group = asyncio.run(bud.import_roster(database_url, folder))
    sender, *tokens = bud.tokens(env, code, [leader, *guardians])
    server, url = bud.start_api(work, env)
    try:
        return asyncio.run(_measure(args, bud.Budstikke(url, server, sender, group, tokens)))
    finally:
        server.stop()
        asyncio.run(_clean_redis(redis, load_settings(env).queue_name))


async def _measure(args: argparse.Namespace, side: bud.Budstikke) -> dict[str, Any]:
    """Open the streams; new threads (warm-up and measured), then replies in the last."""
    async with _client() as http:
        started = time.perf_counter()
        await bud.connect(http, side)
        print(
            f"  budstikke setup: {len(side.streams)} streams open in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        rounds: dict[str, list[dict[str, Any]]] = {"new": [], "reply": []}
        for number in range(args.rounds + 1):
            found = await bud.timed_round(http, side)
            _progress("budstikke new thread", number, found["all_events_s"], found["all_inboxes_s"])
            rounds["new"].append(found)
        thread = rounds["new"][-1]["thread_id"]
        for number in range(args.rounds + 1):
            found = await bud.timed_round(http, side, reply_to=thread, unread=number + 2)
            _progress("budstikke reply", number, found["all_events_s"], found["all_inboxes_s"])
            rounds["reply"].append(found)
        for task in side.listeners:
            task.cancel()
        await asyncio.gather(*side.listeners, return_exceptions=True)
        return rounds


def _progress(side: str, number: int, *seconds: float) -> None:
    label = "warm-up" if number == 0 else f"round {number}"
    times = " / ".join(f"{s * 1000:,.0f} ms" for s in seconds)
    print(f"  {side} {label}: {times}", flush=True)


async def _clean_redis(url: str, queue: str) -> None:
    """Drop the fan-out jobs nobody ran (no worker here), leaving other keys alone."""
    from redis.asyncio import Redis  # noqa: PLC0415

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter("arq:*")] + [queue]
        await client.delete(*keys)
    finally:
        await client.aclose()


@contextlib.contextmanager
def _engines(work: Path, engine: str) -> Iterator[tuple[str, dict[str, Any] | None, str]]:
    """Budstikke's database URL, Synapse's psycopg2 arguments, Redis; dropped afterwards."""
    redis, redis_server = harness.redis_url(work)
    admin = pg_server = None
    try:
        if engine == "sqlite":
            yield f"sqlite+aiosqlite:///{work / 'budstikke.db'}", None, redis
            return
        admin, pg_server = harness.postgres_admin_url(work)
        database_url = asyncio.run(harness.fresh_postgres(admin, BUDSTIKKE_DB))
        synapse_url = asyncio.run(mx.create_synapse_database(admin, SYNAPSE_DB))
        yield database_url, mx.postgres_args(synapse_url), redis
    finally:
        if admin is not None:
            for name in (BUDSTIKKE_DB, SYNAPSE_DB):
                asyncio.run(harness.drop_postgres(admin, name))
        if pg_server is not None:
            pg_server.cleanup()
        if redis_server is not None:
            redis_server.shutdown()


def _median(rounds: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in rounds[1:]))  # the warm-up is not counted


def _report(
    args: argparse.Namespace,
    synapse: list[dict[str, Any]],
    budstikke: dict[str, list[dict[str, Any]]],
) -> None:
    """The ratios for a new thread and for a reply (Synapse's send into its room)."""
    result = harness.Result(
        "peer_synapse", size={"members": args.members, "engine": args.engine, "rounds": args.rounds}
    )
    seen = _median(synapse, "all_seen_s")
    peer = f"Synapse {mx.SYNAPSE_VERSION} /sync"
    kinds = (
        ("new", "new thread", "POST /v1/messages"),
        ("reply", "reply", "POST /v1/threads/…/messages"),
    )
    for key, kind, post in kinds:
        rounds = budstikke[key]
        for name, field in (
            ("SSE event", "all_events_s"),
            ("SSE event, then GET /v1/inbox/threads", "all_inboxes_s"),
        ):
            result.figure(
                f"{kind}: all members have it ({name})",
                value=_median(rounds, field),
                unit="s",
                baseline=seen,
                baseline_name=peer,
                higher_is_better=False,
                target=10,
            )
        result.absolute(f"{kind}: {post} → 202", value=_median(rounds, "accept_s"), unit="s")
        result.absolute(
            f"{kind}: median member (SSE event)", value=_median(rounds, "median_event_s"), unit="s"
        )
    result.absolute("Synapse PUT /send → 200", value=_median(synapse, "send_s"), unit="s")
    result.absolute(
        "Synapse median member (/sync)", value=_median(synapse, "median_seen_s"), unit="s"
    )
    result.details.update(
        synapse_version=mx.SYNAPSE_VERSION,
        synapse_rounds=synapse,
        budstikke_rounds=budstikke,
        sync_filter=mx.SYNC_FILTER,
        synapse_early_returns=sum(r["early_returns"] for r in synapse),
    )
    print(f"  results: {result.write()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500, help="recipients (default 500)")
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds (median)")
    args = parser.parse_args()
    _raise_file_limit()
    python = mx.ensure_synapse()
    with (
        harness.bench_workdir() as work,
        _engines(work, args.engine) as (database_url, postgres, redis),
    ):
        quiet = {"BUDSTIKKE_LOG_LEVEL": "warning", "BUDSTIKKE_DATABASE_URL": database_url}
        configure_logging(load_settings(quiet))
        synapse = asyncio.run(_synapse_rounds(work / "synapse", args, postgres, python))
        budstikke = _budstikke_rounds(work, args, database_url, redis)
    _report(args, synapse, budstikke)


if __name__ == "__main__":
    main()
