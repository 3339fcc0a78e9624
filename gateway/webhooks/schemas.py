"""What the webhooks API reads and answers: bounded, strict msgspec structs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from gateway.webhooks.urls import MAX_URL_LENGTH

MAX_DESCRIPTION = 200
# Room for every known type and some repetition; the service names unknown ones.
MAX_EVENT_TYPES = 16

EventType = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class WebhookCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new endpoint: where to send and which event types."""

    url: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_URL_LENGTH,
            description="https URL of the receiver; it must resolve to public addresses",
        ),
    ]
    events: Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=MAX_EVENT_TYPES)]
    institution_id: uuid.UUID | None = None
    description: Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION)] | None = None


class WebhookRead(msgspec.Struct, kw_only=True):
    """An endpoint as lists show it: everything but the secret."""

    id: uuid.UUID
    url: str
    events: list[str]
    institution_id: uuid.UUID | None
    description: str | None
    enabled: bool
    failures: int
    disabled_reason: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookCreated(WebhookRead, kw_only=True):
    """A new endpoint with its signing secret: the only time the secret is shown."""

    secret: str


class WebhookSecret(msgspec.Struct, kw_only=True):
    """A rotated secret, shown once; the next attempt of every event is signed with it."""

    id: uuid.UUID
    secret: str


class WebhookEventRead(msgspec.Struct, kw_only=True):
    """One queued or finished event of an endpoint, without its payload."""

    id: uuid.UUID
    type: str
    state: str
    attempts: int
    last_status: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None


class WebhookDetail(WebhookRead, kw_only=True):
    """An endpoint with how its recent events went."""

    queued: int
    recent_events: list[WebhookEventRead]


class WebhookList(msgspec.Struct, kw_only=True):
    items: list[WebhookRead]
