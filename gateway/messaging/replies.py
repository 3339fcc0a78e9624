"""Answers in a thread (``POST /v1/threads/{id}/messages``) and recalling a message.

Reply policies: ``all`` — every participant answers everyone; ``sender`` — a recipient's
answer is seen by the thread's creator and the recipient only; ``none`` — only the
creator writes. In a hidden-recipient thread every recipient's answer is private in the
same way, so no recipient learns who else received it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.delivery import outbox
from gateway.errors import Forbidden, NotFound
from gateway.messaging import access, posting
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.models import Message, ReplyPolicy, Thread, ThreadKind
from gateway.messaging.schemas import ReplyCreate
from gateway.messaging.views import Accepted
from gateway.orm import utcnow


def reply_scope(thread: Thread, person_id: uuid.UUID) -> tuple[bool, uuid.UUID | None]:
    """Whether ``person_id`` may answer, and to whom the answer is private (None: all)."""
    if person_id == thread.created_by:
        return True, None
    if thread.kind == ThreadKind.ANNOUNCEMENT.value:
        return thread.comments_enabled, None
    if thread.reply_policy == ReplyPolicy.NONE.value:
        return False, None
    if thread.hidden_recipients or thread.reply_policy == ReplyPolicy.SENDER.value:
        return True, person_id
    return True, None


async def reply(
    session: AsyncSession,
    actor: Actor,
    thread_id: uuid.UUID,
    data: ReplyCreate,
    *,
    settings: Settings,
    events: Events,
) -> Accepted:
    """Post an answer; the answer once it is durable."""
    posting.check_attachment_count(data.attachments, settings.message_max_attachments)
    now = utcnow()
    async with session.begin():
        thread, _ = await access.entry(session, actor, thread_id)
        # Answering means having read: a sensitive thread needs the same login strength.
        await access.require_assurance(session, actor, thread)
        allowed, private_to = reply_scope(thread, actor.person_id)
        if not allowed:
            raise Forbidden("this thread does not take replies")
        message = await posting.add_message(
            session,
            thread,
            author_id=actor.person_id,
            body=data.body,
            now=now,
            private_to=private_to,
        )
        await posting.link_attachments(
            session,
            municipality_id=actor.municipality_id,
            uploader_id=actor.person_id,
            message_id=message.id,
            ids=data.attachments,
        )
        answers = await posting.auto_replies(session, thread, message, now)
        for item in (message, *answers):
            outbox.record(session, actor.municipality_id, "message", item.id, now)
        everyone = await posting.participant_ids(session, thread)
        seen_by = posting.audience_of(thread, message, everyone)
    await events.publish(
        [*seen_by, *([actor.person_id] if answers else [])],
        {"type": "message", "thread_id": str(thread.id), "message_id": str(message.id)},
    )
    return Accepted(thread_id=thread.id, message_id=message.id, recipients=len(seen_by))


async def recall(
    session: AsyncSession,
    actor: Actor,
    message_id: uuid.UUID,
    *,
    settings: Settings,
    events: Events,
) -> Accepted:
    """Withdraw one's own message within the recall window; its text is erased."""
    now = utcnow()
    async with session.begin():
        message = await session.scalar(
            select(Message).where(
                Message.municipality_id == actor.municipality_id,
                Message.id == message_id,
                Message.author_id == actor.person_id,
                Message.auto_reply.is_(False),
            )
        )
        if message is None:
            raise NotFound("no such message of yours")
        thread = await session.get_one(Thread, message.thread_id)
        if message.recalled_at is None:
            window = dt.timedelta(seconds=settings.recall_window_seconds)
            if now - message.created_at > window:
                raise Forbidden(
                    f"a message can be recalled within {settings.recall_window_seconds} "
                    "seconds of sending; this one is older"
                )
            # Erased, not hidden: a recalled text must not linger for a later leak.
            message.recalled_at = now
            message.body = ""
            message.body_html = ""
            outbox.record(session, actor.municipality_id, "recall", message.id, now)
        everyone = await posting.participant_ids(session, thread)
        seen_by = posting.audience_of(thread, message, everyone)
    await events.publish(
        seen_by, {"type": "recalled", "thread_id": str(thread.id), "message_id": str(message.id)}
    )
    return Accepted(thread_id=thread.id, message_id=message.id, recipients=len(seen_by))
