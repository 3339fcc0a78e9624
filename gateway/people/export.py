"""Right of access: everything the gateway holds about one person, as JSON.

The export is what a municipality hands a person who asks (GDPR art. 15). Two rules
shape it:

- The person's own records are shown whole: their roster row, links, addresses (with
  bounce state), preferences, schedules, consent answers, notices and deliveries.
- Their threads are shown exactly as the inbox API would show them to the person
  (:func:`gateway.messaging.reading.thread`), so nothing they could not read appears,
  other protected people keep their aliases, and nobody else's address is in it.
  Sensitive threads are included: the person may read them with a strong login.

Left out on purpose: push subscription keys (only the endpoint's origin is shown) and
blocks that others hold against the person (art. 15(4): they may protect someone).
Inbound mail records carry no link to a person (a digest of the Message-ID and an
outcome), so a reply by mail appears as the message it became.
"""

import datetime as dt
import uuid

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.errors import NotFound
from gateway.messaging.actors import Actor
from gateway.messaging.models import Participant
from gateway.orm import utcnow
from gateway.people.export_activity import (
    _auto_reply,
    _consent_answers,
    _deliveries,
    _notices,
    _preferences,
    _push_subscriptions,
    _schedule,
    _threads,
    endpoint_origin,
)
from gateway.people.export_roster import (
    Json,
    _affiliations,
    _blocks,
    _contact_points,
    _guardianships,
    _memberships,
    _person,
)
from gateway.roster.models import Municipality, Person

SCHEMA_VERSION = 1
# Reading as the person with the strongest login: the export is their own data, and a
# sensitive thread is theirs to read once they prove who they are (the municipality
# hands the export over only to someone it has identified).
_EXPORT_ACR = "high"


async def export_person(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    person_id: uuid.UUID,
    *,
    by: audit.AuditActor,
    now: dt.datetime | None = None,
) -> Json:
    """Everything held about the person, JSON-ready; NotFound when not in the municipality.

    ``session`` must not be in a transaction: the threads are read the way the API reads
    them, each in its own.
    """
    async with session.begin():
        person = await session.scalar(
            select(Person).where(Person.municipality_id == municipality_id, Person.id == person_id)
        )
        if person is None:
            raise NotFound("no such person")
        await audit.record(
            session,
            municipality_id=municipality_id,
            actor=by,
            action="person.export",
            target_kind="person",
            target_id=person.id,
        )
        actor = Actor(
            person_id=person.id,
            municipality_id=municipality_id,
            kind=person.kind,
            acr=_EXPORT_ACR,
            principal=f"export:{person.id}",
        )
        code = await session.scalar(
            select(Municipality.code).where(Municipality.id == municipality_id)
        )
        held: Json = {
            "schema": "budstikke.person-export",
            "schema_version": SCHEMA_VERSION,
            "exported_at": now or utcnow(),
            "municipality": code,
            "person": _person(person),
            "affiliations": await _affiliations(session, person),
            "memberships": await _memberships(session, person),
            "guardianships": await _guardianships(session, person),
            "contact_points": await _contact_points(session, person),
            "preferences": await _preferences(session, person),
            "notification_schedule": await _schedule(session, person),
            "push_subscriptions": await _push_subscriptions(session, person),
            "auto_reply": await _auto_reply(session, person),
            "blocks": await _blocks(session, actor),
            "consent_answers": await _consent_answers(session, actor),
            "daycare_notices": await _notices(session, person),
            "deliveries": await _deliveries(session, person),
        }
        thread_ids = list(
            (
                await session.scalars(
                    select(Participant.thread_id)
                    .where(
                        Participant.municipality_id == municipality_id,
                        Participant.person_id == person.id,
                    )
                    .order_by(Participant.joined_at, Participant.thread_id)
                )
            ).all()
        )
    held["threads"] = [msgspec.to_builtins(t) for t in await _threads(session, actor, thread_ids)]
    result: Json = msgspec.to_builtins(held)
    return result


__all__ = ("SCHEMA_VERSION", "endpoint_origin", "export_person")
