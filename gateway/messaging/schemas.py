"""What clients send to the messaging API: bounded, strict msgspec structs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from gateway.audience.schemas import Audience
from gateway.messaging.models import ReplyPolicy

MAX_SUBJECT = 200
MAX_BODY = 20_000
MAX_ATTACHMENTS = 100  # the configured limit is lower; this bounds parsing

Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SUBJECT)]
# The length limit is checked by the service, so that it answers 413 naming the limit.
Body = Annotated[
    str, msgspec.Meta(min_length=1, description=f"Markdown subset, at most {MAX_BODY} characters")
]
Category = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
AttachmentIds = Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_ATTACHMENTS)]


class MessageCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new thread: its first message and who receives it."""

    subject: Subject
    body: Body
    audience: Audience
    category: Category = "general"
    sensitive: bool = False
    # An emergency (staff only): notifications pass quiet and working hours.
    urgent: bool = False
    reply_policy: ReplyPolicy = ReplyPolicy.ALL
    attachments: AttachmentIds = msgspec.field(default_factory=list)


class ReplyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An answer in a thread."""

    body: Body
    attachments: AttachmentIds = msgspec.field(default_factory=list)


class ParticipantsAdd(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """People to add to a thread; they see all of it."""

    people: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=100)]


class ReadUpTo(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Mark a thread read up to a message (the newest one when omitted)."""

    message_id: uuid.UUID | None = None


class AnnouncementCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A post to an audience's feed."""

    subject: Subject
    body: Body
    audience: Audience
    category: Category = "general"
    urgent: bool = False
    important: bool = False
    important_until: dt.datetime | None = None
    publish_at: dt.datetime | None = None
    expire_at: dt.datetime | None = None
    comments_enabled: bool = False
    attachments: AttachmentIds = msgspec.field(default_factory=list)


class AutoReplyPut(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A staff member's out-of-office answer and when it applies."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]
