"""Deliveries (one notification to one person over one channel), push subscriptions, inbound mail.

A delivery is planned by ``fan_out`` and sent by a ``deliver`` job. Its key is
(message, person, channel, kind): a redelivered job inserts nothing twice. A ``deliver``
job claims a row by setting ``claimed_until`` (a lease); a worker that dies mid-chunk
leaves the lease to run out, and the dispatcher hands the row to another job.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import conv

from gateway.orm import Base, UTCDateTime, new_id, utcnow


class DeliveryChannel(enum.StrEnum):
    EMAIL = "email"
    WEBPUSH = "webpush"


class DeliveryKind(enum.StrEnum):
    """Why the delivery exists: the first notice, a later escalation, a digest line."""

    INSTANT = "instant"
    ESCALATION = "escalation"
    DIGEST = "digest"
    REMINDER = "reminder"


class DeliveryState(enum.StrEnum):
    QUEUED = "queued"  # due at ``not_before``; a deliver job will take it
    DEFERRED = "deferred"  # waiting: quiet/working hours, digest, escalation delay
    SENT = "sent"  # the SMTP relay took it (250)
    DELIVERED = "delivered"  # the push service took it (201)
    BOUNCED = "bounced"  # a DSN came back, or the relay refused the mailbox
    REJECTED = "rejected"  # refused for good (push 404/410, 5xx mail) — not retried
    FAILED = "failed"  # kept failing until the give-up time
    SUPERSEDED = "superseded"  # not sent: read, recalled, already covered
    SKIPPED = "skipped"  # not sent: preference off, no address, channel not configured
    READ = "read"  # sent, then read in the inbox


OPEN_STATES = (DeliveryState.QUEUED.value, DeliveryState.DEFERRED.value)
SENT_STATES = (DeliveryState.SENT.value, DeliveryState.DELIVERED.value)


def _in(column: str, values: type[enum.StrEnum]) -> str:
    listed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({listed})"


class Delivery(Base):
    """One planned notification: message × person × channel × kind."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # Named by hand: the generated name would pass PostgreSQL's 63-character limit.
        UniqueConstraint(
            "municipality_id",
            "message_id",
            "person_id",
            "channel",
            "kind",
            "round",
            name=conv("uq_deliveries_key"),
        ),
        # The dispatcher's scan: due rows by state and time.
        Index(None, "state", "not_before"),
        # Reading a thread settles that person's deliveries of it.
        Index(None, "municipality_id", "thread_id", "person_id"),
        Index(None, "municipality_id", "person_id", "state"),
        CheckConstraint(_in("channel", DeliveryChannel), name="channel"),
        CheckConstraint(_in("kind", DeliveryKind), name="kind"),
        CheckConstraint(_in("state", DeliveryState), name="state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id"))
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    # Which reminder of the item (0 for everything else): each is its own delivery.
    round: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    category: Mapped[str] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The deliver job (its arq job id) that holds the row until ``claimed_until``.
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The address used (email) or how many browsers took it (push), for the report.
    address: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PushSubscription(Base):
    """A browser that asked for web push (RFC 8030 endpoint and RFC 8291 keys)."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        UniqueConstraint("municipality_id", "endpoint"),
        Index(None, "municipality_id", "person_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    endpoint: Mapped[str] = mapped_column(String(2048))
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(200))


class InboundMail(Base):
    """A mail the inbound listener acted on, by Message-ID digest, so a resend is not doubled."""

    __tablename__ = "inbound_mails"
    __table_args__ = (UniqueConstraint("digest"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("municipalities.id"))
    digest: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # reply | bounce
    outcome: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
