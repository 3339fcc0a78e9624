"""Managing webhook endpoints for a system's API key: create, list, read, delete, re-enable.

A key sees the endpoints of its municipality; a key scoped to institutions sees and
makes only endpoints set to one of its institutions (404 for the others, as elsewhere).
Each function runs its own transaction.

The signing secret (``whsec_`` + base64 of 32 random bytes, the Standard Webhooks form)
is shown when the endpoint is made and when it is rotated, never in a list. It is
stored as is: the gateway needs it to sign, so hashing it (as API keys are) is no option.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.principals import SystemPrincipal, ensure_in_key_scope, ensure_tenant
from gateway.config import Settings
from gateway.errors import InvalidInput, LimitExceeded, NotFound
from gateway.roster.models import Institution, Municipality
from gateway.webhooks import urls
from gateway.webhooks.models import WebhookEndpoint, WebhookEvent
from gateway.webhooks.schemas import (
    WebhookCreate,
    WebhookCreated,
    WebhookDetail,
    WebhookEventRead,
    WebhookRead,
    WebhookSecret,
)
from gateway.webhooks.service import EVENT_TYPES, QUEUED

MAX_ENDPOINTS = 20
RECENT_EVENTS = 20
SECRET_PREFIX = "whsec_"  # noqa: S105 - the form of a secret, not one
_SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form, ``whsec_<base64>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def event_types(wanted: Sequence[str]) -> list[str]:
    """The requested event types, each once, in order; InvalidInput naming unknown ones."""
    unknown = sorted({name for name in wanted if name not in EVENT_TYPES})
    if unknown:
        known = ", ".join(EVENT_TYPES)
        raise InvalidInput(
            f"unknown event type {', '.join(unknown)} (known: {known})",
            errors=[f"events: {name!r} is not one of {known}" for name in unknown],
        )
    return list(dict.fromkeys(wanted))


async def create_endpoint(
    session: AsyncSession,
    principal: SystemPrincipal,
    data: WebhookCreate,
    *,
    settings: Settings,
    now: dt.datetime,
) -> WebhookCreated:
    """Store a new endpoint after checking its URL, types, scope and the count limit."""
    events = event_types(data.events)
    await urls.check_url(data.url, allow_private=settings.webhook_allow_private)
    secret = new_secret()
    async with session.begin():
        await _check_institution(session, principal, data.institution_id)
        # The municipality's row serialises concurrent creations (PostgreSQL), so two
        # requests cannot both pass the count check below.
        await session.execute(
            select(Municipality.id)
            .where(Municipality.id == principal.municipality_id)
            .with_for_update()
        )
        count = await session.scalar(
            select(func.count())
            .select_from(WebhookEndpoint)
            .where(WebhookEndpoint.municipality_id == principal.municipality_id)
        )
        if (count or 0) >= MAX_ENDPOINTS:
            raise LimitExceeded(
                f"the municipality has {count} webhook endpoints, the most allowed; "
                "delete one first",
                limit=f"webhook endpoints per municipality ({MAX_ENDPOINTS})",
            )
        endpoint = WebhookEndpoint(
            municipality_id=principal.municipality_id,
            institution_id=data.institution_id,
            url=data.url,
            secret=secret,
            events=events,
            description=data.description,
            enabled=True,
            failures=0,
            created_by=principal.source,
            created_at=now,
            updated_at=now,
        )
        session.add(endpoint)
        await session.flush()
    return WebhookCreated(**_fields(endpoint), secret=secret)


async def _check_institution(
    session: AsyncSession, principal: SystemPrincipal, institution_id: uuid.UUID | None
) -> None:
    if institution_id is None:
        if not principal.municipality_wide:
            raise InvalidInput(
                "institution_id: this key is scoped to institutions; name the one the "
                "endpoint is for"
            )
        return
    ensure_in_key_scope(principal, [institution_id], "institution")
    found = await session.scalar(
        select(Institution.id).where(
            Institution.id == institution_id,
            Institution.municipality_id == principal.municipality_id,
        )
    )
    if found is None:
        raise NotFound(f"no institution {institution_id}")


async def list_endpoints(session: AsyncSession, principal: SystemPrincipal) -> list[WebhookRead]:
    """The endpoints this key may see, oldest first."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.municipality_id == principal.municipality_id
    )
    if not principal.municipality_wide:
        query = query.where(WebhookEndpoint.institution_id.in_(principal.institution_ids))
    rows = (await session.scalars(query.order_by(WebhookEndpoint.created_at))).all()
    return [WebhookRead(**_fields(row)) for row in rows]


async def get_endpoint(
    session: AsyncSession, principal: SystemPrincipal, endpoint_id: uuid.UUID
) -> WebhookDetail:
    """One endpoint with its queued count and its most recent events."""
    endpoint = await _load(session, principal, endpoint_id)
    queued = await session.scalar(
        select(func.count())
        .select_from(WebhookEvent)
        .where(
            WebhookEvent.municipality_id == endpoint.municipality_id,
            WebhookEvent.endpoint_id == endpoint.id,
            WebhookEvent.state == QUEUED,
        )
    )
    events = (
        await session.scalars(
            select(WebhookEvent)
            .where(
                WebhookEvent.municipality_id == endpoint.municipality_id,
                WebhookEvent.endpoint_id == endpoint.id,
            )
            .order_by(WebhookEvent.created_at.desc(), WebhookEvent.id.desc())
            .limit(RECENT_EVENTS)
        )
    ).all()
    recent = [
        WebhookEventRead(
            id=event.id,
            type=event.event_type,
            state=event.state,
            attempts=event.attempts,
            last_status=event.last_status,
            created_at=event.created_at,
            next_attempt_at=event.not_before if event.state == QUEUED else None,
        )
        for event in events
    ]
    return WebhookDetail(**_fields(endpoint), queued=queued or 0, recent_events=recent)


async def delete_endpoint(
    session: AsyncSession, principal: SystemPrincipal, endpoint_id: uuid.UUID
) -> None:
    """Remove an endpoint and its events, sent or not."""
    async with session.begin():
        endpoint = await _load(session, principal, endpoint_id)
        await session.execute(
            delete(WebhookEvent).where(
                WebhookEvent.municipality_id == endpoint.municipality_id,
                WebhookEvent.endpoint_id == endpoint.id,
            )
        )
        await session.delete(endpoint)


async def enable_endpoint(
    session: AsyncSession,
    principal: SystemPrincipal,
    endpoint_id: uuid.UUID,
    *,
    settings: Settings,
    now: dt.datetime,
) -> WebhookRead:
    """Turn a disabled endpoint on again, with its failure count reset.

    The URL is checked again first: where it points may have changed since it was made.
    Events that failed while it was off stay failed; new events are queued from now on.
    """
    async with session.begin():
        endpoint = await _load(session, principal, endpoint_id)
        await urls.check_url(endpoint.url, allow_private=settings.webhook_allow_private)
        endpoint.enabled = True
        endpoint.failures = 0
        endpoint.disabled_reason = None
        endpoint.updated_at = now
    return WebhookRead(**_fields(endpoint))


async def rotate_secret(
    session: AsyncSession, principal: SystemPrincipal, endpoint_id: uuid.UUID, *, now: dt.datetime
) -> WebhookSecret:
    """Give an endpoint a new secret; every later attempt, retries too, is signed with it."""
    secret = new_secret()
    async with session.begin():
        endpoint = await _load(session, principal, endpoint_id)
        endpoint.secret = secret
        endpoint.updated_at = now
    return WebhookSecret(id=endpoint.id, secret=secret)


async def _load(
    session: AsyncSession, principal: SystemPrincipal, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    """The endpoint, or NotFound when it is not there or not this key's to see."""
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    ensure_tenant(principal, endpoint.municipality_id, "webhook endpoint")
    if not principal.municipality_wide and endpoint.institution_id is None:
        raise NotFound("no such webhook endpoint")
    if endpoint.institution_id is not None:
        ensure_in_key_scope(principal, [endpoint.institution_id], "webhook endpoint")
    return endpoint


def _fields(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "institution_id": endpoint.institution_id,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "failures": endpoint.failures,
        "disabled_reason": endpoint.disabled_reason,
        "created_by": endpoint.created_by,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }
