"""The morning peak's open-loop load: requests leave at their scheduled times, answered or not.

A schedule of ``rate`` posts per minute over the window is fixed before it starts:
school-wide announcements evenly spaced (a few per minute), the rest drawn as 1:1
threads (staff → a guardian of their class, or a guardian → their child's teacher),
replies in 1:1 threads already accepted (the other party answers), and class messages
(a teacher → the class's guardians). Each request is its own task started at its due
time; how late it actually left (the generator shares two cores with everything else)
is recorded. At most ``max_in_flight`` posts wait for answers at once (file
descriptors are finite); a post due beyond that is not sent and counts as *shed*.
After a ``202``, a sample of them read a recipient's inbox at once, as the
recipient would, and again every 50 ms until the item is there: new threads through
``GET /v1/inbox/threads``, replies through the thread (``GET /v1/inbox/threads/{id}``),
announcements through the feed.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec
from peak_roster import Roster, SchoolClass

# The mix besides announcements: weights of new 1:1 threads, replies and class messages.
MIX = {"one_to_one": 0.45, "reply": 0.45, "class": 0.10}
VISIBLE_RETRY_S = 0.05
VISIBLE_GIVE_UP_S = 10.0
PAGE = 50
# Status of a post never sent: ``max_in_flight`` posts were already waiting for answers.
SHED = 0
# Status of a post whose answer did not come within the client's timeout.
TIMED_OUT = -1
# Status of a post whose connection failed (refused, or closed before the answer).
CONNECTION_FAILED = -2
# Idle connections close before uvicorn's 5 s keep-alive ends, so a post never races
# the server closing the connection it was just given (aiohttp does not retry a POST).
KEEPALIVE_S = 3.0


@dataclass
class Sent:
    """One post: when it was due, left and was answered; what the answer named."""

    kind: str
    scheduled: float
    sent: float = 0.0
    answered: float | None = None
    status: int = 0
    message_id: str | None = None
    thread_id: str | None = None
    recipients: int = 0


@dataclass
class Seen:
    """A recipient reading their inbox right after a 202: when the item showed."""

    kind: str
    after_202: float | None  # seconds from the 202 to the answer that showed it; None: never
    tries: int


@dataclass
class _Post:
    kind: str
    sender: uuid.UUID
    path: str
    body: dict[str, Any]
    reader: uuid.UUID  # a recipient who checks their inbox
    pair: tuple[uuid.UUID, uuid.UUID] | None = None  # a 1:1 thread's two people


@dataclass
class Load:
    """The generator; ``run`` returns the posts and the visibility samples."""

    base_url: str
    roster: Roster
    rate_per_minute: float
    seconds: float
    announcements_per_minute: float
    sample: float
    max_in_flight: int = 2000
    rng: random.Random = field(default_factory=lambda: random.Random(11))  # noqa: S311
    threads: list[list[Any]] = field(default_factory=list)  # [thread id, writer, other]
    sent: list[Sent] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    _session: aiohttp.ClientSession | None = None
    _count: int = 0

    async def __aenter__(self) -> Load:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_S)
        timeout = aiohttp.ClientTimeout(total=120)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    def schedule(self, start: float) -> list[tuple[float, str]]:
        """``(due time, kind)`` for the window: announcements spread evenly in the rest."""
        total = int(self.rate_per_minute / 60 * self.seconds)
        gap = self.seconds / max(total, 1)
        kinds = self.rng.choices(list(MIX), weights=list(MIX.values()), k=total)
        announcements = max(1, round(self.announcements_per_minute * self.seconds / 60))
        for k in range(announcements):
            kinds[int((k + 0.5) / announcements * total)] = "announcement"
        return [(start + i * gap, kind) for i, kind in enumerate(kinds)]

    async def warm(self, threads: int) -> None:
        """Start ``threads`` 1:1 threads before the window (replies need some); not measured."""
        for _ in range(threads // 10):
            posts = [self._one_to_one() for _ in range(10)]
            await asyncio.gather(*(self._send(p, Sent("warm", time.time())) for p in posts))

    async def run(self, start: float) -> None:
        """Send the schedule open-loop; return when every answer (and sample) is in."""
        tasks: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []
        for due, kind in self.schedule(start):
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.in_flight >= self.max_in_flight:
                self.sent.append(Sent(kind, due, status=SHED))  # no connection to spare
                continue
            task = asyncio.create_task(self._one(kind, due))
            tasks.add(task)
            task.add_done_callback(lambda done: failures.extend(_failure(done, tasks)))
        while tasks:
            await asyncio.gather(*list(tasks), return_exceptions=True)
        if failures:  # the generator's own bug: a figure without these posts would lie
            raise failures[0]

    async def _one(self, kind: str, due: float) -> None:
        post = self._build(kind)
        record = Sent(post.kind, due)
        self.sent.append(record)
        await self._send(post, record)
        if record.status == 202 and self.rng.random() < self.sample:
            await self._check_visible(post, record)

    def _build(self, kind: str) -> _Post:
        if kind == "reply" and self.threads:
            return self._reply()
        if kind == "class":
            return self._class_message()
        if kind == "announcement":
            return self._announcement()
        return self._one_to_one()

    def _class(self) -> SchoolClass:
        return self.rng.choice(self.roster.classes)

    def _text(self) -> str:
        self._count += 1
        return f"Hej. Husk **madpakke** og idrætstøj i morgen. ({self._count})"

    def _one_to_one(self) -> _Post:
        group = self._class()
        teacher, guardian = self.rng.choice(group.teachers), self.rng.choice(group.guardians)
        sender, recipient = (teacher, guardian) if self.rng.random() < 0.5 else (guardian, teacher)
        body = {
            "subject": f"Om i morgen ({self._count})",
            "body": self._text(),
            "audience": {"targets": [{"type": "people", "people": [str(recipient)]}]},
        }
        return _Post("one_to_one", sender, "/v1/messages", body, recipient, (sender, recipient))

    def _reply(self) -> _Post:
        entry = self.rng.choice(self.threads)
        thread, writer, other = entry
        entry[1], entry[2] = other, writer  # the other party answers next time
        return _Post(
            "reply", other, f"/v1/threads/{thread}/messages", {"body": self._text()}, writer
        )

    def _class_message(self) -> _Post:
        group = self._class()
        body = {
            "subject": f"Til forældrene i klassen ({self._count})",
            "body": self._text(),
            "audience": {
                "targets": [{"type": "group", "group": str(group.id), "roles": ["guardians"]}]
            },
        }
        return _Post(
            "class",
            self.rng.choice(group.teachers),
            "/v1/messages",
            body,
            self.rng.choice(group.guardians),
        )

    def _announcement(self) -> _Post:
        school, principal = self.rng.choice(sorted(self.roster.principals.items()))
        classes = [c for c in self.roster.classes if c.school == school]
        reader = self.rng.choice(classes).guardians[0]
        body = {
            "subject": f"Skolen holder lukket fredag ({self._count})",
            "body": self._text(),
            "audience": {
                "targets": [
                    {"type": "institution", "institution": str(school), "roles": ["guardians"]}
                ]
            },
        }
        return _Post("announcement", principal, "/v1/announcements", body, reader)

    def _headers(self, person: uuid.UUID) -> dict[str, str]:
        return {
            "authorization": f"Bearer {self.roster.tokens[person]}",
            "content-type": "application/json",
        }

    async def _send(self, post: _Post, record: Sent) -> None:
        assert self._session is not None
        data = msgspec.json.encode(post.body)
        self.in_flight += 1
        record.sent = time.time()
        try:
            async with self._session.post(
                self.base_url + post.path, data=data, headers=self._headers(post.sender)
            ) as response:
                raw = await response.read()
                record.answered = time.time()
                record.status = response.status
        except TimeoutError:
            record.status = TIMED_OUT
            return
        except aiohttp.ClientError:
            record.status = CONNECTION_FAILED
            return
        finally:
            self.in_flight -= 1
        if record.status != 202:
            return
        accepted = msgspec.json.decode(raw)
        record.message_id, record.thread_id = accepted["message_id"], accepted["thread_id"]
        record.recipients = accepted["recipients"]
        if post.pair is not None:
            self.threads.append([record.thread_id, *post.pair])

    async def _check_visible(self, post: _Post, record: Sent) -> None:
        """Read the reader's inbox until the item shows (or give up); record when it did."""
        assert self._session is not None and record.answered is not None
        if post.kind == "announcement":
            path = "/v1/inbox/announcements"
        elif post.kind == "reply":
            path = f"/v1/inbox/threads/{record.thread_id}"
        else:
            path = f"/v1/inbox/threads?limit={PAGE}"
        tries = 0
        while time.time() - record.answered < VISIBLE_GIVE_UP_S:
            tries += 1
            async with self._session.get(
                self.base_url + path, headers=self._headers(post.reader)
            ) as response:
                found = response.status == 200 and _shows(post.kind, await response.read(), record)
            if found:
                self.seen.append(Seen(post.kind, time.time() - record.answered, tries))
                return
            await asyncio.sleep(VISIBLE_RETRY_S)
        self.seen.append(Seen(post.kind, None, tries))


def _failure(task: asyncio.Task[None], tasks: set[asyncio.Task[None]]) -> list[BaseException]:
    """Forget a finished task; its exception, if it raised one."""
    tasks.discard(task)
    failed = None if task.cancelled() else task.exception()
    return [failed] if failed is not None else []


def _shows(kind: str, raw: bytes, record: Sent) -> bool:
    page = msgspec.json.decode(raw)
    if kind == "reply":
        return any(m["id"] == record.message_id for m in page["messages"])
    return any(item["id"] == record.thread_id for item in page["items"])
