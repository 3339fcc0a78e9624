"""What the messaging API answers: structs built from rows, never the rows themselves."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec


class Accepted(msgspec.Struct, kw_only=True):
    """A stored thread or message."""

    thread_id: uuid.UUID
    message_id: uuid.UUID
    recipients: int


class ParticipantsAdded(msgspec.Struct, kw_only=True):
    added: int


class PersonRef(msgspec.Struct, kw_only=True):
    """A person as another may see them: the alias for a protected person, no contacts."""

    id: uuid.UUID
    name: str
    kind: str


class ThreadSummary(msgspec.Struct, kw_only=True):
    """A line in the inbox. Sensitive threads carry no subject and no sender."""

    id: uuid.UUID
    kind: str
    subject: str | None
    sensitive: bool
    sender: PersonRef | None
    institution_id: uuid.UUID | None
    category: str
    urgent: bool  # sent by staff as urgent: passes quiet hours and digests
    regarding: list[uuid.UUID]
    last_message_at: dt.datetime
    unread_count: int
    archived: bool
    muted: bool
    marked: bool


class ThreadPage(msgspec.Struct, kw_only=True):
    items: list[ThreadSummary]
    next_cursor: str | None


class AttachmentRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    file_name: str
    content_type: str
    size: int


class MessageRead(msgspec.Struct, kw_only=True):
    """A message; a recalled one keeps its place but shows no body."""

    id: uuid.UUID
    author: PersonRef
    created_at: dt.datetime
    body: str | None
    body_html: str | None
    recalled: bool
    auto_reply: bool
    private: bool
    attachments: list[AttachmentRead]


class ThreadDetail(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: str
    subject: str
    sensitive: bool
    category: str
    urgent: bool
    reply_policy: str
    hidden_recipients: bool
    institution_id: uuid.UUID | None
    created_by: PersonRef
    created_at: dt.datetime
    can_reply: bool
    participants: list[PersonRef]
    messages: list[MessageRead]
    unread_count: int
    archived: bool
    muted: bool
    marked: bool


class CountBy(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    unread: int


class UnreadCounts(msgspec.Struct, kw_only=True):
    total: int
    institutions: list[CountBy]
    children: list[CountBy]


class ReadState(msgspec.Struct, kw_only=True):
    thread_id: uuid.UUID
    unread_count: int
    read_at: dt.datetime | None


class Flags(msgspec.Struct, kw_only=True):
    thread_id: uuid.UUID
    archived: bool
    muted: bool
    marked: bool


class Receipt(msgspec.Struct, kw_only=True):
    person: PersonRef
    read: bool
    read_at: dt.datetime | None


class Receipts(msgspec.Struct, kw_only=True):
    thread_id: uuid.UUID
    total: int
    read: int
    unread: int
    recipients: list[Receipt]


class AnnouncementItem(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    subject: str
    body_html: str
    category: str
    institution_id: uuid.UUID | None
    sender: PersonRef
    important: bool
    published_at: dt.datetime
    expire_at: dt.datetime | None
    comments_enabled: bool
    read: bool
    attachments: list[AttachmentRead]
    # Set when the post is a consent request: answer it at /v1/consents/{consent_id}.
    consent_id: uuid.UUID | None = None


class AnnouncementFeed(msgspec.Struct, kw_only=True):
    items: list[AnnouncementItem]


class AnnouncementStats(msgspec.Struct, kw_only=True):
    """Read by households: a child counts as read once any of its recipients has read."""

    announcement_id: uuid.UUID
    recipients: int
    recipients_read: int
    households: int
    households_read: int
    households_not_read: int


class AutoReplyRead(msgspec.Struct, kw_only=True):
    starts_at: dt.datetime
    ends_at: dt.datetime
    body: str
