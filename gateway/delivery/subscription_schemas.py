"""What the push subscription API reads and writes (``/v1/push/…``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

MAX_ENDPOINT = 2048
MAX_USER_AGENT = 1024  # accepted; the first 300 characters are kept


class PushKeys(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The browser's keys (RFC 8291), base64url as ``PushSubscription.toJSON()`` gives them."""

    p256dh: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=128,
            description="The browser's P-256 public key: 65 bytes (uncompressed point)",
        ),
    ]
    auth: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=64, description="The 16-byte authentication secret"),
    ]


class SubscriptionCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A browser's push subscription; the body of ``PushSubscription.toJSON()`` will do."""

    endpoint: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_ENDPOINT,
            description="The push service URL (https; http only on a loopback host)",
        ),
    ]
    keys: PushKeys
    user_agent: Annotated[str, msgspec.Meta(max_length=MAX_USER_AGENT)] | None = None
    # Sent by toJSON(); not stored: the push service's 404/410 is what ends a subscription.
    expiration_time: float | None = msgspec.field(default=None, name="expirationTime")


class SubscriptionCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The stored subscription; ``created`` is false when the endpoint was known already."""

    id: uuid.UUID
    created: bool


class SubscriptionRead(msgspec.Struct, frozen=True, kw_only=True):
    """One of the caller's browsers. Only the endpoint's origin is shown: its path is a secret."""

    id: uuid.UUID
    origin: str
    user_agent: str | None
    created_at: dt.datetime  # registered, or last registered again
    last_used_at: dt.datetime | None  # the last push a push service took
    disabled: bool


class SubscriptionList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[SubscriptionRead]


class VapidPublicKey(msgspec.Struct, frozen=True, kw_only=True):
    """The ``applicationServerKey`` for ``PushManager.subscribe()``."""

    public_key: str
