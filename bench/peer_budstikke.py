"""Budstikke's side of ``peer_synapse.py``: a group of N guardians, ``budstikke serve``, SSE.

The roster is the demo municipality plus one group at the leader's school whose
children's custodial guardians are exactly N people. The API is the production
command (``budstikke serve``, one process, like the one Synapse process) in demo mode,
so the gateway signs its own dev tokens; each guardian holds a live ``GET /v1/events``
stream, and the school's leader posts one message to the group's guardians.
"""

from __future__ import annotations

import asyncio
import csv
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from fanout import _append, _custodial
from harness import import_demo
from peer_process import ROUND_TIMEOUT, Server, free_port, wait_idle
from sqlalchemy import select

from gateway.audience.schemas import Audience, GroupAudience, Roles
from gateway.auth.devtokens import issue_dev_token
from gateway.config import load_settings
from gateway.db import create_engine, session_factory
from gateway.messaging.schemas import MessageCreate, ReplyCreate
from gateway.roster.demo import write_demo_data
from gateway.roster.models import Group

GROUP = "bench-peer-room"
STAMP = "2026-08-01T06:00:00Z"


def write_roster(folder: Path, members: int) -> tuple[str, str, list[str]]:
    """The demo plus the group; the municipality code, the leader and the N guardians."""
    summary = write_demo_data(folder, children=max(100, members), seed=1)
    with (folder / "users.csv").open(encoding="utf-8", newline="") as file:
        users = list(csv.DictReader(file))
    custody = {u["sourcedId"]: u["metadata.dk.custody"] for u in users}
    with (folder / "roles.csv").open(encoding="utf-8", newline="") as file:
        school = next(
            r["orgSourcedId"]
            for r in csv.DictReader(file)
            if r["userSourcedId"] == summary.leader and r["role"] == "principal"
        )
    guardians: dict[str, None] = {}
    children: list[str] = []
    for user in users:
        child = user["sourcedId"]
        if len(guardians) == members:
            break
        if not child.startswith("child-"):
            continue
        agents = [a for a in user["agentSourcedIds"].split(",") if a]
        new = [a for a in agents if _custodial(custody.get(a, ""), child) and a not in guardians]
        if new and len(guardians) + len(new) <= members:  # exactly N, not one over
            guardians.update(dict.fromkeys(new))
            children.append(child)
    if len(guardians) < members:
        raise SystemExit(f"the demo has only {len(guardians):,} custodial guardians to add")
    _append(
        folder / "classes.csv",
        [
            {
                "sourcedId": GROUP,
                "status": "active",
                "dateLastModified": STAMP,
                "title": "Alle forældre",
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
                "dateLastModified": STAMP,
                "classSourcedId": GROUP,
                "schoolSourcedId": school,
                "userSourcedId": child,
                "role": "student",
                "primary": "false",
            }
            for child in children
        ],
    )
    return summary.municipality_code, summary.leader, list(guardians)


def environ(work: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """``budstikke serve``'s settings: demo (own dev tokens), Redis, no channels, quiet logs."""
    return {
        "BUDSTIKKE_DATA_DIR": str(work / "data"),
        "BUDSTIKKE_DATABASE_URL": database_url,
        "BUDSTIKKE_REDIS_URL": redis_url,
        "BUDSTIKKE_DEMO": "true",
        "BUDSTIKKE_HOST": "127.0.0.1",
        "BUDSTIKKE_PORT": str(free_port()),
        "BUDSTIKKE_LOG_LEVEL": "warning",
    }


async def import_roster(database_url: str, folder: Path) -> uuid.UUID:
    """Import the roster (not timed); the group's id."""
    engine = create_engine(database_url)
    try:
        await import_demo(engine, folder)
        async with session_factory(engine)() as session:
            group: uuid.UUID = (
                await session.scalars(select(Group.id).where(Group.source_id == GROUP))
            ).one()
            return group
    finally:
        await engine.dispose()


def start_api(work: Path, env: dict[str, str]) -> tuple[Server, str]:
    """``budstikke serve`` on its free loopback port; the server and its base URL."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("BUDSTIKKE_")}
    full.update(env)
    command = [sys.executable, "-m", "gateway", "serve"]
    server = Server.start("budstikke serve", command, cwd=work, log=work / "serve.log", env=full)
    url = f"http://127.0.0.1:{env['BUDSTIKKE_PORT']}"
    server.wait_http(f"{url}/healthz", timeout=60)
    return server, url


@dataclass
class Stream:
    """One guardian's live stream and what it saw in the current round."""

    token: str
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    seen: asyncio.Queue[tuple[float, str]] = field(default_factory=asyncio.Queue)
    retries: int = 0  # inbox fetches answered 503 (load shed) and retried


async def _listen(http: aiohttp.ClientSession, url: str, stream: Stream) -> None:
    """Read ``GET /v1/events`` line by line; each ``message`` event goes to ``seen``."""
    headers = {"Authorization": f"Bearer {stream.token}", "Accept": "text/event-stream"}
    async with http.get(f"{url}/v1/events", headers=headers) as response:
        if response.status != 200:
            raise SystemExit(f"GET /v1/events: {response.status} {await response.text()}")
        event = ""
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith(":"):
                stream.connected.set()  # the first comment comes after the subscription
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "inbox":
                data = msgspec.json.decode(line[5:].strip())
                if data.get("type") == "message":
                    stream.seen.put_nowait((time.perf_counter(), data["thread_id"]))


async def _inbox_has(
    http: aiohttp.ClientSession, url: str, stream: Stream, thread: str, unread: int
) -> float:
    """What a portal does on the event: fetch the inbox list (again after ``Retry-After``
    on a 503: the API sheds load past ``BUDSTIKKE_API_MAX_IN_FLIGHT``); when it showed
    the thread first, with ``unread`` messages unread."""
    headers = {"Authorization": f"Bearer {stream.token}"}
    while True:
        async with http.get(f"{url}/v1/inbox/threads?limit=5", headers=headers) as response:
            page = await response.json()
            retry = float(response.headers.get("Retry-After", "1"))
        if response.status != 503:
            break
        stream.retries += 1
        await asyncio.sleep(retry)
    first = page["items"][0] if response.status == 200 and page["items"] else {}
    if first.get("id") != thread or first.get("unread_count") != unread:
        raise SystemExit(f"the inbox list does not show the new message after its event: {page}")
    return time.perf_counter()


@dataclass
class Budstikke:
    """Budstikke's side of one run: the API, the sender's token, the group, the streams."""

    url: str
    server: Server
    sender_token: str
    group: uuid.UUID
    tokens: list[str]
    streams: list[Stream] = field(default_factory=list)
    listeners: list[asyncio.Task[None]] = field(default_factory=list)


def tokens(env: dict[str, str], code: str, people: list[str]) -> list[str]:
    """Dev tokens for these people (source ids), signed with the data folder's key."""
    settings = load_settings(env)
    return [
        issue_dev_token(settings, subject=p, municipality_code=code, acr="substantial")
        for p in people
    ]


async def connect(http: aiohttp.ClientSession, side: Budstikke) -> None:
    """Open every guardian's stream and wait until each is subscribed (not timed)."""
    side.streams = [Stream(token=t) for t in side.tokens]
    side.listeners = [asyncio.create_task(_listen(http, side.url, s)) for s in side.streams]
    ready: asyncio.Future[Any] = asyncio.ensure_future(
        asyncio.gather(*(s.connected.wait() for s in side.streams))
    )
    pending: list[asyncio.Future[Any]] = [ready, *side.listeners]
    done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        failed = next(iter(done))
        raise SystemExit(f"a live stream ended before the run: {failed.exception()!r}")


def _post(side: Budstikke, reply_to: str | None) -> tuple[str, bytes]:
    """A new thread to the group's guardians, or the sender's reply in ``reply_to``."""
    if reply_to is not None:
        return f"/v1/threads/{reply_to}/messages", msgspec.json.encode(
            ReplyCreate(body="Husk madpakke og gode sko.")
        )
    audience = Audience(targets=[GroupAudience(group=side.group, roles=[Roles.GUARDIANS])])
    return "/v1/messages", msgspec.json.encode(
        MessageCreate(
            subject="Juleafslutning fredag", body="Vi ses i **salen** kl. 10.", audience=audience
        )
    )


async def timed_round(
    http: aiohttp.ClientSession, side: Budstikke, *, reply_to: str | None = None, unread: int = 1
) -> dict[str, Any]:
    """One message to the group (or a reply in its thread); until every stream had its
    event, and until every inbox list showed the thread with ``unread`` messages."""
    settle = await wait_idle(side.server.pid)
    path, body = _post(side, reply_to)
    headers = {"Authorization": f"Bearer {side.sender_token}", "Content-Type": "application/json"}

    async def seen(stream: Stream) -> tuple[float, float, str]:
        at, thread = await stream.seen.get()
        return at, await _inbox_has(http, side.url, stream, thread, unread), thread

    arrivals = [asyncio.create_task(seen(s)) for s in side.streams]
    retried = sum(s.retries for s in side.streams)
    started = time.perf_counter()
    async with http.post(f"{side.url}{path}", data=body, headers=headers) as response:
        accepted = await response.json()
        if response.status != 202:
            raise SystemExit(f"POST {path}: {response.status} {accepted}")
    answered = time.perf_counter()
    found = await asyncio.wait_for(asyncio.gather(*arrivals), ROUND_TIMEOUT)
    if accepted["recipients"] != len(side.streams):
        raise SystemExit(f"{accepted['recipients']} recipients, {len(side.streams)} guardians")
    if {thread for _, _, thread in found} != {accepted["thread_id"]}:
        raise SystemExit("a stream saw another thread's event")
    events = sorted(at for at, _, _ in found)
    return {
        "thread_id": accepted["thread_id"],
        "accept_s": answered - started,
        "all_events_s": events[-1] - started,
        "median_event_s": events[len(events) // 2] - started,
        "all_inboxes_s": max(at for _, at, _ in found) - started,
        "inbox_retries_after_503": sum(s.retries for s in side.streams) - retried,
        "settle_s": settle,
    }
