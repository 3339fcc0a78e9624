"""The delivery report of one message: counts by channel × state, and who no channel reaches.

For staff who can see the message's thread. "Reached" means a notification is on its
way or arrived (queued, deferred, sent, delivered, read); everyone else who sees the
message is listed with why, so a teacher can phone them. Two grouped queries.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.delivery.models import Delivery, DeliveryState
from gateway.errors import Forbidden, NotFound
from gateway.messaging import access
from gateway.messaging.actors import Actor
from gateway.messaging.models import Message, Participant, ThreadKind
from gateway.roster.models import Person

UNREACHED_SHOWN = 1000
REACHING = (
    DeliveryState.QUEUED.value,
    DeliveryState.DEFERRED.value,
    DeliveryState.SENT.value,
    DeliveryState.DELIVERED.value,
    DeliveryState.READ.value,
)


class Unreached(msgspec.Struct, kw_only=True):
    person_id: uuid.UUID
    name: str
    kind: str
    why: str


class DeliveryReport(msgspec.Struct, kw_only=True):
    message_id: uuid.UUID
    thread_id: uuid.UUID
    recipients: int
    read: int
    channels: dict[str, dict[str, int]]
    unreached_count: int
    unreached: list[Unreached]


async def report(session: AsyncSession, actor: Actor, message_id: uuid.UUID) -> DeliveryReport:
    """The report, for a staff member who sees the message's thread."""
    message = await session.scalar(
        select(Message).where(
            Message.municipality_id == actor.municipality_id, Message.id == message_id
        )
    )
    if message is None:
        raise NotFound("no such message")
    thread, _ = await access.entry(session, actor, message.thread_id)
    if not actor.staff:
        raise Forbidden("only staff see delivery reports")
    m = actor.municipality_id
    counts = await session.execute(
        select(Delivery.channel, Delivery.state, func.count())
        .where(Delivery.municipality_id == m, Delivery.message_id == message.id)
        .group_by(Delivery.channel, Delivery.state)
    )
    channels: dict[str, dict[str, int]] = {}
    for channel, state, count in counts:
        channels.setdefault(channel, {})[state] = int(count)
    seen_by = [
        Participant.municipality_id == m,
        Participant.thread_id == thread.id,
        Participant.person_id != message.author_id,
    ]
    if message.private_to is not None:
        seen_by.append(
            or_(
                Participant.person_id == thread.created_by,
                Participant.person_id == message.private_to,
            )
        )
    reaching = (
        select(Delivery.id)
        .where(
            Delivery.municipality_id == m,
            Delivery.message_id == message.id,
            Delivery.person_id == Participant.person_id,
            Delivery.state.in_(REACHING),
        )
        .exists()
    )
    last_reason = (
        select(func.max(Delivery.state + ": " + func.coalesce(Delivery.reason, "")))
        .where(
            Delivery.municipality_id == m,
            Delivery.message_id == message.id,
            Delivery.person_id == Participant.person_id,
        )
        .scalar_subquery()
    )
    read_filter = (
        Participant.read_at.is_not(None)
        if thread.kind == ThreadKind.ANNOUNCEMENT.value
        else and_(Participant.read_at.is_not(None), Participant.unread_count == 0)
    )
    totals = (
        await session.execute(
            select(func.count(), func.count().filter(read_filter)).where(*seen_by)
        )
    ).one()
    unreached_rows = await session.execute(
        select(
            Participant.person_id,
            Person.given_name,
            Person.family_name,
            Person.kind,
            last_reason,
            func.count().over(),
        )
        .join(Person, Person.id == Participant.person_id)
        .where(*seen_by, ~reaching)
        .order_by(Person.family_name, Person.given_name, Participant.person_id)
        .limit(UNREACHED_SHOWN)
    )
    unreached: list[Unreached] = []
    total_unreached = 0
    for person_id, given, family, kind, reason, total in unreached_rows:
        total_unreached = int(total)
        why = reason or "no channel: no email address or push subscription, or all turned off"
        unreached.append(
            Unreached(person_id=person_id, name=f"{given} {family}".strip(), kind=kind, why=why)
        )
    return DeliveryReport(
        message_id=message.id,
        thread_id=thread.id,
        recipients=int(totals[0]),
        read=int(totals[1]),
        channels=channels,
        unreached_count=total_unreached,
        unreached=unreached,
    )
