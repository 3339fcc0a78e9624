#!/usr/bin/env python3
"""Morning peak: a realistic mix at 10,000 posts a minute against one API and one worker.

    .venv/bin/python bench/morning_peak.py [--rate 10000] [--minutes 3] [--children 3000]
        [--push-share 0.5] [--announcements-per-minute 2] [--visibility-sample 0.05]
        [--max-in-flight 2000] [--drain-timeout 120] [--profile] [--size tiny]

Production commands on PostgreSQL + Redis: ``budstikke serve`` (one process) and
``budstikke worker`` (one process), email to a local counting SMTP sink and web push
to a local receiver (``bench/peak_sinks.py``, in their own process). The roster is the
demo municipality (``write_demo_data``); ``--push-share`` of the class guardians hold a
push subscription with real keys (they get push; the others email; staff get email).
Quiet hours are one minute half a day away and working hours all week, so every
notification goes at once: this measures the *instant* path, not the calm rules.
Per-caller rate limits are raised to their most, 60,000 a minute (the limiter still runs).

The load is open-loop (``bench/peak_load.py``): posts leave at their scheduled times
whatever the answers, over HTTP with dev tokens. It reports request → ``202`` (p50,
p99; split at the message row's ``created_at`` into before and after the insert) and
how many posts left late; ``202`` → visible in a sampled recipient's own
inbox read (by design entries commit before the 202; this checks it); ``202`` → push
received and → email received, matched back to each post; and the backlog (arq queue,
undone outbox rows, queued deliveries) each second, with whether it stayed bounded
(``bench/peak_series.py``). The generator and receivers share the machine's cores with
the server, the worker, PostgreSQL and Redis. ``--profile`` records py-spy profiles of
the API and the worker during the load and prints where their time went; the CPU
seconds per post (API) and per notification (worker) are reported in any case.

Writes ``bench/results/morning_peak.json`` (figures, details and the series). Exits 1
if the system misbehaved: an answer other than 202 (posts shed at ``--max-in-flight``,
timed out or whose connection failed are reported, not counted), a sampled post never
visible, a duplicate, a notification marked sent that never arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import harness
import peak_report
from peak_load import Load
from peak_processes import Processes, environ_for
from peak_profile import Profiler, cpu_seconds, machine_cpu
from peak_roster import Roster, build
from peak_series import Sampler, as_json, forget_queue, judge, table
from peak_sinks import Records, Sinks

from gateway import migrate
from gateway.roster.demo import write_demo_data

DATABASE = "budstikke_bench_peak"
WARM_THREADS = 200


async def _measure(
    args: argparse.Namespace,
    *,
    environ: dict[str, str],
    roster: Roster,
    processes: Processes,
    profiler: Profiler | None,
    sinks_pid: int,
) -> dict[str, Any]:
    seconds = args.minutes * 60
    load = Load(
        processes.base_url,
        roster,
        args.rate,
        seconds,
        args.announcements_per_minute,
        args.visibility_sample,
        args.max_in_flight,
    )
    pids = {name: child.pid for name, child in processes.children.items()}
    pids.update(generator=os.getpid(), receivers=sinks_pid)
    async with (
        load,
        Sampler(
            environ["BUDSTIKKE_DATABASE_URL"],
            environ["BUDSTIKKE_REDIS_URL"],
            environ["BUDSTIKKE_QUEUE_NAME"],
            load,
        ) as sampler,
    ):
        await load.warm(WARM_THREADS)
        if await sampler.drained(args.drain_timeout) is None:
            raise SystemExit("the warm-up's backlog did not drain")
        load.sent.clear()
        sampler.samples.clear()
        sampler.start = start = time.time() + 0.5
        stop = asyncio.Event()
        sampling = asyncio.create_task(sampler.every_second(stop))
        if profiler is not None:
            profiler.start()
        before = _cpu(pids)
        await load.run(start)
        load_s = time.time() - start
        stop.set()
        await sampling
        during = _cpu(pids)
        processes.check()
        drain_s = await sampler.drained(args.drain_timeout)
        await asyncio.sleep(1.0)  # the last receipts
        after = _cpu(pids)
        if profiler is not None:
            profiler.stop()
    cpu = {
        "load_window": {k: during[k] - before[k] for k in before},
        "load_and_drain": {k: after[k] - before[k] for k in before},
    }
    return {
        "load": load,
        "samples": sampler.samples,
        "load_s": load_s,
        "drain_s": drain_s,
        "cpu_s": cpu,
    }


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each process and of the whole machine (busy, all cores)."""
    found = {name: cpu_seconds(pid) for name, pid in pids.items()}
    found["machine_busy"], found["machine_total"] = machine_cpu()
    return found


def _report(
    args: argparse.Namespace,
    found: dict[str, Any],
    records: Records,
    roster: Roster,
    planned: dict[str, tuple[str, str, str]],
) -> int:
    load: Load = found["load"]
    seconds = args.minutes * 60
    post = peak_report.posting(load.sent)
    post["split"] = peak_report.split(load.sent, found["stored"])
    seen = peak_report.visibility(load.seen)
    got = peak_report.receipts(load.sent, records, roster.subscribers, planned)
    backlog = judge(found["samples"], seconds, args.rate / 60, found["drain_s"])
    result = harness.Result(
        "morning_peak",
        size={
            "posts_per_minute": int(args.rate),
            "minutes": args.minutes,
            "children": args.children,
            "push_subscriptions": len(roster.subscribers),
        },
    )
    late = (
        f"{post['late_over_10ms']:,} of {post['posts']:,} left > 10 ms late, "
        f"{post['late_over_100ms']:,} > 100 ms (max {post['late_max_s']:.2f} s)"
    )
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(post["statuses"].items()))
    _absolute(result, "request → 202 p50", post["sent_to_202"]["p50_s"], note=late)
    _absolute(result, "request → 202 p99", post["sent_to_202"]["p99_s"], note=statuses)
    _absolute(
        result,
        "scheduled → 202 p99",
        post["scheduled_to_202"]["p99_s"],
        note="includes the generator's lateness",
    )
    row, answer = post["split"]["sent_to_row"], post["split"]["row_to_202"]
    _absolute(
        result,
        "request → message row built p50",
        row["p50_s"],
        note="auth, policy, audience: before the insert",
    )
    _absolute(
        result,
        "message row built → 202 p50",
        answer["p50_s"],
        note=f"insert, commit, enqueue, answer; p99 {_seconds(answer['p99_s'])}",
    )
    first = f"{seen['on_first_read']} of {seen['sampled']} on the first read, {seen['never']} never"
    _absolute(result, "202 → visible in inbox p50", seen["p50_s"])
    _absolute(result, "202 → visible in inbox p99", seen["p99_s"], limit=1.0, note=first)
    for channel in ("push", "email"):
        part = got[channel]
        _absolute(result, f"202 → {channel} received p50", part["p50_s"])
        _absolute(
            result,
            f"202 → {channel} received p99",
            part["p99_s"],
            note=f"{part['n']:,} matched, {part['duplicates']} duplicates",
        )
    result.absolute(
        "backlog slope, 2nd half of load",
        value=backlog["slope_second_half_per_s"],
        unit="items/s",
        limit=backlog["slope_limit_per_s"],
        note=f"peak {backlog['peak_backlog']:,}",
    )
    drain = backlog["drain_s"]
    result.absolute(
        "backlog drained after the load",
        value=drain if drain is not None else -1,
        unit="s",
        limit=args.drain_timeout,
        note="bounded" if backlog["bounded"] else "NOT bounded",
    )
    _cpu_figures(
        result,
        found["cpu_s"],
        post["statuses"].get("202", 0),
        got["email"]["n"] + got["push"]["n"],
        found["load_s"],
    )
    print(table(found["samples"]))
    result.details.update(
        posting=post,
        visibility=seen,
        receipts=got,
        backlog=backlog,
        series=as_json(found["samples"]),
        load_s=found["load_s"],
        cpu_s=found["cpu_s"],
        profile=found.get("profile"),
        instant_path=True,
        shared_cores=os.cpu_count(),
    )
    result.write()
    return _verdict(post, seen, got)


def _cpu_figures(
    result: harness.Result,
    cpu: dict[str, dict[str, float]],
    posts: int,
    notifications: int,
    load_s: float,
) -> None:
    """CPU per accepted post (API) and per notification received (worker), and how busy
    the machine was. The API's includes the sampled recipients' inbox reads."""
    window, whole = cpu["load_window"], cpu["load_and_drain"]
    cores = window["machine_total"] / load_s if load_s else 0
    ours = sum(window[k] for k in ("serve", "worker", "generator", "receivers"))
    result.absolute(
        "API CPU per post",
        value=1000 * whole["serve"] / max(posts, 1),
        unit="ms",
        note=f"API busy {window['serve'] / load_s:.0%} of a core during the load",
    )
    result.absolute(
        "worker CPU per notification",
        value=1000 * whole["worker"] / max(notifications, 1),
        unit="ms",
        note=f"worker busy {window['worker'] / load_s:.0%} of a core during the load",
    )
    result.absolute(
        "machine busy during the load",
        value=window["machine_busy"] / load_s,
        unit="cores",
        note=f"of {cores:.0f}; API+worker+generator+receivers {ours / load_s:.2f}, "
        "the rest PostgreSQL, Redis and other work on the machine",
    )


def _absolute(
    result: harness.Result,
    name: str,
    value: float | None,
    *,
    limit: float | None = None,
    note: str = "",
) -> None:
    result.absolute(
        name, value=value if value is not None else float("nan"), unit="s", limit=limit, note=note
    )


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g} s"


def _verdict(post: dict[str, Any], seen: dict[str, Any], got: dict[str, Any]) -> int:
    """1 if the system misbehaved (not if it was slow): errors, lost or doubled items."""
    problems = []
    # Shed and timed-out posts, and those the server's admission control refused (503
    # with Retry-After, BUDSTIKKE_API_MAX_IN_FLIGHT), are the load's excess (reported),
    # not a wrong answer.
    excess = {"202", "shed", "timed out", "503"}
    errors = {k: v for k, v in post["statuses"].items() if k not in excess}
    if errors:
        problems.append(f"posts not accepted: {errors}")
    if seen["never"]:
        problems.append(f"{seen['never']} sampled posts never showed in the recipient's inbox")
    for channel in ("email", "push"):
        if got[channel]["duplicates"]:
            problems.append(f"{got[channel]['duplicates']} duplicate {channel} notifications")
    if got["email"]["sent_not_received"]:
        problems.append(f"{got['email']['sent_not_received']} mails marked sent never arrived")
    if got["push"]["delivered_in_db"] > got["push"]["n"]:
        problems.append("pushes marked delivered never arrived")
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    return 1 if problems else 0


def _run(args: argparse.Namespace, work: Path) -> int:
    admin, pg_server = harness.postgres_admin_url(work)
    redis_url, redis_server = harness.redis_url(work)
    sinks = Sinks()
    processes: Processes | None = None
    database_url = asyncio.run(harness.fresh_postgres(admin, DATABASE))
    try:
        environ = environ_for(work, database_url, redis_url, sinks)
        migrate.upgrade(database_url)
        write_demo_data(work / "demo", children=args.children, seed=1)
        roster = asyncio.run(
            build(environ, work / "demo", push_share=args.push_share, push_origin=sinks.push_origin)
        )
        processes = Processes(work, environ)
        processes.start()
        profiler = Profiler(work, processes.children) if args.profile else None
        found = asyncio.run(
            _measure(
                args,
                environ=environ,
                roster=roster,
                processes=processes,
                profiler=profiler,
                sinks_pid=sinks.pid or 0,
            )
        )
        records = sinks.stop()
        processes.stop()
        asyncio.run(forget_queue(redis_url, environ["BUDSTIKKE_QUEUE_NAME"]))
        if profiler is not None:
            profiler.summarise()
            found["profile"] = profiler.summary
        planned = asyncio.run(peak_report.deliveries(database_url))
        found["stored"] = asyncio.run(peak_report.stored_at(database_url))
        return _report(args, found, records, roster, planned)
    finally:
        sinks.kill()
        if processes is not None:
            processes.stop()
        asyncio.run(harness.drop_postgres(admin, DATABASE))
        if pg_server is not None:
            pg_server.cleanup()
        if redis_server is not None:
            redis_server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10_000, help="posts per minute")
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the load")
    parser.add_argument("--children", type=int, default=3000, help="demo roster size")
    parser.add_argument("--push-share", type=float, default=0.5)
    parser.add_argument("--announcements-per-minute", type=float, default=2.0)
    parser.add_argument(
        "--visibility-sample",
        type=float,
        default=0.05,
        help="share of 202s whose recipient reads their inbox at once",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=2000,
        help="posts waiting for answers at most; one due beyond that is shed (not sent)",
    )
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--profile", action="store_true", help="py-spy the API and worker")
    parser.add_argument(
        "--size",
        choices=["tiny"],
        help="tiny: a smoke run (1,000 children, 3,000 posts/min for 12 s; overrides those three)",
    )
    args = parser.parse_args()
    if args.size == "tiny":
        args.children, args.minutes, args.rate = 1000, 0.2, 3000
    with harness.bench_workdir() as work:
        code = _run(args, work)
    sys.exit(code)


if __name__ == "__main__":
    main()
