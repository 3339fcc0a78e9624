"""Prometheus metrics: counters the workers keep, and gauges the API reads at scrape time.

Worker side: :data:`REGISTRY` is this process's own registry (not prometheus_client's
global default, so nothing registers into it by import and tests see only ours). Jobs
report through :func:`record_outcomes` and :func:`record_webhooks`;
:func:`start_worker_metrics` serves the registry on ``BUDSTIKKE_WORKER_METRICS_PORT``.

API side: ``GET /metrics`` reads the state of the database and the queue in a few
grouped queries (:func:`read_state`), then renders it with :func:`render_state`. A
Prometheus collector is synchronous and our database is async, so the reads happen
first in the async handler and the gauges are built per scrape, in a fresh registry,
from what was read.

Labels carry channels, states and outcomes only: never a municipality, a person or an
address, so cardinality stays fixed and no scrape reveals who is messaged.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.delivery.models import Delivery
from gateway.errors import Unauthorized
from gateway.messaging.models import OutboxItem
from gateway.webhooks.models import WebhookEndpoint, WebhookEvent

if TYPE_CHECKING:
    import threading
    from wsgiref.simple_server import WSGIServer

log = structlog.get_logger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "budstikke_deliveries_total",
    "Delivery attempts by channel and outcome (sent, delivered, retry, rejected, …).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
SEND_SECONDS = Histogram(
    "budstikke_send_seconds",
    "Time from a delivery being due to the channel's answer, in seconds.",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
    registry=REGISTRY,
)
WEBHOOKS = Counter(
    "budstikke_webhooks_total",
    "Webhook events after an attempt: delivered, retry, or failed (given up, aged out, "
    "or dropped when their endpoint was disabled).",
    ["outcome"],
    registry=REGISTRY,
)

# The classic text format: what every Prometheus version and most scrapers read.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def record_outcomes(channel: str, outcomes: Sequence[str], seconds: Sequence[float]) -> None:
    """Count one chunk's outcomes and observe how long each took from due to answer.

    ``seconds`` may be shorter than ``outcomes`` (a delivery that never reached the
    channel has no answer time).
    """
    for outcome, count in Tally(outcomes).items():
        DELIVERIES.labels(channel=channel, outcome=outcome).inc(count)
    histogram = SEND_SECONDS.labels(channel=channel)
    for value in seconds:
        histogram.observe(max(value, 0.0))


def record_webhooks(outcome: str, count: int = 1) -> None:
    """Count webhook events that reached ``outcome`` (delivered, retry, failed)."""
    if count:
        WEBHOOKS.labels(outcome=outcome).inc(count)


def start_worker_metrics(settings: Settings) -> tuple[WSGIServer, threading.Thread] | None:
    """Serve the worker's registry on ``BUDSTIKKE_HOST``:``WORKER_METRICS_PORT``; None if 0.

    Call once at worker startup; ``server.shutdown()`` stops it. It has no token: keep
    the port on the internal network the scraper uses.
    """
    from prometheus_client import start_http_server  # noqa: PLC0415 - only the worker

    if settings.worker_metrics_port <= 0:
        return None
    served = start_http_server(settings.worker_metrics_port, settings.host, registry=REGISTRY)
    log.info("worker metrics", port=settings.worker_metrics_port)
    return served


def check_token(settings: Settings, authorization: str | None) -> None:
    """Unauthorized unless ``BUDSTIKKE_METRICS_TOKEN`` is unset or sent as a bearer token."""
    expected = settings.metrics_token
    if not expected:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise Unauthorized("/metrics needs Authorization: Bearer <BUDSTIKKE_METRICS_TOKEN>")


@dataclass(frozen=True, slots=True)
class State:
    """What one scrape read: counts by label, the outbox's age, the queue depth."""

    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, state)
    outbox_pending: int = 0
    outbox_oldest_seconds: float = 0.0
    webhook_events_queued: int = 0
    webhook_endpoints: dict[bool, int] = field(default_factory=dict)  # enabled → count
    queue_depth: int | None = None  # None: no Redis, or it did not answer


async def read_state(
    session: AsyncSession, redis: Redis | None, *, queue_name: str, now: dt.datetime
) -> State:
    """Read the gauges' values: one grouped query per table, one ZCARD."""
    deliveries = (
        await session.execute(
            select(Delivery.channel, Delivery.state, func.count()).group_by(
                Delivery.channel, Delivery.state
            )
        )
    ).all()
    pending, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxItem.created_at)).where(
                OutboxItem.done_at.is_(None)
            )
        )
    ).one()
    queued = await session.scalar(
        select(func.count()).select_from(WebhookEvent).where(WebhookEvent.state == "queued")
    )
    endpoints = (
        await session.execute(
            select(WebhookEndpoint.enabled, func.count()).group_by(WebhookEndpoint.enabled)
        )
    ).all()
    return State(
        deliveries={(channel, state): count for channel, state, count in deliveries},
        outbox_pending=int(pending or 0),
        outbox_oldest_seconds=_age(oldest, now),
        webhook_events_queued=int(queued or 0),
        webhook_endpoints={bool(enabled): count for enabled, count in endpoints},
        queue_depth=await _queue_depth(redis, queue_name),
    )


def _age(oldest: dt.datetime | None, now: dt.datetime) -> float:
    if oldest is None:
        return 0.0
    return max((now - oldest).total_seconds(), 0.0)


async def _queue_depth(redis: Redis | None, queue_name: str) -> int | None:
    if redis is None:
        return None
    try:
        return int(await redis.zcard(queue_name))
    except (RedisError, OSError) as exc:
        log.warning("metrics: queue depth unreadable", error=type(exc).__name__)
        return None


class _StateCollector(Collector):
    """Yields the gauges of one :class:`State`; registered in a per-scrape registry."""

    def __init__(self, state: State, queue_name: str) -> None:
        self._state = state
        self._queue_name = queue_name

    def collect(self) -> Iterator[Metric]:
        state = self._state
        deliveries = GaugeMetricFamily(
            "budstikke_deliveries",
            "Deliveries in the database by channel and state.",
            labels=["channel", "state"],
        )
        for (channel, name), count in sorted(state.deliveries.items()):
            deliveries.add_metric([channel, name], count)
        yield deliveries
        yield GaugeMetricFamily(
            "budstikke_outbox_pending",
            "Outbox rows not yet done (messages waiting to be fanned out).",
            value=state.outbox_pending,
        )
        yield GaugeMetricFamily(
            "budstikke_outbox_oldest_seconds",
            "Age of the oldest outbox row not yet done, in seconds (0 when none).",
            value=state.outbox_oldest_seconds,
        )
        yield GaugeMetricFamily(
            "budstikke_webhook_events_queued",
            "Webhook events waiting to be sent or retried.",
            value=state.webhook_events_queued,
        )
        endpoints = GaugeMetricFamily(
            "budstikke_webhook_endpoints",
            "Webhook endpoints, enabled or disabled (after repeated failures).",
            labels=["enabled"],
        )
        for enabled in (True, False):
            endpoints.add_metric([str(enabled).lower()], state.webhook_endpoints.get(enabled, 0))
        yield endpoints
        if state.queue_depth is not None:
            queue = GaugeMetricFamily(
                "budstikke_queue_depth", "Jobs waiting in the arq queue.", labels=["queue"]
            )
            queue.add_metric([self._queue_name], state.queue_depth)
            yield queue


def render_state(state: State, *, queue_name: str) -> bytes:
    """The Prometheus text exposition of one scrape's state."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StateCollector(state, queue_name))
    return generate_latest(registry)
