"""Erasure: a person anonymised everywhere, the threads kept readable for the others.

What goes, what stays and why is in docs/data-control.md. In short: the person row stays
(threads, receipts and consent records point at it) but carries nothing that
identifies anyone — the name becomes :data:`ERASED_NAME`, every identifier and address
is cleared, and its source id becomes a tombstone so a roster import never writes into
it again. What the person wrote becomes :data:`ERASED_BODY`; their files are deleted
from disk; everything that only served them (addresses, push subscriptions,
preferences, roster links, pending notifications) is deleted or cancelled.

Consent answers stay as the legal record of what was decided for a child: the row
still says "a guardian answered yes on this day", and the guardian is now the
anonymous row.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.audience.models import PersonBlock
from gateway.config import Settings
from gateway.consents.models import ConsentAnswer
from gateway.delivery.models import OPEN_STATES, Delivery, DeliveryState, PushSubscription
from gateway.errors import NotFound
from gateway.messaging import attachments, sanitise
from gateway.messaging.models import Attachment, AutoReply, IdempotencyKey, Message, Thread
from gateway.notices.models import DaycareNotice
from gateway.orm import utcnow
from gateway.preferences.models import Preference, Schedule
from gateway.roster.models import (
    ERASED_SOURCE_PREFIX,
    Affiliation,
    ContactPoint,
    Guardianship,
    Membership,
    Person,
)

ERASED_NAME = "Slettet person"
ERASED_BODY = "Beskeden er slettet."
ERASED_SUBJECT = "Slettet emne"
ERASED_REASON = "person erased"
TOMBSTONE_PREFIX = ERASED_SOURCE_PREFIX


def tombstone(municipality_id: uuid.UUID, source_id: str) -> str:
    """The source id an erased person keeps: unique, and not the one the source sends.

    A digest rather than the id itself, so the erased row does not keep the source
    system's identifier in clear; a later import sending that id cannot match it.
    """
    if source_id.startswith(TOMBSTONE_PREFIX):
        return source_id
    digest = hashlib.sha256(f"{municipality_id}:{source_id}".encode()).hexdigest()
    return f"{TOMBSTONE_PREFIX}{digest}"


def is_erased(person: Person) -> bool:
    return person.source_id.startswith(TOMBSTONE_PREFIX)


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure changed, for the CLI and the API answer."""

    person_id: uuid.UUID
    messages: int
    threads: int
    attachments: int
    deliveries: int
    contact_points: int
    push_subscriptions: int
    consent_answers_kept: int


async def erase_person(
    session: AsyncSession,
    settings: Settings,
    municipality_id: uuid.UUID,
    person_id: uuid.UUID,
    *,
    by: audit.AuditActor,
) -> ErasureReport:
    """Anonymise the person in one transaction; NotFound when not in the municipality.

    Running it again on an erased person is harmless (and finishes what a crash left).
    Files are deleted last inside the transaction: if the commit then fails, the rows
    point at missing files and a second run completes the erasure — the failure leans
    towards forgetting, never towards keeping.
    """
    now = utcnow()
    async with session.begin():
        person = await session.scalar(
            select(Person)
            .where(Person.municipality_id == municipality_id, Person.id == person_id)
            .with_for_update()
        )
        if person is None:
            raise NotFound("no such person")
        await audit.record(
            session,
            municipality_id=municipality_id,
            actor=by,
            action="person.erase",
            target_kind="person",
            target_id=person.id,
        )
        addresses = list(
            (
                await session.scalars(
                    select(ContactPoint.address).where(
                        ContactPoint.municipality_id == municipality_id,
                        ContactPoint.person_id == person_id,
                    )
                )
            ).all()
        )
        messages = await _messages(session, municipality_id, person_id)
        threads = await _threads(session, municipality_id, person_id)
        files = await _attachments(session, municipality_id, person_id)
        deliveries = await _deliveries(session, municipality_id, person_id, addresses)
        contact_points = await _delete(session, ContactPoint, municipality_id, person_id)
        subscriptions = await _delete(session, PushSubscription, municipality_id, person_id)
        for model in (Preference, Schedule, AutoReply, Affiliation, Membership):
            await _delete(session, model, municipality_id, person_id)
        await _links(session, municipality_id, person_id)
        await _notices(session, municipality_id, person_id)
        kept = len(
            (
                await session.scalars(
                    select(ConsentAnswer.id).where(
                        ConsentAnswer.municipality_id == municipality_id,
                        ConsentAnswer.answered_by == person_id,
                    )
                )
            ).all()
        )
        person.source_id = tombstone(municipality_id, person.source_id)
        person.given_name = ERASED_NAME
        person.family_name = ""
        person.protected = False
        person.alias = None
        person.birth_date = None
        person.grades = None
        person.uni_login = None
        person.username = None
        person.active = False
        person.deactivated_at = person.deactivated_at or now
        person.updated_at = now
        await session.flush()
        for attachment_id in files:
            attachments.path_of(settings, municipality_id, attachment_id).unlink(missing_ok=True)
    return ErasureReport(
        person_id=person_id,
        messages=messages,
        threads=threads,
        attachments=len(files),
        deliveries=deliveries,
        contact_points=contact_points,
        push_subscriptions=subscriptions,
        consent_answers_kept=kept,
    )


async def _messages(session: AsyncSession, municipality_id: uuid.UUID, person_id: uuid.UUID) -> int:
    """Replace every body the person wrote by the marker; the message keeps its place."""
    result = await session.execute(
        update(Message)
        .where(Message.municipality_id == municipality_id, Message.author_id == person_id)
        .values(body=ERASED_BODY, body_html=sanitise.render(ERASED_BODY))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _threads(session: AsyncSession, municipality_id: uuid.UUID, person_id: uuid.UUID) -> int:
    """The subjects the person wrote go too: a subject is their text as much as a body."""
    result = await session.execute(
        update(Thread)
        .where(Thread.municipality_id == municipality_id, Thread.created_by == person_id)
        .values(subject=ERASED_SUBJECT)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _attachments(
    session: AsyncSession, municipality_id: uuid.UUID, person_id: uuid.UUID
) -> list[uuid.UUID]:
    """Delete the rows of the person's files (uploaded, or on their messages); their ids."""
    own_messages = select(Message.id).where(
        Message.municipality_id == municipality_id, Message.author_id == person_id
    )
    theirs = (
        Attachment.municipality_id == municipality_id,
        or_(Attachment.uploaded_by == person_id, Attachment.message_id.in_(own_messages)),
    )
    ids = list((await session.scalars(select(Attachment.id).where(*theirs))).all())
    if ids:
        await session.execute(
            delete(Attachment)
            .where(Attachment.municipality_id == municipality_id, Attachment.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    return ids


async def _deliveries(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    person_id: uuid.UUID,
    addresses: list[str],
) -> int:
    """Cancel what was still to be sent; keep the rest for the senders' reports, unaddressed.

    A delivery report counts notifications per message; dropping rows would change
    what a sender already saw. The address (and a reason that quotes it, like a bounce
    diagnostic) is what identifies the person, so that goes.
    """
    theirs = (Delivery.municipality_id == municipality_id, Delivery.person_id == person_id)
    await session.execute(
        update(Delivery)
        .where(*theirs, Delivery.state.in_(OPEN_STATES))
        .values(
            state=DeliveryState.SKIPPED.value,
            reason=ERASED_REASON,
            claimed_by=None,
            claimed_until=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    for address in addresses:
        await session.execute(
            update(Delivery)
            .where(*theirs, Delivery.reason.contains(address, autoescape=True))
            .values(reason=ERASED_REASON)
            .execution_options(synchronize_session=False)
        )
    result = await session.execute(
        update(Delivery)
        .where(*theirs)
        .values(address=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


_Owned = (
    type[ContactPoint]
    | type[PushSubscription]
    | type[Preference]
    | type[Schedule]
    | type[AutoReply]
    | type[Affiliation]
    | type[Membership]
)


async def _delete(
    session: AsyncSession, model: _Owned, municipality_id: uuid.UUID, person_id: uuid.UUID
) -> int:
    result = await session.execute(
        delete(model)
        .where(model.municipality_id == municipality_id, model.person_id == person_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _links(session: AsyncSession, municipality_id: uuid.UUID, person_id: uuid.UUID) -> None:
    """Guardianships, blocks and idempotency records that name the person, either side.

    A guardianship says whose parent the person was: identifying even without a name.
    """
    await session.execute(
        delete(Guardianship)
        .where(
            Guardianship.municipality_id == municipality_id,
            or_(Guardianship.guardian_id == person_id, Guardianship.child_id == person_id),
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(PersonBlock)
        .where(
            PersonBlock.municipality_id == municipality_id,
            or_(PersonBlock.person_id == person_id, PersonBlock.blocked_id == person_id),
        )
        .execution_options(synchronize_session=False)
    )
    # Stored answers to the person's own requests (kept a day) may quote what they sent.
    await session.execute(
        delete(IdempotencyKey)
        .where(
            IdempotencyKey.municipality_id == municipality_id,
            IdempotencyKey.principal == f"person:{person_id}",
        )
        .execution_options(synchronize_session=False)
    )


async def _notices(session: AsyncSession, municipality_id: uuid.UUID, person_id: uuid.UUID) -> None:
    """Daycare notices by or about the person keep the day and kind (the institution's
    attendance record) but lose the free text and the name of whoever picks up."""
    await session.execute(
        update(DaycareNotice)
        .where(
            DaycareNotice.municipality_id == municipality_id,
            or_(DaycareNotice.created_by == person_id, DaycareNotice.child_id == person_id),
        )
        .values(note=None, picked_up_by=None)
        .execution_options(synchronize_session=False)
    )


__all__ = (
    "ERASED_BODY",
    "ERASED_NAME",
    "ErasureReport",
    "erase_person",
    "is_erased",
    "tombstone",
)
