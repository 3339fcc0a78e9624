"""What one notification is about, as plain values: the input of rendering.

A ``deliver`` job loads its chunk into :class:`Notice` values (one query), then the
renderer turns each into channel envelopes. Everything privacy-relevant is decided
before a Notice exists: ``sender_name`` is already the name this recipient may see
(a protected sender's alias), and for a sensitive thread the renderer must not use
``subject``, ``body_text`` or ``sender_name`` at all.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec


class Branding(msgspec.Struct, frozen=True, kw_only=True):
    """How an institution's mail looks (``institutions.settings["branding"]``)."""

    name: str
    colour: str | None = None  # e.g. "#1b5e20"
    logo_url: str | None = None  # https only


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery's content and context for one recipient."""

    delivery_id: uuid.UUID
    municipality_id: uuid.UUID
    person_id: uuid.UUID
    thread_id: uuid.UUID
    message_id: uuid.UUID
    channel: str  # "email" | "webpush"
    kind: str  # DeliveryKind value
    category: str  # preferences Category value
    urgent: bool
    sensitive: bool
    thread_kind: str  # "message" | "announcement"
    locale: str  # the recipient's, e.g. "da", "en"
    time_zone: str  # the institution's
    recipient_name: str
    sender_name: str
    subject: str
    body_text: str  # the message's Markdown source (already sanitised)
    body_html: str  # its safe HTML
    created_at: dt.datetime
    attachments: int
    branding: Branding
    thread_url: str  # where to read it in the portal / gateway
    # Message-IDs of earlier mails of this thread to this person, oldest first.
    parents: tuple[str, ...] = ()
    # Consent requests (gateway.consents.links): one signed link per child this person
    # is still asked about × option, for email only; empty for sensitive threads.
    answer_links: tuple[AnswerLink, ...] = ()
    answer_by: dt.datetime | None = None  # the consent request's deadline


class AnswerLink(msgspec.Struct, frozen=True, kw_only=True):
    """One answer link in a consent mail: "«Ja» for Ida Holm"."""

    child_id: uuid.UUID
    child_name: str  # as the recipient may see it: a protected child's alias
    option_label: str
    url: str


class PushTarget(msgspec.Struct, frozen=True, kw_only=True):
    """One browser subscription a push delivery goes to."""

    subscription_id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str


class DigestItem(msgspec.Struct, frozen=True, kw_only=True):
    """One unread item listed in a digest mail."""

    thread_id: uuid.UUID
    sensitive: bool
    subject: str
    sender_name: str
    created_at: dt.datetime
    thread_url: str


class Digest(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one person's digest mail lists."""

    key: uuid.UUID  # stable id of this digest (Message-ID)
    municipality_id: uuid.UUID
    person_id: uuid.UUID
    locale: str
    time_zone: str
    recipient_name: str
    branding: Branding
    items: tuple[DigestItem, ...]
    inbox_url: str
