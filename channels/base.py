"""The port every delivery channel implements: a batch of envelopes in, typed outcomes out.

A channel never raises for a recipient's problem: it answers. ``Delivered`` — the
service took it; ``Retry(after)`` — a temporary failure (4xx SMTP, 429/5xx push,
timeouts), try again no sooner than ``after`` seconds; ``Rejected(reason, disable)`` —
permanent (5xx bounce, push 404/410, 401/403 after key rotation): do not retry, and when
``disable`` is set the contact point or subscription is switched off at once. Setup
problems (no SMTP host configured, no VAPID keys) are found at startup by
``configured()``, not per delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal, Protocol

import msgspec

ChannelName = Literal["email", "webpush", "inbox"]


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """One rendered notification for one address (ids only reach the channel, no ORM)."""

    delivery_id: uuid.UUID
    address: str  # an email address, or a push subscription endpoint
    subject: str
    text: str  # the plain-text body (email) or the JSON payload (push)
    html: str | None = None
    headers: Mapping[str, str] = msgspec.field(default_factory=dict)
    keys: Mapping[str, str] = msgspec.field(default_factory=dict)  # push: p256dh, auth
    topic: str | None = None  # push Topic / thread key, so newer replace older
    urgency: Literal["very-low", "low", "normal", "high"] = "normal"
    ttl_seconds: int = 86_400


class Delivered(msgspec.Struct, frozen=True, tag="delivered"):
    delivery_id: uuid.UUID
    detail: str = ""


class Retry(msgspec.Struct, frozen=True, tag="retry"):
    delivery_id: uuid.UUID
    after_seconds: float
    reason: str


class Rejected(msgspec.Struct, frozen=True, tag="rejected"):
    delivery_id: uuid.UUID
    reason: str
    disable: bool = False  # switch the address/subscription off


Outcome = Delivered | Retry | Rejected


class Channel(Protocol):
    """A delivery adapter; see the module docstring for what each outcome means."""

    name: ClassVar[ChannelName]

    def configured(self) -> str | None:
        """``None`` when ready, else why the channel is off (reported at startup)."""
        ...

    async def send(self, batch: Sequence[Envelope]) -> Sequence[Outcome]:
        """Send every envelope; one outcome per envelope, in order. Never raises per item."""
        ...

    async def close(self) -> None:
        """Release pooled connections and sessions."""
        ...
