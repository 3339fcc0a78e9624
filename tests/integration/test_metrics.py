"""``GET /metrics`` on both engines, and the worker's counters over their own HTTP server."""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import metrics
from gateway.api.app import create_app
from gateway.db import session_factory
from gateway.delivery.models import Delivery
from gateway.messaging.models import OutboxItem, Participant
from gateway.orm import utcnow
from gateway.webhooks.models import WebhookEndpoint
from gateway.webhooks.service import emit
from tests.integration.messaging_world import World, make_world

TOKEN = "metrics-token-for-the-tests-0123456789"


@pytest.fixture
async def world(
    tmp_path: Path, database_url: str, redis_url: str, make_settings: Any, engine: AsyncEngine
) -> AsyncIterator[World]:
    # A queue of its own, so other tests' jobs in the shared Redis do not count.
    env = {"metrics_token": TOKEN, "queue_name": f"arq:test-metrics:{uuid.uuid4().hex}"}
    async for built in make_world(tmp_path, database_url, redis_url, make_settings, engine, **env):
        yield built


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(w: World) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = await w.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(answer.text)


async def add_deliveries(w: World, thread_id: str, message_id: str) -> None:
    """Three email queued, two email sent, one web push delivered."""
    async with session_factory(w.engine)() as session, session.begin():
        participants = (
            await session.scalars(
                select(Participant)
                .where(Participant.thread_id == uuid.UUID(thread_id))
                .where(Participant.role == "recipient")
                .limit(5)
            )
        ).all()
        assert len(participants) == 5
        plan = [("email", "queued")] * 3 + [("email", "sent")] * 2
        now = utcnow()
        rows = [
            Delivery(
                municipality_id=p.municipality_id,
                message_id=uuid.UUID(message_id),
                thread_id=p.thread_id,
                person_id=p.person_id,
                channel=channel,
                kind="instant",
                category="general",
                state=state,
                not_before=now,
            )
            for p, (channel, state) in zip(participants, plan, strict=True)
        ]
        first = participants[0]
        rows.append(
            Delivery(
                municipality_id=first.municipality_id,
                message_id=uuid.UUID(message_id),
                thread_id=first.thread_id,
                person_id=first.person_id,
                channel="webpush",
                kind="instant",
                category="general",
                state="delivered",
                not_before=now,
            )
        )
        session.add_all(rows)


async def test_the_gauges_count_what_is_in_the_database(world: World) -> None:
    w = world
    before = await scrape(w)
    assert before[("budstikke_outbox_pending", ())] == 0
    assert before[("budstikke_outbox_oldest_seconds", ())] == 0
    assert before[("budstikke_webhook_events_queued", ())] == 0
    assert not [key for key in before if key[0] == "budstikke_deliveries"]

    sent = await w.send_to_class()
    await add_deliveries(w, sent["thread_id"], sent["message_id"])
    async with session_factory(w.engine)() as session, session.begin():
        # The message's outbox row waits (no worker runs here); make it two minutes old.
        await session.execute(
            update(OutboxItem).values(created_at=utcnow() - dt.timedelta(seconds=120))
        )
        municipality_id = (await session.scalars(select(OutboxItem.municipality_id))).one()
        for enabled in (True, False):
            session.add(
                WebhookEndpoint(
                    municipality_id=municipality_id,
                    url="https://1.1.1.1/hook",
                    secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    events=["message.created"],
                    enabled=enabled,
                    created_by="test",
                )
            )
        await session.flush()
        for _ in range(2):
            await emit(session, municipality_id, "message.created", {}, now=utcnow())
    redis = Redis.from_url(w.settings.redis_url or "")
    try:
        await redis.zadd(w.settings.queue_name, {"job-a": 1, "job-b": 2})
        depth = await redis.zcard(w.settings.queue_name)
        found = await scrape(w)
        assert found[("budstikke_queue_depth", (("queue", w.settings.queue_name),))] == depth
        assert depth >= 2
    finally:
        await redis.delete(w.settings.queue_name)
        await redis.aclose()

    def delivered(channel: str, state: str) -> float:
        return found[("budstikke_deliveries", (("channel", channel), ("state", state)))]

    assert delivered("email", "queued") == 3
    assert delivered("email", "sent") == 2
    assert delivered("webpush", "delivered") == 1
    assert ("budstikke_deliveries", (("channel", "webpush"), ("state", "queued"))) not in found
    assert found[("budstikke_outbox_pending", ())] == 1
    assert 119 <= found[("budstikke_outbox_oldest_seconds", ())] < 180
    assert found[("budstikke_webhook_events_queued", ())] == 2
    assert found[("budstikke_webhook_endpoints", (("enabled", "true"),))] == 1
    assert found[("budstikke_webhook_endpoints", (("enabled", "false"),))] == 1


async def test_a_configured_token_is_required(world: World) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        answer = await world.client.get("/metrics", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "budstikke_" not in answer.text
    assert (await scrape(world))[("budstikke_outbox_pending", ())] == 0


async def test_without_token_or_redis_metrics_are_open_and_have_no_queue_depth(
    database_url: str, make_settings: Any
) -> None:
    settings = make_settings(database_url=database_url)
    async with AsyncTestClient(create_app(settings)) as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    found = samples(answer.text)
    assert found[("budstikke_outbox_pending", ())] == 0
    assert not [key for key in found if key[0] == "budstikke_queue_depth"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_the_worker_serves_its_counters(make_settings: Any) -> None:
    def value(name: str, **labels: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    sent = value("budstikke_deliveries_total", channel="email", outcome="sent")
    retry = value("budstikke_deliveries_total", channel="email", outcome="retry")
    observed = value("budstikke_send_seconds_count", channel="email")
    metrics.record_outcomes("email", ["sent", "sent", "retry"], [0.2, 3.0])
    assert value("budstikke_deliveries_total", channel="email", outcome="sent") == sent + 2
    assert value("budstikke_deliveries_total", channel="email", outcome="retry") == retry + 1
    assert value("budstikke_send_seconds_count", channel="email") == observed + 2

    assert metrics.start_worker_metrics(make_settings()) is None  # port 0: off
    port = free_port()
    served = metrics.start_worker_metrics(make_settings(worker_metrics_port=str(port)))
    assert served is not None
    server, thread = served
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            text = await response.text()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    found = samples(text)
    # The text format names a counter's sample with its _total suffix.
    key = ("budstikke_deliveries_total", (("channel", "email"), ("outcome", "sent")))
    assert found[key] == sent + 2
    assert found[("budstikke_send_seconds_count", (("channel", "email"),))] == observed + 2
