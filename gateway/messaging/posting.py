"""Writing a message into a thread: the steps a new thread, a reply and an announcement share.

All of it runs inside the caller's transaction; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import Forbidden, InvalidInput, LimitExceeded
from gateway.messaging import sanitise
from gateway.messaging.actors import Actor
from gateway.messaging.models import (
    Attachment,
    AutoReply,
    Message,
    Participant,
    Thread,
    ThreadKind,
)
from gateway.messaging.schemas import MAX_BODY
from gateway.orm import new_id
from gateway.roster.models import Person, PersonKind


def check_attachment_count(ids: Sequence[uuid.UUID], limit: int) -> None:
    """LimitExceeded when a message names more attachments than allowed."""
    if len(ids) > limit:
        raise LimitExceeded(
            f"a message may carry at most {limit} attachments; {len(ids)} were given",
            limit="message_max_attachments",
        )


def check_urgent(actor: Actor, urgent: bool) -> None:
    """Only staff may mark an item urgent: it passes everyone's quiet hours."""
    if urgent and not actor.staff:
        raise Forbidden("only staff may send urgent messages")


def body_of(text: str) -> tuple[str, str]:
    """The stored source and its safe HTML; InvalidInput when nothing is left."""
    if len(text) > MAX_BODY:
        raise LimitExceeded(
            f"a message body may be at most {MAX_BODY} characters; this one has {len(text)}",
            limit="body_max_chars",
        )
    source = sanitise.clean_source(text)
    if not source:
        raise InvalidInput("the body is empty", ["body: must contain text"])
    return source, sanitise.render(source)


async def add_message(
    session: AsyncSession,
    thread: Thread,
    *,
    author_id: uuid.UUID,
    body: str,
    now: dt.datetime,
    private_to: uuid.UUID | None = None,
    auto_reply: bool = False,
    counted: bool = False,
) -> Message:
    """Insert a message, count it unread for those who see it, and move the thread up.

    ``counted``: the inbox entries were written with this message already counted (a new
    thread's first message), so no UPDATE of every entry is needed.
    """
    source, html = body_of(body)
    message = Message(
        id=new_id(),
        municipality_id=thread.municipality_id,
        thread_id=thread.id,
        author_id=author_id,
        body=source,
        body_html=html,
        created_at=now,
        private_to=private_to,
        auto_reply=auto_reply,
    )
    session.add(message)
    await session.flush()
    if not counted:
        await count_unread(session, thread, message)
    thread.last_message_at = now
    return message


async def count_unread(session: AsyncSession, thread: Thread, message: Message) -> None:
    """One set-based update: +1 unread for every participant who can see ``message``."""
    seen_by = Participant.person_id != message.author_id
    if message.private_to is not None:
        seen_by = and_(
            seen_by,
            or_(
                Participant.person_id == thread.created_by,
                Participant.person_id == message.private_to,
            ),
        )
    await session.execute(
        update(Participant)
        .where(
            Participant.municipality_id == thread.municipality_id,
            Participant.thread_id == thread.id,
            seen_by,
        )
        .values(unread_count=Participant.unread_count + 1)
    )


def audience_of(
    thread: Thread, message: Message, participants: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Who, among ``participants``, sees ``message`` (its author excluded)."""
    if message.private_to is None:
        return [p for p in participants if p != message.author_id]
    return [
        p
        for p in participants
        if p != message.author_id and p in {thread.created_by, message.private_to}
    ]


async def link_attachments(
    session: AsyncSession,
    *,
    municipality_id: uuid.UUID,
    uploader_id: uuid.UUID,
    message_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
) -> None:
    """Attach uploads to a message; InvalidInput if any is not the sender's or in use."""
    if not ids:
        return
    wanted = set(ids)
    result = await session.execute(
        update(Attachment)
        .where(
            Attachment.municipality_id == municipality_id,
            Attachment.uploaded_by == uploader_id,
            Attachment.message_id.is_(None),
            Attachment.id.in_(wanted),
        )
        .values(message_id=message_id)
    )
    if int(getattr(result, "rowcount", 0) or 0) != len(wanted):
        raise InvalidInput(
            "an attachment is unknown, not uploaded by the sender, or already sent",
            ["attachments: upload each file with POST /v1/attachments and use its id once"],
        )


async def auto_replies(
    session: AsyncSession, thread: Thread, message: Message, now: dt.datetime
) -> list[Message]:
    """Out-of-office answers from staff who see ``message``: at most one each per thread."""
    if thread.kind != ThreadKind.MESSAGE.value or message.auto_reply:
        return []
    already = (
        select(Message.author_id)
        .where(
            Message.municipality_id == thread.municipality_id,
            Message.thread_id == thread.id,
            Message.auto_reply.is_(True),
        )
        .scalar_subquery()
    )
    seers = select(Participant.person_id).where(
        Participant.municipality_id == thread.municipality_id,
        Participant.thread_id == thread.id,
        Participant.person_id != message.author_id,
    )
    if message.private_to is not None:
        seers = seers.where(Participant.person_id.in_({thread.created_by, message.private_to}))
    rows = await session.execute(
        select(AutoReply.person_id, AutoReply.body)
        .join(Person, Person.id == AutoReply.person_id)
        .where(
            AutoReply.municipality_id == thread.municipality_id,
            AutoReply.starts_at <= now,
            AutoReply.ends_at > now,
            Person.kind == PersonKind.STAFF.value,
            AutoReply.person_id.in_(seers),
            AutoReply.person_id.not_in(already),
        )
        .order_by(AutoReply.person_id)
    )
    answers: list[Message] = []
    for person_id, body in rows.all():
        # The answer goes to the one who wrote: visible to them, the staff member and the
        # thread's creator (who is one of the two when they wrote the message).
        private_to = person_id if message.author_id == thread.created_by else message.author_id
        answers.append(
            await add_message(
                session,
                thread,
                author_id=person_id,
                body=body,
                now=now,
                private_to=private_to,
                auto_reply=True,
            )
        )
    return answers


async def participant_ids(session: AsyncSession, thread: Thread) -> list[uuid.UUID]:
    """Everyone in the thread."""
    return list(
        (
            await session.scalars(
                select(Participant.person_id).where(
                    Participant.municipality_id == thread.municipality_id,
                    Participant.thread_id == thread.id,
                )
            )
        ).all()
    )


async def visible_count(session: AsyncSession, thread: Thread) -> int:
    """How many messages everyone in the thread sees (those not private to someone)."""
    return int(
        await session.scalar(
            select(func.count()).where(
                Message.municipality_id == thread.municipality_id,
                Message.thread_id == thread.id,
                Message.private_to.is_(None),
            )
        )
        or 0
    )
