"""Out-of-office answers for staff (``PUT /v1/me/auto-reply``).

While one is active, a message that reaches the staff member gets one automatic answer
per thread (see :func:`gateway.messaging.posting.auto_replies`), private to its author.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import Forbidden, InvalidInput, NotFound
from gateway.messaging import posting
from gateway.messaging.actors import Actor
from gateway.messaging.models import AutoReply
from gateway.messaging.schemas import AutoReplyPut
from gateway.messaging.views import AutoReplyRead
from gateway.orm import utcnow


def _staff(actor: Actor) -> None:
    if not actor.staff:
        raise Forbidden("auto-replies are for staff")


async def put(session: AsyncSession, actor: Actor, data: AutoReplyPut) -> AutoReplyRead:
    """Set (or replace) the caller's auto-reply."""
    _staff(actor)
    if data.starts_at.tzinfo is None or data.ends_at.tzinfo is None:
        raise InvalidInput("times must carry a time zone", ["starts_at/ends_at: add an offset"])
    if data.ends_at <= data.starts_at:
        raise InvalidInput("the period ends before it starts", ["ends_at: must be after starts_at"])
    source, html = posting.body_of(data.body)
    async with session.begin():
        row = await session.scalar(
            select(AutoReply).where(
                AutoReply.municipality_id == actor.municipality_id,
                AutoReply.person_id == actor.person_id,
            )
        )
        if row is None:
            row = AutoReply(municipality_id=actor.municipality_id, person_id=actor.person_id)
            session.add(row)
        row.starts_at, row.ends_at = data.starts_at, data.ends_at
        row.body, row.body_html, row.updated_at = source, html, utcnow()
    return AutoReplyRead(starts_at=row.starts_at, ends_at=row.ends_at, body=row.body)


async def get(session: AsyncSession, actor: Actor) -> AutoReplyRead:
    """The caller's auto-reply; NotFound when none is set."""
    _staff(actor)
    async with session.begin():
        row = await session.scalar(
            select(AutoReply).where(
                AutoReply.municipality_id == actor.municipality_id,
                AutoReply.person_id == actor.person_id,
            )
        )
    if row is None:
        raise NotFound("no auto-reply is set")
    return AutoReplyRead(starts_at=row.starts_at, ends_at=row.ends_at, body=row.body)


async def clear(session: AsyncSession, actor: Actor) -> None:
    """Remove the caller's auto-reply."""
    _staff(actor)
    async with session.begin():
        await session.execute(
            delete(AutoReply).where(
                AutoReply.municipality_id == actor.municipality_id,
                AutoReply.person_id == actor.person_id,
            )
        )
