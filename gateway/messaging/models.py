"""Threads, messages, inbox entries, attachments, idempotency keys, auto-replies, outbox.

A thread is either a conversation (``message``) or an ``announcement`` (a feed post).
Each person who can see a thread has one :class:`Participant` row: it is their inbox
entry and their read receipt at once. Every table leads its keys with
``municipality_id`` so that tenants can be distributed later (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from gateway.orm import Base, JSONType, UTCDateTime, new_id, utcnow


class ThreadKind(enum.StrEnum):
    MESSAGE = "message"
    ANNOUNCEMENT = "announcement"


class ReplyPolicy(enum.StrEnum):
    """Who may answer in a thread."""

    ALL = "all"  # every participant, seen by every participant
    SENDER = "sender"  # recipients answer the sender only (seen by the sender and themself)
    NONE = "none"  # only the sender writes


class ParticipantRole(enum.StrEnum):
    SENDER = "sender"
    RECIPIENT = "recipient"
    ADDED = "added"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    listed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({listed})"


class Thread(Base):
    """A conversation or an announcement, with the rules that hold for all its messages."""

    __tablename__ = "threads"
    __table_args__ = (
        Index(None, "municipality_id", "created_by", "created_at"),
        CheckConstraint(_in("kind", ThreadKind), name="kind"),
        CheckConstraint(_in("reply_policy", ReplyPolicy), name="reply_policy"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    kind: Mapped[str] = mapped_column(String(16))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"))
    category: Mapped[str] = mapped_column(String(32), default="general")
    subject: Mapped[str] = mapped_column(String(200))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    # An emergency: notifications pass quiet and working hours and cannot be turned off.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reply_policy: Mapped[str] = mapped_column(String(16), default=ReplyPolicy.ALL.value)
    hidden_recipients: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_message_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Announcements only.
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    important_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    publish_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expire_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    comments_enabled: Mapped[bool] = mapped_column(Boolean, default=False)


class Message(Base):
    """One post in a thread. ``private_to`` narrows who sees it (see ``visible_to``)."""

    __tablename__ = "messages"
    __table_args__ = (Index(None, "municipality_id", "thread_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    body: Mapped[str] = mapped_column(Text)  # the sanitised Markdown source
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recalled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    auto_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set on a recipient's answer in a hidden-recipient or reply-to-sender thread: then only
    # the thread's creator, this person and the author see the message.
    private_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))


class Participant(Base):
    """A person's inbox entry for a thread: their role, read state and folders."""

    __tablename__ = "thread_participants"
    __table_args__ = (
        UniqueConstraint("municipality_id", "thread_id", "person_id"),
        # The inbox list and the unread counts read only this index for one person.
        Index(None, "municipality_id", "person_id", "kind", "unread_count"),
        CheckConstraint(_in("role", ParticipantRole), name="role"),
        CheckConstraint(_in("kind", ThreadKind), name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    # Copied from the thread (they never change) so the unread query needs no join.
    kind: Mapped[str] = mapped_column(String(16))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"))
    role: Mapped[str] = mapped_column(String(16))
    regarding: Mapped[list[str]] = mapped_column(JSONType, default=list)
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    last_read_message_id: Mapped[uuid.UUID | None] = mapped_column()
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    marked: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attachment(Base):
    """A stored file; ``message_id`` is set when a message that names it is sent."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index(None, "municipality_id", "message_id"),
        Index(None, "municipality_id", "uploaded_by", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("messages.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdempotencyKey(Base):
    """The first answer to a request sent with an ``Idempotency-Key``, kept for a day."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("municipality_id", "principal", "key"),
        Index(None, "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    principal: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AutoReply(Base):
    """A staff member's out-of-office answer, active from ``starts_at`` to ``ends_at``."""

    __tablename__ = "auto_replies"
    __table_args__ = (UniqueConstraint("municipality_id", "person_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxItem(Base):
    """Work the delivery worker must do, written in the transaction that made it necessary."""

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "done_at", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    item_kind: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
