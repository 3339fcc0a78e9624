"""Sending queued webhook events: claim, sign, POST, record; back off, give up, disable.

One run of :func:`send_due`:

1. events queued for more than :data:`MAX_AGE` are marked ``failed``;
2. due events are *claimed* in one statement: ``UPDATE … SET not_before = now + lease
   WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) AND state = 'queued' AND not_before <=
   now RETURNING …``. Pushing ``not_before`` past the run is the lease: another worker's
   claim no longer sees the rows, and a worker that dies lets go when the lease ends.
   PostgreSQL skips rows another claim holds (and re-checks the conditions on rows it
   waited for); SQLite has one writer at a time, and ignores ``FOR UPDATE``;
3. each event is POSTed with the Standard Webhooks headers, at most
   :data:`PER_ENDPOINT` at a time per endpoint, without following redirects;
4. the answers are written back in one transaction: 2xx is ``delivered`` and resets the
   endpoint's failure count; anything else is retried after :func:`backoff`, with the
   answer in ``last_status``. After ``BUDSTIKKE_WEBHOOK_MAX_FAILURES`` failures in a row
   the endpoint is disabled with a reason, and its queued events are marked ``failed``.

``now`` decides what is due and when to retry. The signature's timestamp is the moment
of the request itself: receivers compare it with their own clock (the libraries allow
five minutes), and a long run must not sign with a stale time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

import gateway
from gateway import metrics
from gateway.config import Settings
from gateway.db import bulk_update
from gateway.orm import utcnow
from gateway.webhooks.models import WebhookEndpoint, WebhookEvent
from gateway.webhooks.service import DELIVERED, FAILED, QUEUED
from gateway.webhooks.urls import AddressRefused, CheckedResolver, check_send_url

log = structlog.get_logger(__name__)

PER_ENDPOINT = 4
MAX_AGE = dt.timedelta(days=3)
# Seconds to wait after the 1st, 2nd, … failed attempt; the last repeats.
BACKOFF_SECONDS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600)
JITTER = 0.1  # ±10 %, so endpoints that failed together do not retry together
_LEASE_MARGIN_SECONDS = 30
_STATUS_LENGTH = 200


def open_http(settings: Settings) -> aiohttp.ClientSession:
    """The HTTP client webhooks must be sent with: checked DNS, no cookies, no proxies.

    The connector's :class:`CheckedResolver` is what makes the send-time address check
    hold: the addresses checked are the ones connected to. Cookies are dropped, or one
    receiver's cookie would travel to the next. Call it inside the event loop.
    """
    connector = aiohttp.TCPConnector(
        resolver=CheckedResolver(allow_private=settings.webhook_allow_private), limit=100
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds),
        headers={"User-Agent": f"Budstikke/{gateway.__version__} (webhooks)"},
    )


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after ``attempts`` failed attempts: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h…"""
    base = BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1]
    spread = random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter, not a secret
    return dt.timedelta(seconds=base * spread)


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    payload: dict[str, Any]
    attempts: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class _Target:
    url: str
    secret: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class _Result:
    event: _Claimed
    ok: bool
    status: str
    counts: bool = True  # False: not an attempt at the endpoint (it was off)


async def send_due(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    http: aiohttp.ClientSession,
    now: dt.datetime,
    limit: int = 200,
) -> int:
    """Send up to ``limit`` due events; return how many the receivers took (2xx).

    ``http`` must come from :func:`open_http` (its resolver enforces the URL policy).
    """
    await _expire(sessions, now)
    lease = dt.timedelta(
        seconds=settings.webhook_timeout_seconds * math.ceil(limit / PER_ENDPOINT)
        + _LEASE_MARGIN_SECONDS
    )
    claimed = await _claim(sessions, now, limit, lease)
    if not claimed:
        return 0
    targets = await _targets(sessions, {event.endpoint_id for event in claimed})
    results = await _send_all(http, settings, claimed, targets)
    await _record(sessions, settings, results, now)
    delivered = sum(result.ok for result in results)
    log.info("webhooks sent", attempted=len(results), delivered=delivered)
    return delivered


async def _expire(sessions: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.state == QUEUED, WebhookEvent.created_at < now - MAX_AGE)
            .values(
                state=FAILED,
                updated_at=now,
                last_status=func.coalesce(WebhookEvent.last_status, "not sent within 3 days"),
            )
            .execution_options(synchronize_session=False)
        )
    expired = int(getattr(result, "rowcount", 0) or 0)
    if expired:
        metrics.record_webhooks("failed", expired)


async def _claim(
    sessions: async_sessionmaker[AsyncSession],
    now: dt.datetime,
    limit: int,
    lease: dt.timedelta,
) -> list[_Claimed]:
    due = (
        select(WebhookEvent.id)
        .where(WebhookEvent.state == QUEUED, WebhookEvent.not_before <= now)
        .order_by(WebhookEvent.not_before)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(WebhookEvent)
        .where(
            WebhookEvent.id.in_(due),
            WebhookEvent.state == QUEUED,
            WebhookEvent.not_before <= now,
        )
        .values(not_before=now + lease, attempts=WebhookEvent.attempts + 1, updated_at=now)
        .returning(
            WebhookEvent.id,
            WebhookEvent.endpoint_id,
            WebhookEvent.payload,
            WebhookEvent.attempts,
            WebhookEvent.created_at,
        )
        .execution_options(synchronize_session=False)
    )
    async with sessions() as session, session.begin():
        rows = (await session.execute(claim)).all()
    return [_Claimed(*row) for row in rows]


async def _targets(
    sessions: async_sessionmaker[AsyncSession], endpoint_ids: set[uuid.UUID]
) -> dict[uuid.UUID, _Target]:
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    WebhookEndpoint.id,
                    WebhookEndpoint.url,
                    WebhookEndpoint.secret,
                    WebhookEndpoint.enabled,
                ).where(WebhookEndpoint.id.in_(endpoint_ids))
            )
        ).all()
    return {row.id: _Target(row.url, row.secret, row.enabled) for row in rows}


async def _send_all(
    http: aiohttp.ClientSession,
    settings: Settings,
    claimed: Sequence[_Claimed],
    targets: dict[uuid.UUID, _Target],
) -> list[_Result]:
    """Every claimed event's answer, in the order the answers came."""
    gates = {endpoint_id: asyncio.Semaphore(PER_ENDPOINT) for endpoint_id in targets}
    answers: list[_Result] = []

    async def one(event: _Claimed) -> None:
        target = targets.get(event.endpoint_id)
        if target is None or not target.enabled:
            answers.append(_Result(event, ok=False, status="endpoint disabled", counts=False))
            return
        async with gates[event.endpoint_id]:
            answers.append(await _post(http, settings, target, event))

    await asyncio.gather(*(one(event) for event in claimed))
    return answers


async def _post(
    http: aiohttp.ClientSession, settings: Settings, target: _Target, event: _Claimed
) -> _Result:
    """POST one event, signed; the outcome as a short status that names no secret."""
    body = msgspec.json.encode(event.payload)
    sent_at = utcnow()
    message_id = str(event.id)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(sent_at.timestamp())),
        "webhook-signature": Webhook(target.secret).sign(message_id, sent_at, body.decode()),
        "content-type": "application/json",
    }
    try:
        check_send_url(target.url, allow_private=settings.webhook_allow_private)
        async with http.post(
            target.url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds),
        ) as response:
            status = response.status
    except AddressRefused as exc:
        return _Result(event, ok=False, status=_short(f"refused: {exc}"))
    except TimeoutError:
        return _Result(
            event, ok=False, status=f"timeout after {settings.webhook_timeout_seconds} s"
        )
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, AddressRefused):
            return _Result(event, ok=False, status=_short(f"refused: {exc.os_error}"))
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return _Result(event, ok=False, status=_short(f"cannot connect: {reason}"))
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return _Result(event, ok=False, status=_short(f"{type(exc).__name__}: {exc}"))
    if 200 <= status < 300:
        return _Result(event, ok=True, status=f"HTTP {status}")
    if 300 <= status < 400:
        return _Result(event, ok=False, status=f"HTTP {status} (redirects are not followed)")
    return _Result(event, ok=False, status=f"HTTP {status}")


async def _record(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    results: Sequence[_Result],
    now: dt.datetime,
) -> None:
    """Write every answer back, count the endpoints' failures, disable the dead ones."""
    rows: list[dict[str, Any]] = []
    outcomes: dict[str, int] = {}
    by_endpoint: dict[uuid.UUID, list[_Result]] = {}
    for result in results:
        row = _next_state(result, now)
        rows.append(row)
        outcome = "retry" if row["state"] == QUEUED else str(row["state"])
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if result.counts:
            by_endpoint.setdefault(result.event.endpoint_id, []).append(result)
    async with sessions() as session, session.begin():
        await bulk_update(session, WebhookEvent.__table__, rows)  # type: ignore[arg-type]
        for endpoint_id, answers in by_endpoint.items():
            failures = await _count_failures(session, endpoint_id, answers)
            if failures >= settings.webhook_max_failures:
                await _disable(session, endpoint_id, failures, answers[-1].status, now)
    for outcome, count in outcomes.items():
        metrics.record_webhooks(outcome, count)


def _next_state(result: _Result, now: dt.datetime) -> dict[str, Any]:
    event = result.event
    row: dict[str, Any] = {"id": event.id, "last_status": result.status, "updated_at": now}
    if result.ok:
        return {**row, "state": DELIVERED, "not_before": now}
    if not result.counts:
        return {**row, "state": FAILED, "not_before": now}
    retry_at = now + backoff(event.attempts)
    if retry_at > event.created_at + MAX_AGE:
        status = _short(f"{result.status}; gave up after 3 days")
        return {**row, "state": FAILED, "not_before": now, "last_status": status}
    return {**row, "state": QUEUED, "not_before": retry_at}


async def _count_failures(
    session: AsyncSession, endpoint_id: uuid.UUID, answers: Sequence[_Result]
) -> int:
    """The endpoint's failures in a row after these answers (in the order they came)."""
    successes = [index for index, answer in enumerate(answers) if answer.ok]
    if successes:
        value: Any = len(answers) - 1 - successes[-1]
    else:
        # Relative to the stored count: another worker may be counting too.
        value = WebhookEndpoint.failures + len(answers)
    failures = await session.scalar(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(failures=value)
        .returning(WebhookEndpoint.failures)
        .execution_options(synchronize_session=False)
    )
    return int(failures or 0)


async def _disable(
    session: AsyncSession, endpoint_id: uuid.UUID, failures: int, last: str, now: dt.datetime
) -> None:
    reason = _short(f"{failures} failed deliveries in a row; last: {last}")
    disabled = await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(disabled, "rowcount", 0):
        return
    dropped = await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.endpoint_id == endpoint_id, WebhookEvent.state == QUEUED)
        .values(
            state=FAILED,
            updated_at=now,
            last_status=func.coalesce(WebhookEvent.last_status, "endpoint disabled"),
        )
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(dropped, "rowcount", 0) or 0)
    log.warning("webhook endpoint disabled", endpoint=str(endpoint_id), failures=failures)
    metrics.record_webhooks("failed", count)


def _short(text: str) -> str:
    return text if len(text) <= _STATUS_LENGTH else text[: _STATUS_LENGTH - 1] + "…"
