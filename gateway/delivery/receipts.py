"""When a person reads, their notifications for what they read are settled.

Sent ones become ``read`` (the report shows it); ones still waiting (quiet hours, an
escalation, a digest) are ``superseded`` — nobody needs to be told about what they
have already read. One UPDATE each, in the reading transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.delivery.models import (
    OPEN_STATES,
    SENT_STATES,
    Delivery,
    DeliveryState,
)
from gateway.messaging.models import Message


async def settle_read(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    thread_id: uuid.UUID,
    person_id: uuid.UUID,
    *,
    upto: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """Settle the person's deliveries of this thread's messages up to ``upto`` (all: None)."""
    read = select(Message.id).where(
        Message.municipality_id == municipality_id, Message.thread_id == thread_id
    )
    if upto is not None:
        read = read.where(Message.created_at <= upto)
    mine = (
        Delivery.municipality_id == municipality_id,
        Delivery.thread_id == thread_id,
        Delivery.person_id == person_id,
        Delivery.message_id.in_(read.scalar_subquery()),
    )
    await session.execute(
        update(Delivery)
        .where(*mine, Delivery.state.in_(SENT_STATES))
        .values(state=DeliveryState.READ.value, updated_at=now)
    )
    await session.execute(
        update(Delivery)
        # A waiting consent reminder (round > 0, also as a digest line) stays: reading is
        # not answering (it decides late).
        .where(*mine, Delivery.state.in_(OPEN_STATES), Delivery.round == 0)
        .values(state=DeliveryState.SUPERSEDED.value, reason="read", updated_at=now)
    )
