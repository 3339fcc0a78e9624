"""The calm-week simulation's engine: a simulated clock stepping the real pipeline.

Each event (somebody sends, somebody opens the app, a cron tick) runs at its simulated
instant. After every action the simulation does what the worker would: ``fan_out`` for
each outbox row not done (``now`` = the simulated instant), then every ``deliver`` job
the pipeline enqueued. Ticks run ``dispatch``, ``digest.send_due`` and the consent
``reminders.send_due`` (each with ``now``) every ``TICK``, exactly when the earliest
deferred delivery falls due and at each consent request's reminder rounds, so no wait
is cut short or drawn out by the stepping.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from calm_world import JobQueue, Roster, Sent, SimClock
from sqlalchemy import func, select

from gateway.consents import reminders
from gateway.consents.models import ConsentRequest
from gateway.delivery import digest, dispatch, fanout
from gateway.delivery.deliver import Runtime, deliver
from gateway.delivery.models import Delivery, DeliveryState
from gateway.messaging.actors import Actor
from gateway.messaging.models import Message, OutboxItem, Participant

# The crons' fallback period; the exact moments (a deferred row or a reminder round
# falling due) get their own tick, so this only bounds how long anything can hide.
TICK = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Item:
    """One accepted item: what it was and who had it in their inbox at once."""

    message_id: uuid.UUID
    thread_id: uuid.UUID
    label: str
    urgent: bool
    at: dt.datetime
    in_inbox: frozenset[uuid.UUID]


@dataclass
class Pipeline:
    """The real services with their ``now``, and what the simulation saw them do."""

    sessions: Any
    settings: Any
    roster: Roster
    clock: SimClock
    runtime: Runtime
    queue: JobQueue
    sent: list[Sent]
    items: list[Item] = field(default_factory=list)
    on_sent: Callable[[uuid.UUID, dt.datetime], None] | None = None
    wake: Callable[[dt.datetime], None] | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def actor(self, person_id: uuid.UUID) -> Actor:
        return Actor(
            person_id=person_id,
            municipality_id=self.roster.municipality_id,
            kind=self.roster.kinds[person_id],
            acr="substantial",
            principal=f"calm:{person_id}",
        )

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    async def accepted(
        self, label: str, thread_id: uuid.UUID, message_id: uuid.UUID, *, urgent: bool = False
    ) -> None:
        """Note an accepted item and who has it in their inbox now, then run the worker."""
        async with self.sessions() as session:
            inbox = await session.scalars(
                select(Participant.person_id).where(
                    Participant.thread_id == thread_id, Participant.unread_count > 0
                )
            )
            seen = frozenset(inbox)
        self.items.append(Item(message_id, thread_id, label, urgent, self.clock.now, seen))
        self.count(f"items: {label}")
        await self.work()

    async def rounds_of(self, thread_id: uuid.UUID) -> None:
        """Wake the crons at each reminder round of the consent request in this thread."""
        async with self.sessions() as session:
            request = await session.scalar(
                select(ConsentRequest).where(ConsentRequest.thread_id == thread_id)
            )
        if request is not None and self.wake is not None:
            for at in reminders.round_times(request):
                self.wake(at)

    async def work(self) -> None:
        """What the worker does after a commit: fan out what is new, run the jobs."""
        async with self.sessions() as session:
            pending = list(
                await session.scalars(
                    select(OutboxItem.id)
                    .where(OutboxItem.done_at.is_(None))
                    .order_by(OutboxItem.created_at, OutboxItem.id)
                )
            )
        for outbox_id in pending:
            await fanout.fan_out(
                self.sessions, self.settings, self.queue, outbox_id, now=self.clock.now
            )
        await self.drain()

    async def drain(self) -> None:
        """Run every ``deliver`` job enqueued so far, in order, at the simulated instant."""
        first = len(self.sent)
        while self.queue.jobs:
            channel, ids, job_id = self.queue.jobs.pop(0)
            await deliver(self.runtime, channel, ids, job_id)
        await self._tell(first)

    async def tick(self) -> dt.datetime | None:
        """The crons at this instant; when the earliest deferred delivery falls due."""
        now = self.clock.now
        await dispatch.dispatch(self.sessions, self.settings, self.queue, now)
        await self.drain()
        first = len(self.sent)
        self.count("digests sent", await digest.send_due(self.runtime, now))
        await self._tell(first)
        await reminders.send_due(self.sessions, self.settings, self.queue, now)
        await self.drain()
        async with self.sessions() as session:
            due: dt.datetime | None = await session.scalar(
                select(func.min(Delivery.not_before)).where(
                    Delivery.state == DeliveryState.DEFERRED.value, Delivery.not_before > now
                )
            )
        return due

    async def _tell(self, first: int) -> None:
        """Let the reading model know who was just interrupted."""
        if self.on_sent is None or first == len(self.sent):
            return
        ids = [s.delivery_id for s in self.sent[first:]]
        async with self.sessions() as session:
            rows = await session.execute(
                select(Delivery.person_id).where(Delivery.id.in_(ids)).distinct()
            )
            people = [row[0] for row in rows]
        for person in people:
            self.on_sent(person, self.clock.now)

    async def message_author(self, message_id: uuid.UUID) -> uuid.UUID | None:
        async with self.sessions() as session:
            author: uuid.UUID | None = await session.scalar(
                select(Message.author_id).where(Message.id == message_id)
            )
            return author


Action = Callable[[], Awaitable[None]]


class Calendar:
    """The simulated week's events in time order; ticks are added as they become due."""

    def __init__(self, pipeline: Pipeline, start: dt.datetime, end: dt.datetime) -> None:
        self.pipeline = pipeline
        self.end = end
        self._heap: list[tuple[dt.datetime, int, str, Action | None]] = []
        self._seq = itertools.count()
        self._ticks: set[dt.datetime] = set()
        self.failures: dict[str, int] = {}
        self.failure_examples: dict[str, str] = {}
        self.seconds: dict[str, float] = {}  # wall time spent per kind of event
        self._tick_at(start)
        pipeline.wake = self._tick_at

    def at(self, when: dt.datetime, label: str, action: Action) -> None:
        if when < self.end:
            heapq.heappush(self._heap, (when, next(self._seq), label, action))

    def _tick_at(self, when: dt.datetime) -> None:
        if when < self.end and when not in self._ticks:
            self._ticks.add(when)
            heapq.heappush(self._heap, (when, next(self._seq), "tick", None))

    async def run(self) -> None:
        from gateway.errors import GatewayError  # noqa: PLC0415

        while self._heap:
            when, _, label, action = heapq.heappop(self._heap)
            self.pipeline.clock.now = max(self.pipeline.clock.now, when)
            started = time.perf_counter()
            try:
                await self._step(when, action)
            except GatewayError as error:
                # A refusal (policy, a closed consent) is the gateway's answer, not a crash.
                key = f"{label}: {type(error).__name__}"
                self.failures[key] = self.failures.get(key, 0) + 1
                self.failure_examples.setdefault(key, f"{error} {getattr(error, 'errors', '')}")
            self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started

    async def _step(self, when: dt.datetime, action: Action | None) -> None:
        if action is not None:
            await action()
            return
        self._ticks.discard(when)
        due = await self.pipeline.tick()
        self._tick_at(when + TICK)
        if due is not None:
            self._tick_at(due)
