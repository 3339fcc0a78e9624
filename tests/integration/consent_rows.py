"""Consent requests written as rows, the way ``POST /v1/consents`` stores them.

The reminder and answer-link tests need requests at chosen points in time (created
days ago, a deadline an hour away) that the API would refuse to post, so they write
the rows directly: the thread (an announcement in category ``consent`` nobody replies
to), the question as its message, one inbox entry per custodial guardian ``regarding``
their children in scope, the request, its version, its children and the outbox row
that makes the normal fan-out notify them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select

from gateway.consents.models import (
    AnswerChannel,
    ConsentAnswer,
    ConsentChild,
    ConsentReminderRun,
    ConsentRequest,
    ConsentVersion,
)
from gateway.db import session_factory
from gateway.delivery import outbox
from gateway.delivery.fanout import fan_out
from gateway.delivery.queue import Queue
from gateway.messaging.models import Message, OutboxItem, Participant, Thread
from gateway.orm import new_id, utcnow
from gateway.roster.models import Group, Guardianship, Person
from tests.integration.messaging_world import World

YES_NO = [{"key": "yes", "label": "Ja"}, {"key": "no", "label": "Nej"}]


@dataclass(frozen=True)
class Posted:
    request_id: uuid.UUID
    thread_id: uuid.UUID
    message_id: uuid.UUID
    outbox_id: uuid.UUID
    municipality_id: uuid.UUID
    children: tuple[uuid.UUID, ...]
    guardians: dict[uuid.UUID, tuple[uuid.UUID, ...]]  # guardian -> children asked about


async def custodial_guardians(world: World, child_source_id: str) -> list[Person]:
    return sorted(
        await world.guardians_of(child_source_id, custody=True), key=lambda p: p.source_id
    )


async def post_consent(
    world: World,
    children: list[str],
    *,
    rule: str = "all",
    deadline: dt.datetime | None = None,
    offsets: list[int] | None = None,
    created_at: dt.datetime | None = None,
    options: list[dict[str, str]] | None = None,
    sensitive: bool = False,
    title: str = "Fotos på skolens hjemmeside",
    question: str = "Må vi vise billeder af dit barn på skolens hjemmeside?",
) -> Posted:
    """Store a consent request from the demo teacher about ``children`` (source ids)."""
    now = created_at or utcnow()
    teacher = await world.person(world.summary.teacher)
    child_ids = [uuid.UUID(await world.id_of(source)) for source in children]
    async with session_factory(world.engine)() as session, session.begin():
        institution_id = await session.scalar(
            select(Group.institution_id).where(Group.source_id == world.summary.teacher_class)
        )
        rows = await session.execute(
            select(Guardianship.guardian_id, Guardianship.child_id)
            .join(Person, Person.id == Guardianship.guardian_id)
            .where(
                Guardianship.child_id.in_(child_ids),
                Guardianship.custody.is_(True),
                Guardianship.active.is_(True),
                Person.active.is_(True),
            )
        )
        guardians: dict[uuid.UUID, list[uuid.UUID]] = {}
        for guardian, child in rows:
            guardians.setdefault(guardian, []).append(child)
        thread = Thread(
            id=new_id(),
            municipality_id=teacher.municipality_id,
            kind="announcement",
            institution_id=institution_id,
            category="consent",
            subject=title,
            sensitive=sensitive,
            urgent=False,
            reply_policy="none",
            hidden_recipients=True,
            created_by=teacher.id,
            created_at=now,
            last_message_at=now,
        )
        session.add(thread)
        await session.flush()
        message = Message(
            id=new_id(),
            municipality_id=teacher.municipality_id,
            thread_id=thread.id,
            author_id=teacher.id,
            body=question,
            body_html=f"<p>{question}</p>",
            created_at=now,
        )
        session.add(message)
        session.add(_entry(thread, teacher.id, "sender", [], now, unread=0))
        for guardian, mine in guardians.items():
            session.add(_entry(thread, guardian, "recipient", mine, now, unread=1))
        request = ConsentRequest(
            id=new_id(),
            municipality_id=teacher.municipality_id,
            institution_id=institution_id,
            thread_id=thread.id,
            kind="permission",
            answer_rule=rule,
            options=options or YES_NO,
            deadline=deadline or now + dt.timedelta(days=7),
            reminder_offsets=sorted(offsets or [], reverse=True),
            pupils_from_age=None,
            version=1,
            created_by=teacher.id,
            created_at=now,
            updated_at=now,
        )
        session.add(request)
        await session.flush()
        session.add(
            ConsentVersion(
                id=new_id(),
                municipality_id=teacher.municipality_id,
                request_id=request.id,
                version=1,
                title=title,
                question=question,
                question_html=f"<p>{question}</p>",
                message_id=message.id,
                created_by=teacher.id,
                created_at=now,
            )
        )
        for child in child_ids:
            session.add(
                ConsentChild(
                    id=new_id(),
                    municipality_id=teacher.municipality_id,
                    request_id=request.id,
                    child_id=child,
                )
            )
        outbox_id = outbox.record(session, teacher.municipality_id, "message", message.id, now)
    return Posted(
        request_id=request.id,
        thread_id=thread.id,
        message_id=message.id,
        outbox_id=outbox_id,
        municipality_id=teacher.municipality_id,
        children=tuple(child_ids),
        guardians={g: tuple(c) for g, c in guardians.items()},
    )


def _entry(
    thread: Thread,
    person_id: uuid.UUID,
    role: str,
    regarding: list[uuid.UUID],
    now: dt.datetime,
    *,
    unread: int,
) -> Participant:
    return Participant(
        id=new_id(),
        municipality_id=thread.municipality_id,
        thread_id=thread.id,
        person_id=person_id,
        kind=thread.kind,
        institution_id=thread.institution_id,
        role=role,
        regarding=sorted(str(child) for child in regarding),
        unread_count=unread,
        joined_at=now,
    )


async def new_version(
    world: World, posted: Posted, *, question: str, at: dt.datetime | None = None
) -> uuid.UUID:
    """Change the question: version 2 with its own message (as editing does)."""
    now = at or utcnow()
    async with session_factory(world.engine)() as session, session.begin():
        request = await session.get(ConsentRequest, posted.request_id)
        assert request is not None
        teacher = await session.get(Person, request.created_by)
        assert teacher is not None
        message = Message(
            id=new_id(),
            municipality_id=request.municipality_id,
            thread_id=posted.thread_id,
            author_id=teacher.id,
            body=question,
            body_html=f"<p>{question}</p>",
            created_at=now,
        )
        session.add(message)
        request.version += 1
        request.updated_at = now
        await session.flush()
        session.add(
            ConsentVersion(
                id=new_id(),
                municipality_id=request.municipality_id,
                request_id=request.id,
                version=request.version,
                title="Fotos (ændret)",
                question=question,
                question_html=f"<p>{question}</p>",
                message_id=message.id,
                created_by=teacher.id,
                created_at=now,
            )
        )
    return message.id


async def answer(
    world: World,
    posted: Posted,
    person_id: uuid.UUID,
    child_id: uuid.UUID,
    option: str,
    *,
    version: int = 1,
    at: dt.datetime | None = None,
) -> None:
    """An answer on record, as the API stores it."""
    async with session_factory(world.engine)() as session, session.begin():
        session.add(
            ConsentAnswer(
                id=new_id(),
                municipality_id=posted.municipality_id,
                request_id=posted.request_id,
                version=version,
                child_id=child_id,
                answered_by=person_id,
                option=option,
                channel=AnswerChannel.API.value,
                created_at=at or utcnow(),
            )
        )


async def answers(world: World, posted: Posted) -> list[ConsentAnswer]:
    async with session_factory(world.engine)() as session:
        return list(
            (
                await session.scalars(
                    select(ConsentAnswer)
                    .where(ConsentAnswer.request_id == posted.request_id)
                    .order_by(ConsentAnswer.created_at, ConsentAnswer.id)
                )
            ).all()
        )


async def runs(world: World, posted: Posted) -> list[tuple[int, int]]:
    """(round, reminded) of the request's reminder runs."""
    async with session_factory(world.engine)() as session:
        rows = await session.execute(
            select(ConsentReminderRun.round, ConsentReminderRun.reminded)
            .where(ConsentReminderRun.request_id == posted.request_id)
            .order_by(ConsentReminderRun.round)
        )
        return [(r, n) for r, n in rows]


async def count(world: World, model: Any) -> int:
    async with session_factory(world.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@contextlib.asynccontextmanager
async def queue_of(world: World) -> AsyncIterator[Queue]:
    """The worker's queue in the real Redis, for calling the services directly."""
    redis = Redis.from_url(world.settings.redis_url or "")
    try:
        yield Queue(redis, world.settings.queue_name)
    finally:
        await redis.aclose()


async def notify(world: World, posted: Posted, queue: Queue) -> None:
    """Fan out the request's outbox row now (the sweeper or the API would enqueue it)."""
    result = await fan_out(session_factory(world.engine), world.settings, queue, posted.outbox_id)
    assert not result.already_done
    async with session_factory(world.engine)() as session:
        item = await session.get(OutboxItem, posted.outbox_id)
        assert item is not None and item.done_at is not None
