"""Read receipts for a thread's sender: who has read, and when.

Staff senders always see them. A guardian or pupil who started a thread sees them only
where the institution's ``guardians_see_receipts`` setting is on (default off). Any
other participant is refused (403: they see the thread, but not who read it).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import Forbidden
from gateway.messaging import access
from gateway.messaging.actors import Actor
from gateway.messaging.models import Participant, ParticipantRole
from gateway.messaging.views import Receipt, Receipts


async def receipts(session: AsyncSession, actor: Actor, thread_id: uuid.UUID) -> Receipts:
    """Per recipient whether they have read the thread up to its newest message."""
    async with session.begin():
        thread, _ = await access.entry(session, actor, thread_id)
        if actor.person_id != thread.created_by:
            raise Forbidden("only the thread's sender sees its read receipts")
        if not actor.staff and not await access.institution_setting(
            session, thread.institution_id, "guardians_see_receipts", False
        ):
            raise Forbidden("read receipts are shown to staff senders only at this institution")
        rows = (
            await session.execute(
                select(Participant.person_id, Participant.read_at, Participant.unread_count)
                .where(
                    Participant.municipality_id == actor.municipality_id,
                    Participant.thread_id == thread.id,
                    Participant.role != ParticipantRole.SENDER.value,
                )
                .order_by(Participant.joined_at, Participant.id)
            )
        ).all()
        refs = await access.people(
            session, actor.municipality_id, [r.person_id for r in rows], viewer=actor
        )
    items = [
        Receipt(
            person=refs[r.person_id],
            read=r.read_at is not None and r.unread_count == 0,
            read_at=r.read_at,
        )
        for r in rows
        if r.person_id in refs
    ]
    read = sum(item.read for item in items)
    return Receipts(
        thread_id=thread.id, total=len(items), read=read, unread=len(items) - read, recipients=items
    )
