#!/usr/bin/env python3
"""Inbox API benchmark: the unread counts and the thread list under load, against a bare app.

    .venv/bin/python bench/inbox_api.py [--size tiny|default|large] [--connections 32]
                                        [--duration 10] [--rate 1000] [--load wrk|python]

It writes the demo municipality, imports it into a fresh PostgreSQL database and fills
the inboxes through the messaging service (not timed): every class's teacher starts
``--threads-per-class`` conversations with the class's guardians, and about half of
the entries are then marked read, so each guardian has some threads, some unread.
Tokens come the production way: the run signs an ES256 JWT per guardian and serves
their JWKS on loopback, and ``budstikke serve`` (one process, PostgreSQL, Redis for
the rate limits, ``BUDSTIKKE_AUTH_JWKS_URL``) verifies them. In the same run it
measures, for ``GET /v1/inbox/unread`` and ``GET /v1/inbox/threads``:

- *closed loop*: ``wrk -t1 -c<connections>`` for ``--duration`` seconds, each request
  with the next guardian's token (a Lua script rotates through all of them): req/s,
  p50, p99; against the same on ``bench/baseline_app.py`` (a bare Litestar app under
  uvicorn, same worker count, one asyncpg query per request, the token *is* the
  person id); and each server's CPU per request (user + system, from ``/proc``), which
  holds up on a busy machine far better than req/s;
- *fixed rate*: ``--rate`` requests per second for ``--rate-duration`` seconds from a
  Python open-loop generator (wrk2 is not in Debian; wrk itself can only pace a closed
  loop, which hides queueing): each latency runs from the moment the request was due,
  so a stall counts in full (no coordinated omission); p99 against the 50 ms limit.

The load generator shares the machine's cores with the server and PostgreSQL: wrk runs
one thread (at most one core), the Python generator one event loop. Without wrk (``apt-get
install -y wrk``) the closed loop uses the Python generator too, which tops out lower.
Any non-2xx answer or a response that differs from the baseline's makes the run exit
non-zero. Writes ``bench/results/inbox_api.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from harness import (
    Result,
    bench_workdir,
    drop_postgres,
    fresh_postgres,
    import_demo,
    postgres_admin_url,
)
from harness import redis_url as bench_redis_url
from jwt.algorithms import ECAlgorithm
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from gateway import migrate
from gateway.audience.schemas import Audience, GroupAudience, Roles
from gateway.config import load_settings
from gateway.db import create_engine, session_factory
from gateway.messaging import threads
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.schemas import MessageCreate
from gateway.roster.models import Group, GroupKind, MemberRole, Membership, Municipality, Person

DATABASE = "budstikke_bench_inbox"
PATHS = {"unread": "/v1/inbox/unread", "threads": "/v1/inbox/threads"}
ISSUER, AUDIENCE, KID = "https://idp.bench.invalid", "budstikke-bench", "bench-1"
SIZES = {  # children, seconds per closed-loop run, seconds per fixed-rate run
    "tiny": (150, 3, 3),
    "default": (1000, 10, 10),
    "large": (5000, 30, 30),
}
WARM_UP_S = 2
LIMIT_P99_MS = 50.0
TARGET_RATIO = 0.8


# --- setup (not timed) ---------------------------------------------------------------


async def _fill_inboxes(database_url: str, folder: Path, per_class: int) -> list[str]:
    """Import the roster, start conversations per class, mark about half read.

    Returns the source ids of the guardians who have an inbox entry.
    """
    engine = create_engine(database_url)
    settings = load_settings({"BUDSTIKKE_DATABASE_URL": database_url})
    try:
        await import_demo(engine, folder)
        sessions = session_factory(engine)
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(Group.id, Person.id, Person.municipality_id)
                    .join(Membership, Membership.group_id == Group.id)
                    .join(Person, Person.id == Membership.person_id)
                    .where(Group.kind == GroupKind.CLASS.value)
                    .where(Membership.role == MemberRole.TEACHER.value)
                    .order_by(Group.id, Person.source_id)
                )
            ).all()
        first: dict[Any, Any] = {}
        for row in rows:  # one teacher per class: the first by source id
            first.setdefault(row[0], row)
        teachers = list(first.values())
        for number in range(per_class):
            for group_id, teacher_id, municipality_id in teachers:
                actor = Actor(
                    person_id=teacher_id,
                    municipality_id=municipality_id,
                    kind="staff",
                    acr="substantial",
                    principal=f"person:{teacher_id}",
                )
                message = MessageCreate(
                    subject=f"Ugebrev {number + 1}",
                    body="Kære forældre\n\nHer er ugens **nyt** fra klassen.",
                    audience=Audience(
                        targets=[GroupAudience(group=group_id, roles=[Roles.GUARDIANS])]
                    ),
                )
                async with sessions() as session:
                    await threads.send(
                        session, actor, message, settings=settings, events=Events(None)
                    )
        async with sessions() as session, session.begin():
            await session.execute(text("SELECT setseed(0.42)"))
            await session.execute(
                text(
                    "UPDATE thread_participants SET unread_count = 0, read_at = now() "
                    "WHERE role = 'recipient' AND random() < 0.5"
                )
            )
            guardians = await session.scalars(
                text(
                    "SELECT DISTINCT p.source_id FROM people p JOIN thread_participants t "
                    "ON t.person_id = p.id WHERE p.kind = 'guardian' ORDER BY 1"
                )
            )
            found = list(guardians)
            code = await session.scalar(select(Municipality.code))
        return [f"{code}\t{source_id}" for source_id in found]
    finally:
        await engine.dispose()


async def _person_ids(database_url: str, subjects: list[str]) -> list[str]:
    """The gateway ids of these guardians, for the baseline's tokens, in the same order."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(select(Person.source_id, Person.id))
            ids = {source_id: str(person_id) for source_id, person_id in rows}
        return [ids[s.split("\t")[1]] for s in subjects]
    finally:
        await engine.dispose()


def _tokens(key: ec.EllipticCurvePrivateKey, subjects: list[str]) -> list[str]:
    """One ES256 token per guardian, as the portal's identity provider would sign it."""
    now = dt.datetime.now(dt.UTC)
    tokens = []
    for subject in subjects:
        code, source_id = subject.split("\t")
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": source_id,
            "municipality": code,
            "acr": "substantial",
            "iat": now,
            "exp": now + dt.timedelta(hours=2),
        }
        tokens.append(jwt.encode(claims, key, algorithm="ES256", headers={"kid": KID}))
    return tokens


@contextlib.contextmanager
def _jwks_server(key: ec.EllipticCurvePrivateKey) -> Iterator[str]:
    """The identity provider's JWKS on a loopback port, for as long as the run lasts."""
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True) | {
        "kid": KID,
        "alg": "ES256",
        "use": "sig",
    }
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str], port: int) -> Iterator[int]:
    """Start a server process, wait until it answers; stop it afterwards. Yields its pid."""
    process = subprocess.Popen(command, env=env, cwd=Path(__file__).parent)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{command[0]} exited with {process.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{command} did not start listening on {port}")
            time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve_command(override: str | None) -> list[str]:
    if override:
        return shlex.split(override)
    script = Path(sys.executable).with_name("budstikke")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-c", "from gateway.cli import main; main()", "serve"]


# --- load -----------------------------------------------------------------------------

_LUA = """
local tokens = {}
for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = line end
local i = math.random(#tokens)
request = function()
  i = i %% #tokens + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[i]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nRESULT {"requests": %%d, "duration_us": %%d, "errors": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _wrk(url: str, tokens_file: Path, connections: int, seconds: float) -> dict[str, float]:
    """A closed loop: ``connections`` keep-alive connections, one wrk thread."""
    script = tokens_file.with_suffix(".lua")
    script.write_text(_LUA % {"tokens": tokens_file}, encoding="utf-8")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"]
    out = subprocess.run(  # noqa: S603
        [*command, "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    found = json.loads(line.removeprefix("RESULT "))
    return {
        "rps": found["requests"] / (found["duration_us"] / 1e6),
        "requests": found["requests"],
        "errors": found["errors"],
        "p50_ms": found["p50_us"] / 1000,
        "p99_ms": found["p99_us"] / 1000,
    }


class _Connection:
    """One keep-alive HTTP/1.1 connection: send a GET, read the answer's status and body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def get(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(head[9:12]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def _requests(path: str, tokens: list[str]) -> list[bytes]:
    return [
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {t}\r\n\r\n".encode()
        for t in tokens
    ]


async def _open_loop(
    port: int, requests: list[bytes], rate: float, seconds: float
) -> dict[str, float]:
    """``rate`` requests per second on schedule; each latency counts from when it was due.

    A server that falls more than a second behind has missed any sane latency limit:
    the run stops there, and each request still waiting counts with the time it has
    waited so far (so the p99 is then a lower bound, and ``overloaded`` says so).
    """
    connections = [await _Connection.open(port) for _ in range(64)]
    free: asyncio.Queue[_Connection] = asyncio.Queue()
    for connection in connections:
        free.put_nowait(connection)
    latencies: list[float] = []
    errors = 0
    waiting: dict[asyncio.Task[None], float] = {}

    async def one(request: bytes, due: float) -> None:
        nonlocal errors
        connection = await free.get()
        status, _ = await connection.get(request)
        latencies.append(time.perf_counter() - due)
        errors += status >= 400
        free.put_nowait(connection)

    start = time.perf_counter() + 0.05
    overloaded = False
    for i in range(int(rate * seconds)):
        due = start + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        if len(waiting) > rate:
            overloaded = True
            break
        task = asyncio.create_task(one(requests[i % len(requests)], due))
        waiting[task] = due
        task.add_done_callback(waiting.pop)
    answered = len(latencies)
    if overloaded:
        now = time.perf_counter()
        latencies.extend(now - due for due in waiting.values())
        for task in list(waiting):
            task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    elapsed = time.perf_counter() - start
    for connection in connections:
        connection.close()
    found = _summary(latencies, errors, elapsed)
    return found | {"rps": answered / elapsed, "overloaded": overloaded}


async def _closed_loop(
    port: int, requests: list[bytes], connections: int, seconds: float
) -> dict[str, float]:
    """The fallback without wrk: each connection sends its next request on an answer."""
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        nonlocal errors
        connection = await _Connection.open(port)
        i = offset
        while (started := time.perf_counter()) < stop:
            status, _ = await connection.get(requests[i % len(requests)])
            latencies.append(time.perf_counter() - started)
            errors += status >= 400
            i += connections
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(connections)))
    return _summary(latencies, errors, time.perf_counter() - started)


def _summary(latencies: list[float], errors: int, elapsed: float) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "rps": len(latencies) / elapsed,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def _run_loop(coroutine: Any) -> Any:
    with contextlib.suppress(ImportError):
        import uvloop  # noqa: PLC0415

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def _closed(
    args: argparse.Namespace, target: _Target, name: str, work: Path, seconds: float
) -> dict[str, float]:
    url = f"http://127.0.0.1:{target.port}{PATHS[name]}"
    if args.load == "wrk":
        tokens_file = work / f"tokens-{target.label}.txt"
        if not tokens_file.exists():
            tokens_file.write_text("\n".join(target.tokens) + "\n", encoding="utf-8")
        return _wrk(url, tokens_file, args.connections, seconds)
    requests = _requests(PATHS[name], target.tokens)
    return _run_loop(_closed_loop(target.port, requests, args.connections, seconds))


def _fetch(port: int, path: str, token: str) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def _same_answers(serve: int, bare: int, tokens: list[str], bare_tokens: list[str]) -> None:
    """The baseline answers what the gateway answers (a few guardians): a fair ceiling."""
    pairs = list(zip(tokens, bare_tokens, strict=True))
    for token, bare_t in pairs[:: max(1, len(pairs) // 5)]:
        ours, theirs = _fetch(serve, PATHS["unread"], token), _fetch(bare, PATHS["unread"], bare_t)
        if ours != theirs:
            raise SystemExit(f"unread differs from the baseline's: {ours} != {theirs}")
        ours, theirs = (
            _fetch(serve, PATHS["threads"], token),
            _fetch(bare, PATHS["threads"], bare_t),
        )
        if [t["id"] for t in ours["items"]] != [t["id"] for t in theirs["items"]]:
            raise SystemExit("the thread list differs from the baseline's")
        if not ours["items"]:
            raise SystemExit("a guardian with an inbox entry got an empty thread list")


def _profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    if shutil.which("py-spy") is None and not Path(sys.executable).with_name("py-spy").exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen(  # noqa: S603
        [
            spy,
            "record",
            "-p",
            str(pid),
            "-d",
            str(int(seconds)),
            "-r",
            "200",
            "--format",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
    )


# --- the run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """A server under test: its port, process and the tokens its callers send."""

    label: str
    port: int
    pid: int
    tokens: list[str]


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process so far (Linux ``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _load_one(args: argparse.Namespace, work: Path, target: _Target, name: str) -> dict[str, float]:
    """Warm up, then one closed-loop run; with ``--profile``, py-spy records it."""
    _closed(args, target, name, work, WARM_UP_S)
    spy = None
    if args.profile and target.label == "serve":
        spy = _profile(target.pid, args.duration, args.profile / f"inbox_{name}.txt")
    user, system = _cpu_seconds(target.pid)
    found = _closed(args, target, name, work, args.duration)
    user_after, system_after = _cpu_seconds(target.pid)
    # CPU per request holds up on a busy machine far better than req/s does; the system
    # part is mostly the loopback sends of each round trip to PostgreSQL and Redis.
    per = 1000 / found["requests"]
    found["user_ms_per_request"] = (user_after - user) * per
    found["system_ms_per_request"] = (system_after - system) * per
    found["cpu_ms_per_request"] = found["user_ms_per_request"] + found["system_ms_per_request"]
    if spy is not None:
        spy.wait()
    return found


def _environment(database_url: str, redis: str, work: Path, port: int, jwks: str) -> dict[str, str]:
    # Only these settings: the bench's own BUDSTIKKE_BENCH_* are not the gateway's.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("BUDSTIKKE_")}
    return inherited | {
        "BUDSTIKKE_DATABASE_URL": database_url,
        "BUDSTIKKE_REDIS_URL": redis,
        "BUDSTIKKE_PORT": str(port),
        "BUDSTIKKE_DATA_DIR": str(work / "data"),
        "BUDSTIKKE_AUTH_JWKS_URL": jwks,
        "BUDSTIKKE_AUTH_ISSUER": ISSUER,
        "BUDSTIKKE_AUTH_AUDIENCE": AUDIENCE,
        "BUDSTIKKE_LOG_LEVEL": "warning",
        "BUDSTIKKE_API_PROCESSES": "1",
    }


def _measure(
    args: argparse.Namespace, work: Path, database_url: str, redis: str, subjects: list[str]
) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    order = list(range(len(subjects)))
    random.Random(7).shuffle(order)  # noqa: S311 - an order, not a secret
    tokens, bare_ids = _tokens(key, subjects), _run_loop(_person_ids(database_url, subjects))
    tokens, bare_tokens = [tokens[i] for i in order], [bare_ids[i] for i in order]
    libpq = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    found: dict[str, Any] = {"guardians": len(tokens)}
    serve_port, bare_port = _free_port(), _free_port()
    bare = [sys.executable, "baseline_app.py", "--database-url", libpq, "--port", str(bare_port)]
    with _jwks_server(key) as jwks_url:
        env = _environment(database_url, redis, work, serve_port, jwks_url)
        serve_command = _serve_command(args.serve_command)
        with _server(serve_command, env, serve_port) as pid, _server(bare, env, bare_port) as bpid:
            _same_answers(serve_port, bare_port, tokens, bare_tokens)
            serve = _Target("serve", serve_port, pid, tokens)
            for name, path in PATHS.items():
                for target in (_Target("bare", bare_port, bpid, bare_tokens), serve):
                    found[f"{target.label}_{name}"] = _load_one(args, work, target, name)
                requests = _requests(path, tokens)
                found[f"rate_{name}"] = _run_loop(
                    _open_loop(serve_port, requests, args.rate, args.rate_duration)
                )
    return found


def _report(args: argparse.Namespace, children: int, found: dict[str, Any]) -> Result:
    load = "wrk -t1" if args.load == "wrk" else "Python closed loop"
    result = Result(
        "inbox_api",
        size={
            "children": children,
            "guardians": found["guardians"],
            "connections": args.connections,
            "seconds": args.duration,
        },
    )
    for name in PATHS:
        ours, bare = found[f"serve_{name}"], found[f"bare_{name}"]
        result.figure(
            f"{name} throughput",
            value=ours["rps"],
            unit="req/s",
            baseline=bare["rps"],
            baseline_name="bare Litestar + asyncpg",
            target=TARGET_RATIO,
            note=f"{load}, p50 {ours['p50_ms']:.1f} ms, p99 {ours['p99_ms']:.1f} ms "
            f"(bare p50 {bare['p50_ms']:.1f}, p99 {bare['p99_ms']:.1f})",
        )
        result.figure(
            f"{name} CPU per request",
            value=ours["cpu_ms_per_request"],
            unit="ms",
            baseline=bare["cpu_ms_per_request"],
            baseline_name="bare",
            higher_is_better=False,
            note=f"the server process's CPU over its requests: user "
            f"{ours['user_ms_per_request']:.2f} + system {ours['system_ms_per_request']:.2f} "
            f"(bare {bare['user_ms_per_request']:.2f} + {bare['system_ms_per_request']:.2f})",
        )
        rate = found[f"rate_{name}"]
        result.absolute(
            f"{name} p99 at {args.rate:g} req/s",
            value=rate["p99_ms"],
            unit="ms",
            limit=LIMIT_P99_MS,
            note=f"open loop, achieved {rate['rps']:,.0f} req/s, p50 {rate['p50_ms']:.1f} ms"
            + (", stopped over a second behind: a lower bound" if rate["overloaded"] else ""),
        )
    result.details = found | {"load_generator": load, "shares_cores_with_server": True}
    return result


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="default")
    parser.add_argument("--children", type=int, help="demo size (overrides --size)")
    parser.add_argument("--threads-per-class", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, help="seconds per closed-loop run")
    parser.add_argument("--rate", type=float, default=1000.0, help="fixed-rate req/s")
    parser.add_argument("--rate-duration", type=float, help="seconds per fixed-rate run")
    parser.add_argument("--load", choices=["wrk", "python"], help="default: wrk if installed")
    parser.add_argument(
        "--serve-command", help="run this instead of `budstikke serve` (to compare a variant)"
    )
    parser.add_argument("--profile", type=Path, help="py-spy raw stacks of serve into this folder")
    args = parser.parse_args()
    children, seconds, rate_seconds = SIZES[args.size]
    args.children = args.children or children
    args.duration = args.duration or seconds
    args.rate_duration = args.rate_duration or rate_seconds
    args.load = args.load or _wrk_or_python()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    return args


def _wrk_or_python() -> str:
    if shutil.which("wrk"):
        return "wrk"
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, check=False)  # noqa: S607
        if shutil.which("wrk"):
            return "wrk"
    print("wrk not found (apt-get install -y wrk): the closed loop uses the Python generator")
    return "python"


def main() -> None:
    args = _arguments()
    from gateway.roster.demo import write_demo_data  # noqa: PLC0415

    with bench_workdir() as work:
        summary = write_demo_data(work / "demo", children=args.children, seed=1)
        admin, pg_server = postgres_admin_url(work)
        redis, redis_server = bench_redis_url(work)
        database_url = _run_loop(fresh_postgres(admin, DATABASE))
        try:
            migrate.upgrade(database_url)
            subjects = _run_loop(_fill_inboxes(database_url, work / "demo", args.threads_per_class))
            found = _measure(args, work, database_url, redis, subjects)
        finally:
            _run_loop(drop_postgres(admin, DATABASE))
            if redis_server is not None:
                redis_server.shutdown()
            if pg_server is not None:
                pg_server.cleanup()
    result = _report(args, summary.children, found)
    result.write()
    bad = {k: v["errors"] for k, v in found.items() if isinstance(v, dict) and v.get("errors")}
    if bad:
        raise SystemExit(f"non-2xx answers under load: {bad}")


if __name__ == "__main__":
    main()
