"""Changing a request's wording (``PUT /v1/consents/{id}``): in place, or a new version.

Only the staff member who asked may change it, and only until the deadline. With no
answer to the current wording yet, the wording is corrected in place (the version row
and its message). Once someone has answered, a change makes a new version: a new
message in the thread (unread for everyone in it), ``request.version + 1``, and the
answers given so far stay on record but no longer count. The people who had answered
— exactly they — are notified again: their deliveries are planned in the same
transaction (:func:`gateway.delivery.fanout.plan_message` with ``only=``) and handed to
the workers after commit. Everyone else still has the request waiting in their inbox.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.consents import service
from gateway.consents.models import ConsentAnswer, ConsentRequest, ConsentVersion
from gateway.consents.schemas import ConsentEdit, ConsentEdited
from gateway.delivery import chunks
from gateway.delivery.fanout import plan_message
from gateway.delivery.queue import Queue
from gateway.errors import Conflict, Forbidden, InvalidInput
from gateway.messaging import posting
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.models import Message, Thread
from gateway.orm import new_id, utcnow

IN_PLACE = "in_place"
NEW_VERSION = "new_version"
UNCHANGED = "unchanged"


async def answered(session: AsyncSession, request: ConsentRequest) -> set[uuid.UUID]:
    """Everyone with a row in the record for the current version (withdrawals included)."""
    return set(
        (
            await session.scalars(
                select(ConsentAnswer.answered_by)
                .where(
                    ConsentAnswer.municipality_id == request.municipality_id,
                    ConsentAnswer.request_id == request.id,
                    ConsentAnswer.version == request.version,
                )
                .distinct()
            )
        ).all()
    )


async def edit(
    session: AsyncSession,
    actor: Actor,
    consent_id: uuid.UUID,
    data: ConsentEdit,
    *,
    settings: Settings,
    queue: Queue,
    events: Events,
) -> ConsentEdited:
    """Change the title and/or question; see the module docstring for what follows."""
    if data.title is None and data.question is None:
        raise InvalidInput("nothing to change", ["body: give a new title, question or both"])
    now = utcnow()
    found: list[chunks.Chunk] = []
    async with session.begin():
        request, thread, version = await service.load(session, actor, consent_id, lock=True)
        if actor.person_id != request.created_by:
            raise Forbidden("only the staff member who asked can change the wording")
        if now >= request.deadline:
            raise Conflict(
                f"the deadline passed at {request.deadline.isoformat()}; a closed request "
                "cannot be changed"
            )
        if await service.recalled(session, request):
            raise Conflict("the question was recalled; post a new request instead")
        title = service.title_of(data.title) if data.title is not None else version.title
        question, html = version.question, version.question_html
        if data.question is not None:
            question, html = posting.body_of(data.question)
        if (title, question) == (version.title, version.question):
            return _edited(request, version.message_id, UNCHANGED, 0)
        thread.subject = title
        request.updated_at = now
        affected = await answered(session, request)
        if not affected:
            await _in_place(session, version, title, question, html)
            return _edited(request, version.message_id, IN_PLACE, 0)
        message = await _new_version(
            session, actor, request, thread, title=title, question=question, now=now
        )
        seen_by = [
            p for p in await posting.participant_ids(session, thread) if p != actor.person_id
        ]
        _, found = await plan_message(
            session,
            settings,
            thread,
            message,
            now,
            generation=f"v{message.id.hex[-12:]}",
            only=affected,
        )
        edited = _edited(request, message.id, NEW_VERSION, len(affected))
    await chunks.enqueue(queue, found)
    await events.publish(
        seen_by,
        {
            "type": "consent",
            "consent_id": str(request.id),
            "thread_id": str(thread.id),
            "message_id": str(message.id),
        },
    )
    return edited


def _edited(request: ConsentRequest, message_id: uuid.UUID, mode: str, asked: int) -> ConsentEdited:
    return ConsentEdited(
        consent_id=request.id,
        version=request.version,
        message_id=message_id,
        mode=mode,
        asked_again=asked,
    )


async def _in_place(
    session: AsyncSession, version: ConsentVersion, title: str, question: str, html: str
) -> None:
    """Correct the wording nobody has answered yet: the version and its message."""
    version.title = title
    version.question = question
    version.question_html = html
    await session.execute(
        update(Message)
        .where(Message.municipality_id == version.municipality_id, Message.id == version.message_id)
        .values(body=question, body_html=html)
    )


async def _new_version(
    session: AsyncSession,
    actor: Actor,
    request: ConsentRequest,
    thread: Thread,
    *,
    title: str,
    question: str,
    now: dt.datetime,
) -> Message:
    """The next version and its message in the thread (unread for everyone in it)."""
    message = await posting.add_message(
        session, thread, author_id=actor.person_id, body=question, now=now
    )
    request.version += 1
    session.add(
        ConsentVersion(
            id=new_id(),
            municipality_id=request.municipality_id,
            request_id=request.id,
            version=request.version,
            title=title,
            question=message.body,
            question_html=message.body_html,
            message_id=message.id,
            created_by=actor.person_id,
            created_at=now,
        )
    )
    await session.flush()
    return message
