"""Loading a chunk of deliveries with everything a send decision and a render need.

One query joins each delivery to its message, thread, the recipient's inbox entry,
the recipient, the author, the institution and the recipient's current preference;
one more finds email addresses and one the push subscriptions. From the rows come
:class:`Loaded` values: the decision inputs, and the :class:`Notice` to render.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import msgspec
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.config import Settings
from gateway.consents import asked as consent_asked
from gateway.consents import links as consent_links
from gateway.delivery.models import Delivery, DeliveryChannel
from gateway.delivery.notice import Branding, Notice, PushTarget
from gateway.delivery.subscriptions import active_targets
from gateway.messaging.models import Attachment, Message, Participant, Thread, ThreadKind
from gateway.preferences.models import Category, Preference
from gateway.roster.models import ContactKind, ContactPoint, Institution, Person, PersonKind

PROTECTED_NAME = "Beskyttet person"
CONSENT_CATEGORIES = frozenset({Category.CONSENT.value, Category.REMINDER.value})


@dataclass(frozen=True, slots=True)
class Loaded:
    """One claimed delivery and what decides whether and how it goes out."""

    delivery: Delivery
    notice: Notice
    recalled: bool
    expired: bool
    muted: bool
    read: bool
    chosen_mode: str | None
    institution_defaults: Any
    email: str | None
    targets: tuple[PushTarget, ...]
    # Consent reminders: why nothing is left to ask ("answered", "changed", "closed").
    no_longer_asked: str | None = None


def thread_url(settings: Settings, thread_id: uuid.UUID) -> str:
    """Where a notification sends its reader: the gateway redirects to the portal."""
    return f"{settings.base_url}/threads/{thread_id}"


def shown_name(given: str, family: str, protected: bool, alias: str | None, staff: bool) -> str:
    """The author's name as this recipient may see it."""
    if protected and not staff:
        return alias or PROTECTED_NAME
    return f"{given} {family}".strip()


def _branding(name: str | None, settings: dict[str, Any] | None) -> Branding:
    found = (settings or {}).get("branding") or {}
    colour = found.get("colour")
    logo = found.get("logo_url")
    return Branding(
        name=str(found.get("name") or name or "Budstikke"),
        colour=colour if isinstance(colour, str) else None,
        logo_url=logo if isinstance(logo, str) and logo.startswith("https://") else None,
    )


async def load(
    session: AsyncSession, settings: Settings, ids: Sequence[uuid.UUID], now: dt.datetime
) -> list[Loaded]:
    """The claimed deliveries with their context (three queries for the whole chunk)."""
    if not ids:
        return []
    recipient = aliased(Person)
    author = aliased(Person)
    last_read = aliased(Message)
    attachments = (
        select(func.count())
        .where(Attachment.municipality_id == Message.municipality_id)
        .where(Attachment.message_id == Message.id)
        .scalar_subquery()
    )
    query = (
        select(
            Delivery,
            Message,
            Thread,
            Participant.muted,
            Participant.read_at,
            last_read.created_at,
            recipient,
            author,
            Institution.name,
            Institution.time_zone,
            Institution.settings,
            Preference.mode,
            attachments,
        )
        .join(Message, Message.id == Delivery.message_id)
        .join(Thread, Thread.id == Delivery.thread_id)
        .join(recipient, recipient.id == Delivery.person_id)
        .join(author, author.id == Message.author_id)
        .outerjoin(
            Participant,
            and_(
                Participant.municipality_id == Delivery.municipality_id,
                Participant.thread_id == Delivery.thread_id,
                Participant.person_id == Delivery.person_id,
            ),
        )
        .outerjoin(last_read, last_read.id == Participant.last_read_message_id)
        .outerjoin(Institution, Institution.id == Thread.institution_id)
        .outerjoin(
            Preference,
            and_(
                Preference.municipality_id == Delivery.municipality_id,
                Preference.person_id == Delivery.person_id,
                Preference.category == Delivery.category,
                Preference.channel == Delivery.channel,
            ),
        )
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.id)
    )
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    municipality_id = rows[0][0].municipality_id
    people = list({row[0].person_id for row in rows})
    emails = await _emails(session, municipality_id, people)
    push = [r[0].person_id for r in rows if r[0].channel == DeliveryChannel.WEBPUSH.value]
    targets = await active_targets(session, municipality_id, push) if push else {}
    loaded = [_loaded(settings, row, emails, targets, now) for row in rows]
    return await _with_consents(session, settings, municipality_id, loaded, now)


async def _with_consents(
    session: AsyncSession,
    settings: Settings,
    municipality_id: uuid.UUID,
    loaded: list[Loaded],
    now: dt.datetime,
) -> list[Loaded]:
    """Consent threads: what each person is still asked about, in a few queries per chunk.

    It decides a reminder late (``no_longer_asked``: a reminder is moot once answered,
    not once read) and gives a consent mail its answer links (never a sensitive one's).
    """
    pairs = {
        (item.notice.thread_id, item.notice.person_id)
        for item in loaded
        if item.notice.category in CONSENT_CATEGORIES
    }
    if not pairs:
        return loaded
    asked = await consent_asked.still_asked(session, settings, municipality_id, pairs, now)
    mailed = {
        (item.notice.thread_id, item.notice.person_id)
        for item in loaded
        if item.notice.channel == DeliveryChannel.EMAIL.value and not item.notice.sensitive
    }
    links = await consent_links.answer_links(session, settings, asked, mailed & pairs)
    found: list[Loaded] = []
    for item in loaded:
        key = (item.notice.thread_id, item.notice.person_id)
        if key not in asked:
            found.append(item)
            continue
        # Links answer the current version: a mail of an older one shows the old question.
        current = item.notice.message_id == asked[key].message_id
        notice = msgspec.structs.replace(
            item.notice,
            answer_links=links.get(key, ()) if current else (),
            answer_by=asked[key].request.deadline,
        )
        moot = None
        if item.delivery.round > 0:  # a reminder, instant or in a digest
            moot = consent_asked.no_longer_asked(asked[key], item.notice.message_id)
        found.append(replace(item, notice=notice, no_longer_asked=moot))
    return found


def _loaded(
    settings: Settings,
    row: Any,
    emails: dict[uuid.UUID, str],
    targets: dict[uuid.UUID, list[PushTarget]],
    now: dt.datetime,
) -> Loaded:
    (delivery, message, thread, muted, read_at, last_read_at, person, author) = row[:8]
    inst_name, zone, inst_settings, chosen, attachment_count = row[8:]
    staff = person.kind == PersonKind.STAFF.value
    if thread.kind == ThreadKind.ANNOUNCEMENT.value:
        read = read_at is not None
    else:
        read = last_read_at is not None and last_read_at >= message.created_at
    notice = Notice(
        delivery_id=delivery.id,
        municipality_id=delivery.municipality_id,
        person_id=delivery.person_id,
        thread_id=thread.id,
        message_id=message.id,
        channel=delivery.channel,
        kind=delivery.kind,
        category=delivery.category,
        urgent=delivery.urgent,
        sensitive=thread.sensitive,
        thread_kind=thread.kind,
        locale=person.locale or "da",
        time_zone=zone or settings.default_time_zone,
        recipient_name=f"{person.given_name} {person.family_name}".strip(),
        sender_name=shown_name(
            author.given_name, author.family_name, author.protected, author.alias, staff
        ),
        subject=thread.subject,
        body_text=message.body,
        body_html=message.body_html,
        created_at=message.created_at,
        attachments=int(attachment_count or 0),
        branding=_branding(inst_name, inst_settings),
        thread_url=thread_url(settings, thread.id),
    )
    return Loaded(
        delivery=delivery,
        notice=notice,
        recalled=message.recalled_at is not None,
        expired=thread.expire_at is not None and thread.expire_at <= now,
        muted=bool(muted),
        read=read,
        chosen_mode=chosen,
        institution_defaults=(inst_settings or {}).get("notifications"),
        email=emails.get(delivery.person_id),
        targets=tuple(targets.get(delivery.person_id, ())),
    )


async def _emails(
    session: AsyncSession, municipality_id: uuid.UUID, people: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Each person's email address: a verified or their own one first, then the oldest."""
    rows = await session.execute(
        select(ContactPoint.person_id, ContactPoint.address)
        .where(
            ContactPoint.municipality_id == municipality_id,
            ContactPoint.person_id.in_(people),
            ContactPoint.kind == ContactKind.EMAIL.value,
            ContactPoint.active.is_(True),
            ContactPoint.disabled_at.is_(None),
        )
        .order_by(
            ContactPoint.person_id,
            ContactPoint.verified.desc(),
            ContactPoint.created_at,
            ContactPoint.address,
        )
    )
    found: dict[uuid.UUID, str] = {}
    for person_id, address in rows:
        found.setdefault(person_id, address)
    return found
