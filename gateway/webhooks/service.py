"""Queueing webhook events: the event types, and :func:`emit`, called inside a transaction.

Events are written to ``webhook_events`` in the transaction of the change they report,
so an event exists exactly when its change was committed (the outbox rule: nothing
depends on Redis or on the receiver being up). The ``send_webhooks`` job sends them.

Privacy: an event's ``data`` carries **ids only** (message, thread, person, delivery,
institution) and machine words (channel, reason codes), never a name, an address, a
subject or a body. A receiver that needs more asks the API with its key, where the
usual rules (protected identities, sensitive threads) apply.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Final

import msgspec
from sqlalchemy import ColumnElement, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.webhooks.models import WebhookEndpoint, WebhookEvent

EVENT_TYPES: Final[tuple[str, ...]] = (
    "message.created",  # data: message_id, thread_id, institution_id, recipients
    "message.read",  # data: thread_id, message_id, person_id
    # data: consent_id, thread_id, answer_id, child_id, version, option, channel
    "consent.answered",
    "delivery.failed",  # data: delivery_id, message_id, channel, reason
)

QUEUED = "queued"
DELIVERED = "delivered"
FAILED = "failed"


def payload(event_type: str, data: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The body of an event as Standard Webhooks shapes it: ``type``, ``timestamp``, ``data``.

    ``data`` is turned into JSON values here (UUIDs and datetimes become strings), so the
    stored payload is exactly what is signed and sent.
    """
    stamp = now.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {"type": event_type, "timestamp": stamp, "data": msgspec.to_builtins(dict(data))}


async def emit(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    event_type: str,
    data: Mapping[str, Any],
    *,
    institution_id: uuid.UUID | None = None,
    now: dt.datetime,
) -> int:
    """Queue one event for every enabled endpoint that wants it; return how many.

    An endpoint wants it when it belongs to the municipality, subscribes to the type
    and is municipality-wide or set to ``institution_id``. One select and one
    multi-row insert, in the caller's transaction; the caller commits. ``data`` must
    carry ids only (see the module's docstring).
    """
    if event_type not in EVENT_TYPES:
        # A programming error in the caller, not a client's input.
        raise ValueError(f"unknown webhook event type {event_type!r}")
    scope: ColumnElement[bool] = WebhookEndpoint.institution_id.is_(None)
    if institution_id is not None:
        scope = or_(scope, WebhookEndpoint.institution_id == institution_id)
    # At most MAX_ENDPOINTS rows: reading the subscriptions and filtering here keeps the
    # query the same on both engines (JSON containment is not).
    rows = (
        await session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.events).where(
                WebhookEndpoint.municipality_id == municipality_id,
                WebhookEndpoint.enabled.is_(True),
                scope,
            )
        )
    ).all()
    wanted = [endpoint_id for endpoint_id, events in rows if event_type in events]
    if not wanted:
        return 0
    body = payload(event_type, data, now)
    await session.execute(
        insert(WebhookEvent),
        [
            {
                "municipality_id": municipality_id,
                "endpoint_id": endpoint_id,
                "event_type": event_type,
                "payload": body,
                "state": QUEUED,
                "attempts": 0,
                "not_before": now,
                "created_at": now,
                "updated_at": now,
            }
            for endpoint_id in wanted
        ],
    )
    return len(wanted)
