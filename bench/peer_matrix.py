"""The peer side of ``peer_synapse.py``: Matrix Synapse in its own venv, and its clients.

Synapse is installed from PyPI into ``bench/.peer-venv`` on first use (made with the
Python that runs the benchmark, so the same interpreter version; reused afterwards) and
is never a dependency of the project. It listens on loopback only, with federation off,
presence off and every rate limit lifted, on the same database engine as Budstikke.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import harness
from peer_process import ROUND_TIMEOUT, Server, free_port, wait_idle

SYNAPSE_VERSION = "1.163.2"
# psycopg2-binary, not the ``postgres`` extra: that builds psycopg2 and needs pg_config.
REQUIREMENTS = (f"matrix-synapse=={SYNAPSE_VERSION}", "psycopg2-binary==2.9.13")
VENV = Path(__file__).resolve().parent / ".peer-venv"
SERVER_NAME = "bench.localhost"
# An Element-like filter: members are lazy-loaded, so a sync does not carry 500 of them.
SYNC_FILTER = json.dumps({"room": {"state": {"lazy_load_members": True}}}, separators=(",", ":"))
NO_LIMIT = {"per_second": 1_000_000, "burst_count": 1_000_000}
RATE_LIMITS = (
    "rc_message",
    "rc_registration",
    "rc_joins_per_room",
    "rc_invites",
    "rc_3pid_validation",
    "rc_admin_redaction",
    "rc_media_create",
    "rc_room_creation",
    "rc_reports",
)


def ensure_synapse() -> Path:
    """The peer venv's python, with the pinned Synapse installed (first run only)."""
    python = VENV / "bin" / "python"
    marker = VENV / "installed.txt"
    wanted = "\n".join(REQUIREMENTS)
    if marker.exists() and marker.read_text(encoding="utf-8") == wanted:
        return python
    print(f"installing {' '.join(REQUIREMENTS)} into {VENV} (first run, not timed)", flush=True)
    try:
        if not python.exists():
            # The interpreter the project runs on (a venv's python makes a venv of its base).
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603
            [str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True
        )
    except subprocess.CalledProcessError as exc:
        raise SystemExit(
            f"could not install the peer ({exc}); it needs PyPI and the venv module "
            f"(Debian: apt-get install python3-venv). By hand: {sys.executable} -m venv "
            f"{VENV} && {python} -m pip install {' '.join(REQUIREMENTS)}"
        ) from exc
    marker.write_text(wanted, encoding="utf-8")
    return python


def _database(engine: str, work: Path, postgres: dict[str, Any] | None) -> dict[str, Any]:
    if engine == "sqlite":
        return {"name": "sqlite3", "args": {"database": str(work / "synapse.db")}}
    assert postgres is not None
    return {"name": "psycopg2", "args": {**postgres, "cp_min": 5, "cp_max": 10}}


def _overrides(port: int, work: Path, database: dict[str, Any]) -> dict[str, Any]:
    """What the benchmark changes from Synapse's generated config (a second config file)."""
    overrides: dict[str, Any] = {
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": database,
        "log_config": str(work / "log.yaml"),
        "enable_registration": False,
        # Registration is not timed; a cheap hash keeps setting up 500 users short.
        "bcrypt_rounds": 4,
        "presence": {"enabled": False},
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "rc_login": {"address": NO_LIMIT, "account": NO_LIMIT, "failed_attempts": NO_LIMIT},
        "rc_joins": {"local": NO_LIMIT, "remote": NO_LIMIT},
        "rc_presence": {"per_user": NO_LIMIT},
    }
    overrides.update(dict.fromkeys(RATE_LIMITS, NO_LIMIT))
    return overrides


_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"file": {"class": "logging.FileHandler", "formatter": "plain"}},
    "root": {"level": "WARNING", "handlers": ["file"]},
    "disable_existing_loggers": False,
}


def start_synapse(
    python: Path, work: Path, engine: str, postgres: dict[str, Any] | None
) -> tuple[Server, str, str]:
    """Generate a config, start Synapse on a free loopback port; server, URL, shared secret."""
    work.mkdir(parents=True, exist_ok=True)
    base = work / "homeserver.yaml"
    subprocess.run(  # noqa: S603
        [
            str(python),
            "-m",
            "synapse.app.homeserver",
            "--server-name",
            SERVER_NAME,
            "--config-path",
            str(base),
            "--generate-config",
            "--report-stats=no",
            "--data-directory",
            str(work),
        ],
        check=True,
        capture_output=True,
        cwd=work,
    )
    log = {**_LOG_CONFIG}
    log["handlers"] = {"file": {**_LOG_CONFIG["handlers"]["file"], "filename": str(work / "log")}}
    (work / "log.yaml").write_text(json.dumps(log), encoding="utf-8")  # JSON is YAML
    port = free_port()
    overrides = work / "bench.yaml"
    overrides.write_text(
        json.dumps(_overrides(port, work, _database(engine, work, postgres))), encoding="utf-8"
    )
    command = [
        str(python),
        "-m",
        "synapse.app.homeserver",
        "--config-path",
        str(base),
        "--config-path",
        str(overrides),
    ]
    server = Server.start("synapse", command, cwd=work, log=work / "stdout")
    url = f"http://127.0.0.1:{port}"
    server.wait_http(f"{url}/_matrix/client/versions", timeout=120)
    return server, url, _shared_secret(base)


def _shared_secret(config: Path) -> str:
    for line in config.read_text(encoding="utf-8").splitlines():
        if line.startswith("registration_shared_secret:"):
            value: str = json.loads(line.split(":", 1)[1].strip())
            return value
    raise SystemExit(f"no registration_shared_secret in {config}")


@dataclass
class Member:
    user_id: str
    token: str
    since: str = ""


@dataclass
class Room:
    """Synapse's side of one run: the server, the sender, the room and its members."""

    url: str
    sender: Member
    room_id: str
    members: list[Member] = field(default_factory=list)


async def _register(http: aiohttp.ClientSession, url: str, secret: str, name: str) -> Member:
    """Shared-secret registration (the admin API ``register_new_matrix_user`` uses)."""
    endpoint = f"{url}/_synapse/admin/v1/register"
    async with http.get(endpoint) as response:
        nonce = (await response.json())["nonce"]
    password = secrets.token_urlsafe(12)
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), name.encode(), password.encode(), b"notadmin"]))
    body = {
        "nonce": nonce,
        "username": name,
        "password": password,
        "admin": False,
        "mac": mac.hexdigest(),
    }
    async with http.post(endpoint, json=body) as response:
        found = await _json(response)
    return Member(user_id=found["user_id"], token=found["access_token"])


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    if response.status != 200:
        raise SystemExit(
            f"synapse: {response.method} {response.url.path}: "
            f"{response.status} {await response.text()}"
        )
    found: dict[str, Any] = await response.json()
    return found


def _auth(member: Member) -> dict[str, str]:
    return {"Authorization": f"Bearer {member.token}"}


async def _bounded(limit: int, items: list[Any], work: Callable[[Any], Any]) -> list[Any]:
    """Run ``work`` over ``items`` with at most ``limit`` at a time (setup, not timed)."""
    gate = asyncio.Semaphore(limit)

    async def one(item: Any) -> Any:
        async with gate:
            return await work(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def prepare_room(http: aiohttp.ClientSession, url: str, secret: str, members: int) -> Room:
    """Register the sender and ``members`` users, make the room, join them (not timed)."""
    started = time.perf_counter()
    names = ["sender"] + [f"member{i:06d}" for i in range(members)]
    users = await _bounded(8, names, lambda name: _register(http, url, secret, name))
    sender, others = users[0], users[1:]
    body = {"preset": "public_chat", "name": "Alle forældre", "visibility": "private"}
    async with http.post(
        f"{url}/_matrix/client/v3/createRoom", json=body, headers=_auth(sender)
    ) as response:
        room_id = (await _json(response))["room_id"]
    registered = time.perf_counter()
    quoted = urllib.parse.quote(room_id)

    async def join(member: Member) -> None:
        async with http.post(
            f"{url}/_matrix/client/v3/rooms/{quoted}/join", json={}, headers=_auth(member)
        ) as response:
            await _json(response)

    await _bounded(8, others, join)
    joined = time.perf_counter()
    room = Room(url=url, sender=sender, room_id=room_id, members=others)
    await _bounded(8, others, lambda member: _initial_sync(http, url, member))
    print(
        f"  synapse setup: {members + 1} users registered in {registered - started:.1f} s, "
        f"joined in {joined - registered:.1f} s, initial syncs in "
        f"{time.perf_counter() - joined:.1f} s",
        flush=True,
    )
    return room


async def _initial_sync(http: aiohttp.ClientSession, url: str, member: Member) -> None:
    params = {"filter": SYNC_FILTER, "timeout": "0"}
    async with http.get(
        f"{url}/_matrix/client/v3/sync", params=params, headers=_auth(member)
    ) as response:
        member.since = (await _json(response))["next_batch"]


def _has(found: dict[str, Any], room_id: str, marker: str) -> bool:
    events = found.get("rooms", {}).get("join", {}).get(room_id, {}).get("timeline", {})
    return any(e.get("content", {}).get("body") == marker for e in events.get("events", []))


async def _wait_for(
    http: aiohttp.ClientSession, room: Room, member: Member, marker: str, early: list[int]
) -> float:
    """Long-poll ``/sync`` from the member's ``since`` until it carries the marker."""
    while True:
        params = {"filter": SYNC_FILTER, "since": member.since, "timeout": "60000"}
        async with http.get(
            f"{room.url}/_matrix/client/v3/sync", params=params, headers=_auth(member)
        ) as response:
            found = await _json(response)
        member.since = found["next_batch"]
        if _has(found, room.room_id, marker):
            return time.perf_counter()
        early[0] += 1  # the sync returned without it (nothing else should be new)


async def timed_round(http: aiohttp.ClientSession, room: Room, server: Server) -> dict[str, Any]:
    """Every member long-polls; once Synapse is idle, one message; when the last sees it."""
    marker = f"Juleafslutning fredag {secrets.token_hex(4)}"
    early = [0]
    waits = [asyncio.create_task(_wait_for(http, room, m, marker, early)) for m in room.members]
    parked = await wait_idle(server.pid)  # every long-poll is waiting inside Synapse
    quoted = urllib.parse.quote(room.room_id)
    send = f"{room.url}/_matrix/client/v3/rooms/{quoted}/send/m.room.message/{secrets.token_hex(8)}"
    started = time.perf_counter()
    async with http.put(
        send, json={"msgtype": "m.text", "body": marker}, headers=_auth(room.sender)
    ) as response:
        await _json(response)
    sent = time.perf_counter()
    seen = await asyncio.wait_for(asyncio.gather(*waits), ROUND_TIMEOUT)
    return {
        "send_s": sent - started,
        "all_seen_s": max(seen) - started,
        "median_seen_s": sorted(seen)[len(seen) // 2] - started,
        "early_returns": early[0],
        "settle_s": parked,
    }


def postgres_args(database_url: str) -> dict[str, Any]:
    """psycopg2 connection arguments for the database a SQLAlchemy URL names."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    url = make_url(database_url)
    args: dict[str, Any] = {
        "user": url.username or "postgres",
        "database": url.database,
        "host": url.query.get("host") or url.host or "127.0.0.1",
        "port": url.port or 5432,
    }
    if url.password:
        args["password"] = url.password
    return args


async def create_synapse_database(admin_url: str, name: str) -> str:
    """A fresh UTF-8 database with C collation (Synapse refuses another); its URL."""
    conn = await harness.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(
            f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' LC_COLLATE 'C' "
            "LC_CTYPE 'C' TEMPLATE template0"
        )
    finally:
        await conn.close()
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    return make_url(admin_url).set(database=name).render_as_string(False)
