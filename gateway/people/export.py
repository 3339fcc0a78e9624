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

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.audience.models import PersonBlock
from gateway.consents.models import ConsentAnswer, ConsentVersion
from gateway.delivery.models import Delivery, PushSubscription
from gateway.errors import NotFound
from gateway.messaging import access, reading
from gateway.messaging.actors import Actor
from gateway.messaging.models import AutoReply, Participant
from gateway.notices.models import DaycareNotice
from gateway.orm import utcnow
from gateway.preferences.models import Preference, Schedule
from gateway.roster.models import (
    Affiliation,
    ContactPoint,
    Group,
    Guardianship,
    Institution,
    Membership,
    Municipality,
    Person,
)

SCHEMA_VERSION = 1
# Reading as the person with the strongest login: the export is their own data, and a
# sensitive thread is theirs to read once they prove who they are (the municipality
# hands the export over only to someone it has identified).
_EXPORT_ACR = "high"

Json = dict[str, Any]


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


async def _threads(
    session: AsyncSession, actor: Actor, thread_ids: Iterable[uuid.UUID]
) -> list[Any]:
    found = []
    for thread_id in thread_ids:
        try:
            found.append(await reading.thread(session, actor, thread_id, audited=False))
        except NotFound:  # a scheduled announcement not yet published: not theirs yet
            continue
    return found


def _person(person: Person) -> Json:
    return {
        "id": person.id,
        "source_id": person.source_id,
        "kind": person.kind,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "protected": person.protected,
        "alias": person.alias,
        "locale": person.locale,
        "birth_date": person.birth_date,
        "grades": person.grades,
        "uni_login": person.uni_login,
        "username": person.username,
        "active": person.active,
        "deactivated_at": person.deactivated_at,
        "created_at": person.created_at,
        "updated_at": person.updated_at,
    }


async def _affiliations(session: AsyncSession, person: Person) -> list[Json]:
    rows = await session.execute(
        select(Affiliation, Institution.name, Institution.kind)
        .join(Institution, Institution.id == Affiliation.institution_id)
        .where(
            Affiliation.municipality_id == person.municipality_id,
            Affiliation.person_id == person.id,
        )
        .order_by(Institution.name, Affiliation.role)
    )
    return [
        {
            "institution": {"id": a.institution_id, "name": name, "kind": kind},
            "role": a.role,
            "primary": a.is_primary,
            "begin_date": a.begin_date,
            "end_date": a.end_date,
            "active": a.active,
        }
        for a, name, kind in rows
    ]


async def _memberships(session: AsyncSession, person: Person) -> list[Json]:
    rows = await session.execute(
        select(Membership, Group.name, Group.kind, Group.institution_id)
        .join(Group, Group.id == Membership.group_id)
        .where(
            Membership.municipality_id == person.municipality_id,
            Membership.person_id == person.id,
        )
        .order_by(Group.name, Membership.role)
    )
    return [
        {
            "group": {"id": m.group_id, "name": name, "kind": kind, "institution_id": place},
            "role": m.role,
            "primary": m.is_primary,
            "begin_date": m.begin_date,
            "end_date": m.end_date,
            "active": m.active,
        }
        for m, name, kind, place in rows
    ]


async def _guardianships(session: AsyncSession, person: Person) -> Json:
    """The person's children (as guardian) and guardians (as child), named as ``/v1/me``
    would: a protected one by alias unless the person is its custodial guardian."""
    rows = await session.execute(
        select(Guardianship, Person)
        .join(
            Person,
            or_(
                (Guardianship.guardian_id == person.id) & (Person.id == Guardianship.child_id),
                (Guardianship.child_id == person.id) & (Person.id == Guardianship.guardian_id),
            ),
        )
        .where(
            Guardianship.municipality_id == person.municipality_id,
            or_(Guardianship.guardian_id == person.id, Guardianship.child_id == person.id),
        )
    )
    children: list[Json] = []
    guardians: list[Json] = []
    for link, other in rows:
        as_guardian = link.guardian_id == person.id
        entitled = as_guardian and link.custody
        entry = {
            "person": {"id": other.id, "name": _shown(other, entitled=entitled)},
            "custody": link.custody,
            "relation": link.relation,
            "active": link.active,
        }
        (children if as_guardian else guardians).append(entry)
    for listed in (children, guardians):
        listed.sort(key=lambda e: (e["person"]["name"], str(e["person"]["id"])))
    return {"children": children, "guardians": guardians}


def _shown(person: Person, *, entitled: bool) -> str:
    if person.protected and not entitled:
        return person.alias or "Beskyttet person"
    return f"{person.given_name} {person.family_name}".strip()


async def _contact_points(session: AsyncSession, person: Person) -> list[Json]:
    rows = await session.scalars(
        select(ContactPoint)
        .where(
            ContactPoint.municipality_id == person.municipality_id,
            ContactPoint.person_id == person.id,
        )
        .order_by(ContactPoint.kind, ContactPoint.address)
    )
    return [
        {
            "kind": c.kind,
            "address": c.address,
            "origin": c.origin,
            "verified": c.verified,
            "verified_at": c.verified_at,
            "active": c.active,
            # A hard bounce disables the address: the bounce state the person may ask about.
            "disabled_at": c.disabled_at,
            "disabled_reason": c.disabled_reason,
        }
        for c in rows
    ]


async def _preferences(session: AsyncSession, person: Person) -> list[Json]:
    rows = await session.scalars(
        select(Preference)
        .where(
            Preference.municipality_id == person.municipality_id,
            Preference.person_id == person.id,
        )
        .order_by(Preference.category, Preference.channel)
    )
    return [
        {"category": p.category, "channel": p.channel, "mode": p.mode, "updated_at": p.updated_at}
        for p in rows
    ]


async def _schedule(session: AsyncSession, person: Person) -> Json | None:
    found = await session.scalar(
        select(Schedule).where(
            Schedule.municipality_id == person.municipality_id, Schedule.person_id == person.id
        )
    )
    if found is None:
        return None
    return {
        "quiet_start_minute": found.quiet_start,
        "quiet_end_minute": found.quiet_end,
        "digest_minute": found.digest_time,
        "last_digest_at": found.last_digest_at,
        "updated_at": found.updated_at,
    }


def endpoint_origin(endpoint: str) -> str:
    """The push service an endpoint belongs to, without the per-browser path (a secret)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


async def _push_subscriptions(session: AsyncSession, person: Person) -> list[Json]:
    rows = await session.scalars(
        select(PushSubscription)
        .where(
            PushSubscription.municipality_id == person.municipality_id,
            PushSubscription.person_id == person.id,
        )
        .order_by(PushSubscription.created_at)
    )
    return [
        {
            "id": s.id,
            "push_service": endpoint_origin(s.endpoint),
            "user_agent": s.user_agent,
            "created_at": s.created_at,
            "last_used_at": s.last_used_at,
            "disabled_at": s.disabled_at,
            "disabled_reason": s.disabled_reason,
        }
        for s in rows
    ]


async def _auto_reply(session: AsyncSession, person: Person) -> Json | None:
    found = await session.scalar(
        select(AutoReply).where(
            AutoReply.municipality_id == person.municipality_id, AutoReply.person_id == person.id
        )
    )
    if found is None:
        return None
    return {"starts_at": found.starts_at, "ends_at": found.ends_at, "body": found.body}


async def _blocks(session: AsyncSession, actor: Actor) -> list[Json]:
    """Blocks that keep others from reaching the person (not those held against them)."""
    rows = list(
        (
            await session.scalars(
                select(PersonBlock).where(
                    PersonBlock.municipality_id == actor.municipality_id,
                    PersonBlock.person_id == actor.person_id,
                )
            )
        ).all()
    )
    refs = await access.people(
        session, actor.municipality_id, {b.blocked_id for b in rows}, viewer=actor
    )
    return [
        {"blocked": msgspec.to_builtins(refs[b.blocked_id]), "reason": b.reason}
        for b in rows
        if b.blocked_id in refs
    ]


async def _consent_answers(session: AsyncSession, actor: Actor) -> list[Json]:
    """Answers the person gave, and answers given for them (as a child)."""
    rows = list(
        (
            await session.execute(
                select(ConsentAnswer, ConsentVersion.title)
                .join(
                    ConsentVersion,
                    (ConsentVersion.request_id == ConsentAnswer.request_id)
                    & (ConsentVersion.version == ConsentAnswer.version),
                )
                .where(
                    ConsentAnswer.municipality_id == actor.municipality_id,
                    or_(
                        ConsentAnswer.answered_by == actor.person_id,
                        ConsentAnswer.child_id == actor.person_id,
                    ),
                )
                .order_by(ConsentAnswer.created_at, ConsentAnswer.id)
            )
        ).all()
    )
    people = {a.child_id for a, _ in rows} | {a.answered_by for a, _ in rows}
    refs = await access.people(session, actor.municipality_id, people, viewer=actor)
    return [
        {
            "consent_id": a.request_id,
            "title": title,
            "version": a.version,
            "child": msgspec.to_builtins(refs[a.child_id]) if a.child_id in refs else None,
            "answered_by": msgspec.to_builtins(refs[a.answered_by])
            if a.answered_by in refs
            else None,
            "option": a.option,
            "channel": a.channel,
            "answered_at": a.created_at,
        }
        for a, title in rows
    ]


async def _notices(session: AsyncSession, person: Person) -> list[Json]:
    """Daycare notices the person wrote, or (as a child) that are about them."""
    rows = await session.scalars(
        select(DaycareNotice)
        .where(
            DaycareNotice.municipality_id == person.municipality_id,
            or_(DaycareNotice.created_by == person.id, DaycareNotice.child_id == person.id),
        )
        .order_by(DaycareNotice.from_date, DaycareNotice.created_at)
    )
    return [
        {
            "id": n.id,
            "institution_id": n.institution_id,
            "child_id": n.child_id,
            "kind": n.kind,
            "from_date": n.from_date,
            "to_date": n.to_date,
            "picked_up_by": n.picked_up_by,
            "pickup_time": n.pickup_time,
            "note": n.note,
            "written_by_me": n.created_by == person.id,
            "created_at": n.created_at,
            "acknowledged_at": n.acknowledged_at,
            "withdrawn_at": n.withdrawn_at,
        }
        for n in rows
    ]


async def _deliveries(session: AsyncSession, person: Person) -> list[Json]:
    """Notifications addressed to the person: channel, state and times (no content)."""
    rows = await session.scalars(
        select(Delivery)
        .where(Delivery.municipality_id == person.municipality_id, Delivery.person_id == person.id)
        .order_by(Delivery.created_at, Delivery.id)
    )
    return [
        {
            "thread_id": d.thread_id,
            "message_id": d.message_id,
            "channel": d.channel,
            "kind": d.kind,
            "round": d.round,
            "state": d.state,
            "reason": d.reason,
            "address": d.address if d.channel == "email" else None,
            "attempts": d.attempts,
            "created_at": d.created_at,
            "not_before": d.not_before,
            "sent_at": d.sent_at,
            "updated_at": d.updated_at,
        }
        for d in rows
    ]


__all__ = ("SCHEMA_VERSION", "endpoint_origin", "export_person")
