#!/usr/bin/env python3
"""Calm delivery: a simulated school week through the real pipeline, against one per item.

    .venv/bin/python bench/calm_week.py [--size tiny|default|large] [--children N] [--days D]
                                        [--engine sqlite|postgresql]
                                        [--defaults calm|builtin|digest|all]

It writes the demo municipality (``write_demo_data``, ``--children``), imports it, gives
70 % of the guardians and half the staff a push subscription and a third of the guardians
changed preferences (digest, off, instant, other quiet hours or digest time; see
``calm_world.GUARDIAN_PROFILES``), then plays a week from Monday 00:00 (``--days 7``:
Monday to Friday and the weekend's quiet) of class and room messages, 1:1 threads and
replies, announcements, permission requests with reminders, two urgent announcements and
daycare notices, with guardians who read soon, late or never (``calm_traffic``).

Every step is the gateway's own code on a real database, at a simulated time: the
messaging, consent and notice services accept the items, ``fan_out`` plans them (with
``now``), the dispatcher, the digests and the consent reminders run as the worker's
crons would (with ``now``), each ``deliver`` job the pipeline enqueued runs the real
``deliver`` (claim, load, decide late, render), and reading goes through
``reading.mark_read`` / ``announcements.mark_read``. Only the channels are stand-ins:
they record what would be sent at which simulated time. The services that read the wall
clock instead of taking ``now`` get the simulated clock through one seam
(``calm_world.clock_seam``), and the result lists each module it rebinds.

Figures: interruptions (pushes and emails sent, a digest counting one) against the
baseline of one notification per item per reachable recipient, in total, to guardians,
and per guardian (mean, p50, p90, max), for the institutions' defaults chosen with
``--defaults`` (``calm_world.INSTITUTION_DEFAULTS``: ``builtin`` = everything instant,
as shipped; ``calm``, the default; ``digest``; ``all`` runs each on a fresh database).
The ratio reads "× fewer"; the target 2.5 is 60 % fewer. Invariants, each must be 0
(the run exits 1 otherwise):
urgent items delayed, staff notified outside working hours, guardians notified in their
quiet hours, items not in the inbox at once. JSON: ``bench/results/calm_week.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import harness
from calm_metrics import measure
from calm_sim import Calendar, Pipeline
from calm_traffic import Week
from calm_world import (
    INSTITUTION_DEFAULTS,
    JobQueue,
    Recorder,
    Sent,
    SimClock,
    apply_profiles,
    clock_seam,
    load_roster,
    set_institution_defaults,
    subscribe,
)
from harness import import_demo

from channels.vapid import generate_key_pair
from gateway import migrate
from gateway.auth.links import LinkSigner, secret_key
from gateway.config import load_settings
from gateway.db import create_engine, session_factory
from gateway.delivery.deliver import Runtime
from gateway.delivery.render import Renderer
from gateway.logging import configure_logging
from gateway.roster.demo import write_demo_data

DATABASE = "budstikke_bench_calm"
ZONE = "Europe/Copenhagen"
SIZES = {"tiny": (50, 2), "default": (120, 7), "large": (1000, 7)}
INVARIANTS = (
    ("urgent items delayed", "urgent_delayed", "recipient-items"),
    ("staff notified outside working hours", "staff_outside_working_hours", "sends"),
    ("guardians notified in their quiet hours", "guardians_in_quiet_hours", "sends"),
    ("items not in the inbox at once", "not_in_inbox_at_once", "recipient-items"),
)


def environ(work: Path, database_url: str) -> dict[str, str]:
    """Both channels configured (nothing connects: the recorders stand in); hours as shipped."""
    return {
        "BUDSTIKKE_DATA_DIR": str(work / "data"),
        "BUDSTIKKE_DATABASE_URL": database_url,
        "BUDSTIKKE_SMTP_HOST": "127.0.0.1",
        "BUDSTIKKE_SMTP_FROM": "Budstikke <no-reply@example.dk>",
        "BUDSTIKKE_VAPID_PRIVATE_KEY": generate_key_pair().private_b64,
        "BUDSTIKKE_VAPID_SUBJECT": "mailto:drift@example.dk",
        "BUDSTIKKE_DEFAULT_TIME_ZONE": ZONE,
        "BUDSTIKKE_LOG_LEVEL": "warning",
    }


def next_monday(today: dt.date) -> dt.date:
    """The Monday after ``today``: the week lies ahead of the wall clock (see the notes)."""
    return today + dt.timedelta(days=7 - today.weekday())


@dataclass
class World:
    """The imported municipality with its people set up, at the week's start."""

    pipeline: Pipeline
    start: dt.datetime
    profiles: dict[uuid.UUID, str]
    push_subscriptions: int
    clock_seam_modules: list[str]


@contextlib.asynccontextmanager
async def world(
    env: dict[str, str], folder: Path, *, profile: str, monday: dt.date, seed: int
) -> AsyncIterator[World]:
    """Import the roster, set defaults, subscriptions and preferences; the clock is simulated."""
    settings = load_settings(env)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        await import_demo(engine, folder, time_zone=ZONE)
        start = dt.datetime.combine(monday, dt.time(0), ZoneInfo(ZONE)).astimezone(dt.UTC)
        clock = SimClock(start - dt.timedelta(hours=1))
        sent: list[Sent] = []
        channels: dict[str, Any] = {c: Recorder(c, clock, sent) for c in ("email", "webpush")}
        runtime = Runtime(
            settings, sessions, channels, Renderer(settings, LinkSigner(secret_key(settings)))
        )
        with clock_seam(clock) as rebound:
            rng = random.Random(seed)  # noqa: S311 - a reproducible world, not a secret
            async with sessions() as session:
                roster = await load_roster(session, ZONE)
            await set_institution_defaults(sessions, roster, profile)
            pushers = await subscribe(sessions, roster, rng, 0.7, 0.5)
            profiles = await apply_profiles(sessions, settings, roster, rng)
            pipeline = Pipeline(sessions, settings, roster, clock, runtime, JobQueue(), sent)
            clock.now = start
            yield World(pipeline, start, profiles, len(pushers), rebound)
    finally:
        await engine.dispose()


async def simulate(
    env: dict[str, str], folder: Path, *, profile: str, monday: dt.date, days: int, seed: int
) -> dict[str, Any]:
    """Set up the world, play the week; the measured outcome."""
    async with world(env, folder, profile=profile, monday=monday, seed=seed) as w:
        pipeline = w.pipeline
        calendar = Calendar(pipeline, w.start, w.start + dt.timedelta(days=days))
        week = Week(pipeline, calendar, monday, days, seed)
        week.plan()
        began = time.perf_counter()
        await calendar.run()
        seconds = time.perf_counter() - began
        found = await measure(pipeline, w.profiles, week.readers)
    found.update(
        profile=profile,
        simulated_seconds=seconds,
        push_subscriptions=w.push_subscriptions,
        refusals=calendar.failures,
        refusal_examples=calendar.failure_examples,
        seconds_by_event=calendar.seconds,
        counts=pipeline.counts,
        profiles=dict(sorted(_tally(w.profiles.values()).items())),
        readers=dict(sorted(_tally(week.readers.values()).items())),
        clock_seam_modules=w.clock_seam_modules,
    )
    return found


def _tally(values: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for value in values:
        found[value] = found.get(value, 0) + 1
    return found


def run_week(
    work: Path,
    *,
    profile: str,
    days: int,
    engine: str = "sqlite",
    seed: int = 7,
    monday: dt.date | None = None,
) -> dict[str, Any]:
    """One week on a fresh database, from the demo roster in ``work / "demo"``."""
    monday = monday or next_monday(dt.datetime.now(ZoneInfo(ZONE)).date())
    found: dict[str, Any] = with_database(
        work,
        engine,
        profile,
        lambda env: simulate(
            env, work / "demo", profile=profile, monday=monday, days=days, seed=seed
        ),
    )
    return found


def with_database(work: Path, engine: str, tag: str, body: Any) -> Any:
    """Run ``body(env)`` (a coroutine) on a fresh, migrated database that is dropped after."""
    server = admin = None
    if engine == "sqlite":
        database_url = f"sqlite+aiosqlite:///{work / f'calm-{tag}.db'}"
    else:
        admin, server = harness.postgres_admin_url(work)
        database_url = asyncio.run(harness.fresh_postgres(admin, DATABASE))
    try:
        env = environ(work, database_url)
        configure_logging(load_settings(env))
        migrate.upgrade(database_url)
        return asyncio.run(body(env))
    finally:
        if admin is not None:
            asyncio.run(harness.drop_postgres(admin, DATABASE))
        if server is not None:
            server.cleanup()


def _fewer(reduction: float) -> str:
    """A reduction in words: "64% fewer", or "4% more" when it is none."""
    return f"{reduction:.0%} fewer" if reduction >= 0 else f"{-reduction:.0%} more"


def report(result: harness.Result, found: dict[str, Any]) -> bool:
    """Print one profile's figures; whether every invariant held."""
    name = found["profile"]
    total, base = found["interruptions_total"], found["baseline_total"]
    result.figure(
        f"interruptions, {name} defaults",
        value=total,
        unit="notifications",
        baseline=base,
        baseline_name="one per item per recipient",
        higher_is_better=False,
        target=2.5,  # 60 % fewer
        note=f"{_fewer(found['reduction'])} (target ≥ 60 % fewer)",
    )
    sent, had = found["guardian_interruptions_total"], found["guardian_baseline_total"]
    result.figure(
        f"interruptions to guardians, {name} defaults",
        value=sent,
        unit="notifications",
        baseline=had,
        baseline_name="one per item per recipient",
        higher_is_better=False,
        target=2.5,
        note=_fewer(1 - sent / had if had else 0.0),
    )
    per, items = found["guardian_interruptions"], found["guardian_baseline"]
    result.absolute(
        f"interruptions per guardian, {name} defaults",
        value=per["mean"],
        unit="per week (mean)",
        note=(
            f"p50 {per['p50']:g}, p90 {per['p90']:g}, max {per['max']:g}; items per guardian: "
            f"mean {items['mean']:.1f}, p50 {items['p50']:g}, p90 {items['p90']:g}, "
            f"max {items['max']:g}"
        ),
    )
    held = True
    for label, key, unit in INVARIANTS:
        result.absolute(f"{label}, {name} defaults", value=found[key], unit=unit, limit=0)
        held = held and found[key] == 0
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--children", type=int, help="children in the demo (default by --size)")
    parser.add_argument("--days", type=int, help="days from Monday 00:00 (7: a whole week)")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--defaults",
        choices=[*INSTITUTION_DEFAULTS, "all"],
        default="calm",
        help="the institutions' notification defaults (calm_world.INSTITUTION_DEFAULTS)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    children, days = SIZES[args.size]
    args.children = args.children or children
    args.days = args.days or days
    monday = next_monday(dt.datetime.now(ZoneInfo(ZONE)).date())
    profiles = list(INSTITUTION_DEFAULTS) if args.defaults == "all" else [args.defaults]
    result = harness.Result(
        "calm_week",
        size={
            "children": args.children,
            "days": args.days,
            "engine": args.engine,
            "week_of": monday.isoformat(),
        },
    )
    held = True
    with harness.bench_workdir() as work:
        write_demo_data(work / "demo", children=args.children, seed=1)
        for profile in profiles:
            found = run_week(
                work,
                profile=profile,
                days=args.days,
                engine=args.engine,
                seed=args.seed,
                monday=monday,
            )
            result.details[profile] = found
            held = report(result, found) and held
    path = result.write()
    print(f"  written to {path}")
    if not held:
        print("calm_week: an invariant was broken (see above)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
