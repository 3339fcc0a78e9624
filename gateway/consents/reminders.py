"""Consent reminders: at each offset before the deadline, a reminder to whoever is still asked.

A request's ``reminder_offsets`` are seconds before its deadline; sorted largest first,
offset ``i`` is round ``i + 1`` and falls due at ``deadline - offset``. Every minute
:func:`send_due` finds, in one query, the open requests with a round that has come and
has no :class:`~gateway.consents.models.ConsentReminderRun` yet. For each it writes, in
one transaction, the run rows and the reminder deliveries of exactly the people
:func:`gateway.consents.state.waiting` names (planned by
:func:`gateway.delivery.fanout.plan_message` as round ``n``: quiet and working hours
hold, a reminder never escalates, and it is never urgent), then enqueues them after
commit. The run's unique key (request, round) makes a round happen once, even with two
workers: the second one's insert fails and it changes nothing.

Rounds that came while no worker ran are not sent one after another: only the latest
due round goes out, the older ones are recorded as done with nobody reminded. A round
whose time was before the current version was posted (the request was created, or its
question changed, after that point) is recorded as done without a send too: everybody
was just asked.

At sending time a reminder decides late (:func:`gateway.consents.asked.no_longer_asked`):
it is superseded once the person has nothing left to answer — they (or, under rule
``any``, another guardian) answered for every child they were asked about, they lost
custody —, the question changed, or the request closed. Merely reading the thread does
not settle a reminder.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Float, and_, cast, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.config import Settings
from gateway.consents import state
from gateway.consents.models import (
    ConsentReminderRun,
    ConsentRequest,
    ConsentVersion,
)
from gateway.delivery import chunks, fanout
from gateway.delivery.queue import Queue
from gateway.dialect import dialect_name
from gateway.messaging.models import Message, Thread
from gateway.messaging.threads import today
from gateway.orm import UTCDateTime, new_id

log = structlog.get_logger(__name__)

DUE_BATCH = 500  # requests per run of the job; the rest wait a minute


@dataclass(frozen=True, slots=True)
class Due:
    """A request with a round that has come: the latest such round and the last one run."""

    request_id: uuid.UUID
    municipality_id: uuid.UUID
    due_round: int
    done_round: int


@dataclass(frozen=True, slots=True)
class Reminded:
    """What one run of :func:`send_due` did."""

    requests: int = 0
    rounds: int = 0  # rounds that planned reminders
    passed_over: int = 0  # rounds recorded as done without a send
    planned: int = 0
    queued: int = 0


@dataclass(frozen=True, slots=True)
class _Outcome:
    sent_round: int | None
    passed_over: int
    planned: int
    queued: int
    found: list[chunks.Chunk]


def round_times(request: ConsentRequest) -> list[dt.datetime]:
    """When each round falls due: index ``i`` is round ``i + 1`` (largest offset first)."""
    offsets = sorted((float(offset) for offset in request.reminder_offsets), reverse=True)
    return [request.deadline - dt.timedelta(seconds=offset) for offset in offsets]


def _due_query(session: AsyncSession, now: dt.datetime, limit: int) -> Any:
    """Open requests whose count of passed offsets exceeds their highest round run."""
    at = literal(now, UTCDateTime())
    request = ConsentRequest
    if dialect_name(session) == "postgresql":
        seconds_left: Any = func.extract("epoch", request.deadline - at)
        offsets = func.jsonb_array_elements_text(request.reminder_offsets).table_valued("value")
        offset: Any = cast(offsets.c.value, Float)
    else:
        seconds_left = (func.julianday(request.deadline) - func.julianday(at)) * 86_400.0
        offsets = func.json_each(request.reminder_offsets).table_valued("value")
        offset = offsets.c.value
    # Round i is due when deadline - offset_i <= now, i.e. offset_i >= the seconds left.
    due = select(func.count()).select_from(offsets).where(offset >= seconds_left)
    done = select(func.coalesce(func.max(ConsentReminderRun.round), 0)).where(
        ConsentReminderRun.municipality_id == request.municipality_id,
        ConsentReminderRun.request_id == request.id,
    )
    open_requests = (
        select(
            request.id,
            request.municipality_id,
            request.deadline,
            due.scalar_subquery().label("due_round"),
            done.scalar_subquery().label("done_round"),
        )
        .where(request.deadline > at)
        .subquery()
    )
    return (
        select(
            open_requests.c.id,
            open_requests.c.municipality_id,
            open_requests.c.due_round,
            open_requests.c.done_round,
        )
        .where(open_requests.c.due_round > open_requests.c.done_round)
        .order_by(open_requests.c.deadline, open_requests.c.id)
        .limit(limit)
    )


async def due(session: AsyncSession, now: dt.datetime, limit: int = DUE_BATCH) -> list[Due]:
    """The open requests with a round due and not yet run (one query, all tenants)."""
    rows = await session.execute(_due_query(session, now, limit))
    return [Due(row[0], row[1], int(row[2]), int(row[3])) for row in rows]


async def send_due(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    queue: Queue,
    now: dt.datetime,
) -> Reminded:
    """Run every round that is due: plan its reminders, record it, enqueue after commit."""
    async with sessions() as session:
        found = await due(session, now)
    total = Reminded()
    for item in found:
        try:
            outcome = await _run_round(sessions, settings, item, now)
        except IntegrityError:
            # Another worker recorded this round first; its reminders are on their way.
            log.info("consent reminder raced", request_id=str(item.request_id))
            continue
        if outcome is None:
            continue
        await chunks.enqueue(queue, outcome.found)
        total = Reminded(
            requests=total.requests + 1,
            rounds=total.rounds + (outcome.sent_round is not None),
            passed_over=total.passed_over + outcome.passed_over,
            planned=total.planned + outcome.planned,
            queued=total.queued + outcome.queued,
        )
        log.info(
            "consent reminders planned",
            request_id=str(item.request_id),
            round=outcome.sent_round,
            passed_over=outcome.passed_over,
            planned=outcome.planned,
        )
    return total


async def _run_round(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, item: Due, now: dt.datetime
) -> _Outcome | None:
    """One request's due round, in one transaction (see the module docstring)."""
    async with sessions() as session, session.begin():
        row = (
            await session.execute(
                select(ConsentRequest, Thread, ConsentVersion, Message)
                .join(Thread, Thread.id == ConsentRequest.thread_id)
                .join(
                    ConsentVersion,
                    and_(
                        ConsentVersion.municipality_id == ConsentRequest.municipality_id,
                        ConsentVersion.request_id == ConsentRequest.id,
                        ConsentVersion.version == ConsentRequest.version,
                    ),
                )
                .join(Message, Message.id == ConsentVersion.message_id)
                .where(
                    ConsentRequest.municipality_id == item.municipality_id,
                    ConsentRequest.id == item.request_id,
                )
            )
        ).first()
        if row is None:
            log.warning(
                "consent request without its current version", request_id=str(item.request_id)
            )
            return None
        request, thread, version, message = row
        times = round_times(request)
        latest = min(item.due_round, len(times))
        if latest <= item.done_round:
            return None
        asked_at = max(request.created_at, version.created_at)
        sends = times[latest - 1] > asked_at and message.recalled_at is None
        waiting: set[uuid.UUID] = set()
        if sends:
            waiting = await state.waiting(session, request, now, today(settings, now))
        rounds = range(item.done_round + 1, latest + 1)
        session.add_all(
            ConsentReminderRun(
                id=new_id(),
                municipality_id=request.municipality_id,
                request_id=request.id,
                round=number,
                reminded=len(waiting) if sends and number == latest else 0,
                created_at=now,
            )
            for number in rounds
        )
        # The run rows first: a second worker stops here, before planning anything.
        await session.flush()
        planned, found = 0, list[chunks.Chunk]()
        if sends and waiting:
            result, found = await fanout.plan_message(
                session,
                settings,
                _never_urgent(thread),
                message,
                now,
                generation=f"r{request.id.hex[-12:]}n{latest}",
                only=waiting,
                reminder_round=latest,
            )
            planned = result.planned
    return _Outcome(
        sent_round=latest if sends else None,
        passed_over=len(rounds) - (1 if sends else 0),
        planned=planned,
        queued=sum(len(chunk.ids) for chunk in found),
        found=found,
    )


def _never_urgent(thread: Thread) -> Thread:
    """The thread as reminders plan it: a reminder waits for quiet hours like any notice."""
    if not thread.urgent:
        return thread
    # A detached copy, so the stored thread stays as it is.
    calm = Thread(**{column.key: getattr(thread, column.key) for column in Thread.__table__.c})
    calm.urgent = False
    return calm
