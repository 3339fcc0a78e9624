"""One thread as its reader sees it, and marking it read (the read receipt)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit, webhooks
from gateway.delivery.receipts import settle_read
from gateway.errors import NotFound
from gateway.messaging import access
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.models import Attachment, Message, Participant
from gateway.messaging.replies import reply_scope
from gateway.messaging.views import AttachmentRead, MessageRead, PersonRef, ReadState, ThreadDetail
from gateway.orm import utcnow


async def attachments_of(
    session: AsyncSession, municipality_id: uuid.UUID, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[AttachmentRead]]:
    """The attachments of these messages, by message."""
    found: dict[uuid.UUID, list[AttachmentRead]] = {}
    if not message_ids:
        return found
    rows = await session.scalars(
        select(Attachment)
        .where(
            Attachment.municipality_id == municipality_id, Attachment.message_id.in_(message_ids)
        )
        .order_by(Attachment.created_at)
    )
    for a in rows:
        assert a.message_id is not None
        found.setdefault(a.message_id, []).append(
            AttachmentRead(id=a.id, file_name=a.file_name, content_type=a.content_type, size=a.size)
        )
    return found


async def thread(
    session: AsyncSession, actor: Actor, thread_id: uuid.UUID, *, audited: bool = True
) -> ThreadDetail:
    """The thread with the messages and participants the caller may see."""
    async with session.begin():
        found, me = await access.entry(session, actor, thread_id)
        await access.require_assurance(session, actor, found)
        # A person's export reads their threads as them; it is logged as the export.
        if found.sensitive and audited:
            await audit.record(
                session,
                municipality_id=actor.municipality_id,
                actor=audit.AuditActor.person(actor.person_id),
                action="thread.sensitive_read",
                target_kind="thread",
                target_id=found.id,
            )
        messages = list(
            (
                await session.scalars(
                    select(Message)
                    .where(
                        Message.municipality_id == actor.municipality_id,
                        Message.thread_id == found.id,
                        access.visible(found, actor.person_id),
                    )
                    .order_by(Message.created_at, Message.id)
                )
            ).all()
        )
        if found.hidden_recipients and actor.person_id != found.created_by:
            # A recipient of a hidden-recipient send sees the sender and themself, no one else.
            shown = [found.created_by, actor.person_id]
        else:
            shown = list(
                (
                    await session.scalars(
                        select(Participant.person_id)
                        .where(
                            Participant.municipality_id == actor.municipality_id,
                            Participant.thread_id == found.id,
                        )
                        .order_by(Participant.joined_at, Participant.id)
                    )
                ).all()
            )
        refs = await access.people(
            session,
            actor.municipality_id,
            {*shown, *(m.author_id for m in messages), found.created_by},
            viewer=actor,
        )
        files = await attachments_of(
            session, actor.municipality_id, [m.id for m in messages if m.recalled_at is None]
        )
    can_reply, _ = reply_scope(found, actor.person_id)
    return ThreadDetail(
        id=found.id,
        kind=found.kind,
        subject=found.subject,
        sensitive=found.sensitive,
        category=found.category,
        urgent=found.urgent,
        reply_policy=found.reply_policy,
        hidden_recipients=found.hidden_recipients,
        institution_id=found.institution_id,
        created_by=refs[found.created_by],
        created_at=found.created_at,
        can_reply=can_reply,
        participants=[refs[p] for p in dict.fromkeys(shown) if p in refs],
        messages=[_message(m, refs, files) for m in messages],
        unread_count=me.unread_count,
        archived=me.archived,
        muted=me.muted,
        marked=me.marked,
    )


def _message(
    m: Message,
    refs: dict[uuid.UUID, PersonRef],
    files: dict[uuid.UUID, list[AttachmentRead]],
) -> MessageRead:
    recalled = m.recalled_at is not None
    return MessageRead(
        id=m.id,
        author=refs[m.author_id],
        created_at=m.created_at,
        body=None if recalled else m.body,
        body_html=None if recalled else m.body_html,
        recalled=recalled,
        auto_reply=m.auto_reply,
        private=m.private_to is not None,
        attachments=[] if recalled else files.get(m.id, []),
    )


async def mark_read(
    session: AsyncSession,
    actor: Actor,
    thread_id: uuid.UUID,
    message_id: uuid.UUID | None,
    *,
    events: Events,
) -> ReadState:
    """Mark read up to a message (default: the newest); unread becomes what is left after it."""
    now = utcnow()
    async with session.begin():
        found, me = await access.entry(session, actor, thread_id)
        seen = (
            Message.municipality_id == actor.municipality_id,
            Message.thread_id == found.id,
            access.visible(found, actor.person_id),
        )
        upto = select(Message).where(*seen)
        upto = (
            upto.where(Message.id == message_id)
            if message_id is not None
            else upto.order_by(Message.created_at.desc(), Message.id.desc()).limit(1)
        )
        last = await session.scalar(upto)
        if last is None:
            raise NotFound("no such message in this thread")
        left = int(
            await session.scalar(
                select(func.count()).where(
                    *seen,
                    Message.created_at > last.created_at,
                    Message.author_id != actor.person_id,
                )
            )
            or 0
        )
        await session.execute(
            update(Participant)
            .where(Participant.id == me.id)
            .values(last_read_message_id=last.id, read_at=now, unread_count=left)
        )
        await settle_read(
            session,
            actor.municipality_id,
            found.id,
            actor.person_id,
            upto=last.created_at,
            now=now,
        )
        await webhooks.emit(
            session,
            actor.municipality_id,
            "message.read",
            {"thread_id": found.id, "message_id": last.id, "person_id": actor.person_id},
            institution_id=found.institution_id,
            now=now,
        )
    if actor.person_id != found.created_by:
        # The sender's receipts view updates live.
        await events.publish(
            [found.created_by],
            {"type": "read", "thread_id": str(found.id), "person_id": str(actor.person_id)},
        )
    return ReadState(thread_id=found.id, unread_count=left, read_at=now)


__all__ = ("mark_read", "thread")
