"""Emitting and sending webhooks over both engines to a real receiver on loopback.

Signatures are checked as a receiver would, with ``standardwebhooks.Webhook.verify``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway import metrics
from gateway.config import Settings
from gateway.db import session_factory
from gateway.orm import utcnow
from gateway.webhooks import endpoints
from gateway.webhooks.models import WebhookEndpoint, WebhookEvent
from gateway.webhooks.schemas import WebhookCreate, WebhookCreated
from gateway.webhooks.sender import open_http, send_due
from gateway.webhooks.service import emit
from gateway.webhooks.urls import AddressRefused, CheckedResolver
from tests.integration import webhook_world
from tests.integration.webhook_world import Receiver, Tenants, seed
from workers.webhooks import send_webhooks, webhook_shutdown, webhook_startup

receiver = webhook_world.receiver  # the fixture


@pytest.fixture
def settings(make_settings: Any, database_url: str) -> Settings:
    built: Settings = make_settings(
        database_url=database_url,
        webhook_allow_private="true",
        webhook_max_failures="3",
        webhook_timeout_seconds="1",
    )
    return built


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[aiohttp.ClientSession]:
    session = open_http(settings)
    yield session
    await session.close()


@pytest.fixture
async def tenants(engine: AsyncEngine) -> Tenants:
    return await seed(engine)


async def add(
    engine: AsyncEngine,
    tenants: Tenants,
    settings: Settings,
    url: str,
    events: list[str],
    *,
    institution: uuid.UUID | None = None,
    other: bool = False,
) -> WebhookCreated:
    key = tenants.key(other=other)
    data = WebhookCreate(url=url, events=events, institution_id=institution)
    async with session_factory(engine)() as session:
        return await endpoints.create_endpoint(session, key, data, settings=settings, now=utcnow())


async def fire(
    engine: AsyncEngine,
    municipality_id: uuid.UUID,
    event_type: str = "message.created",
    *,
    institution: uuid.UUID | None = None,
    now: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    async with session_factory(engine)() as session, session.begin():
        return await emit(
            session,
            municipality_id,
            event_type,
            data or {"message_id": uuid.uuid4(), "recipients": 3},
            institution_id=institution,
            now=now or utcnow(),
        )


async def events_of(engine: AsyncEngine, endpoint_id: uuid.UUID) -> list[WebhookEvent]:
    async with session_factory(engine)() as session:
        query = select(WebhookEvent).where(WebhookEvent.endpoint_id == endpoint_id)
        return list((await session.scalars(query.order_by(WebhookEvent.created_at))).all())


async def endpoint_row(engine: AsyncEngine, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    async with session_factory(engine)() as session:
        found = await session.get(WebhookEndpoint, endpoint_id)
    assert found is not None
    return found


def delivered_count() -> float:
    value = metrics.REGISTRY.get_sample_value("budstikke_webhooks_total", {"outcome": "delivered"})
    return value or 0.0


def sessions(engine: AsyncEngine) -> Any:
    return session_factory(engine)


async def test_an_emitted_event_arrives_signed_once(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    wanted = await add(engine, tenants, settings, receiver.url("/ok/created"), ["message.created"])
    await add(engine, tenants, settings, receiver.url("/ok/read"), ["message.read"])
    message_id, thread_id = uuid.uuid4(), uuid.uuid4()
    queued = await fire(
        engine,
        tenants.municipality.id,
        data={"message_id": message_id, "thread_id": thread_id, "recipients": 12},
    )
    assert queued == 1
    before = delivered_count()

    assert await send_due(sessions(engine), settings, http, utcnow()) == 1
    assert receiver.paths() == ["/ok/created"]
    request = receiver.received[0]
    payload = Webhook(wanted.secret).verify(request.body, request.headers)
    assert payload["type"] == "message.created"
    assert payload["data"] == {
        "message_id": str(message_id),
        "thread_id": str(thread_id),
        "recipients": 12,
    }
    assert payload["timestamp"].endswith("Z")
    assert request.headers["Content-Type"] == "application/json"
    (event,) = await events_of(engine, wanted.id)
    assert request.headers["webhook-id"] == str(event.id)
    assert event.state == "delivered" and event.attempts == 1
    assert event.last_status == "HTTP 200"
    assert delivered_count() == before + 1
    # A signature made with another secret does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoints.new_secret()).verify(request.body, request.headers)

    # Nothing is sent twice.
    assert await send_due(sessions(engine), settings, http, utcnow() + dt.timedelta(hours=1)) == 0
    assert len(receiver.received) == 1


async def test_events_reach_only_their_municipality_and_institution(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    types = ["message.created"]
    await add(engine, tenants, settings, receiver.url("/ok/wide"), types)
    await add(engine, tenants, settings, receiver.url("/ok/a"), types, institution=tenants.school_a)
    await add(engine, tenants, settings, receiver.url("/ok/b"), types, institution=tenants.school_b)
    await add(engine, tenants, settings, receiver.url("/ok/other"), types, other=True)

    assert await fire(engine, tenants.municipality.id, institution=tenants.school_a) == 2
    assert await fire(engine, tenants.municipality.id) == 1  # no institution: wide only
    assert await send_due(sessions(engine), settings, http, utcnow()) == 3
    assert sorted(receiver.paths()) == ["/ok/a", "/ok/wide", "/ok/wide"]


async def test_a_failing_receiver_is_retried_with_backoff(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    created = await add(engine, tenants, settings, receiver.url("/fail"), ["message.created"])
    await fire(engine, tenants.municipality.id)
    now = utcnow()

    assert await send_due(sessions(engine), settings, http, now) == 0
    (event,) = await events_of(engine, created.id)
    assert event.state == "queued" and event.attempts == 1
    assert event.last_status == "HTTP 500"
    wait = (event.not_before - now).total_seconds()
    assert 4.4 < wait < 5.6  # 5 s ± 10 % jitter
    assert (await endpoint_row(engine, created.id)).failures == 1

    # Not due yet: nothing is sent.
    assert await send_due(sessions(engine), settings, http, now + dt.timedelta(seconds=4)) == 0
    assert len(receiver.received) == 1

    later = now + dt.timedelta(seconds=6)
    assert await send_due(sessions(engine), settings, http, later) == 0
    (event,) = await events_of(engine, created.id)
    assert event.attempts == 2
    assert 270 < (event.not_before - later).total_seconds() < 330  # 5 min ± 10 %
    assert (await endpoint_row(engine, created.id)).failures == 2

    # The same event (same webhook-id) succeeds once the receiver is back.
    receiver.answers["/fail"] = 204
    assert await send_due(sessions(engine), settings, http, later + dt.timedelta(minutes=6)) == 1
    (event,) = await events_of(engine, created.id)
    assert event.state == "delivered" and event.attempts == 3
    assert {r.headers["webhook-id"] for r in receiver.received} == {str(event.id)}
    assert (await endpoint_row(engine, created.id)).failures == 0


async def test_repeated_failures_disable_the_endpoint(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    created = await add(engine, tenants, settings, receiver.url("/fail"), ["message.created"])
    await fire(engine, tenants.municipality.id)
    await fire(engine, tenants.municipality.id)
    now = utcnow()
    await send_due(sessions(engine), settings, http, now)
    row = await endpoint_row(engine, created.id)
    assert row.enabled and row.failures == 2  # the limit is 3

    await send_due(sessions(engine), settings, http, now + dt.timedelta(seconds=10))
    row = await endpoint_row(engine, created.id)
    assert not row.enabled
    assert row.failures == 4
    assert row.disabled_reason == "4 failed deliveries in a row; last: HTTP 500"
    assert [event.state for event in await events_of(engine, created.id)] == ["failed", "failed"]
    # A disabled endpoint gets no new events, and nothing more is sent to it.
    assert await fire(engine, tenants.municipality.id) == 0
    assert await send_due(sessions(engine), settings, http, now + dt.timedelta(days=1)) == 0
    assert len(receiver.received) == 4


async def test_an_event_left_queued_for_a_disabled_endpoint_is_not_sent(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    created = await add(engine, tenants, settings, receiver.url("/ok"), ["message.created"])
    await fire(engine, tenants.municipality.id)
    async with session_factory(engine)() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == created.id).values(enabled=False)
        )
    assert await send_due(sessions(engine), settings, http, utcnow()) == 0
    assert receiver.received == []
    (event,) = await events_of(engine, created.id)
    assert (event.state, event.last_status) == ("failed", "endpoint disabled")
    assert (await endpoint_row(engine, created.id)).failures == 0  # not the receiver's fault


async def test_redirects_are_not_followed(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    created = await add(engine, tenants, settings, receiver.url("/redirect"), ["message.created"])
    await fire(engine, tenants.municipality.id)
    assert await send_due(sessions(engine), settings, http, utcnow()) == 0
    assert receiver.paths() == ["/redirect"]  # never /ok/landing
    (event,) = await events_of(engine, created.id)
    assert event.state == "queued"
    assert event.last_status == "HTTP 302 (redirects are not followed)"


async def test_a_slow_receiver_times_out(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    created = await add(engine, tenants, settings, receiver.url("/slow"), ["message.created"])
    await fire(engine, tenants.municipality.id)
    assert await send_due(sessions(engine), settings, http, utcnow()) == 0
    (event,) = await events_of(engine, created.id)
    assert event.state == "queued" and event.last_status == "timeout after 1 s"


async def test_the_address_is_checked_again_at_send_time(
    engine: AsyncEngine,
    tenants: Tenants,
    settings: Settings,
    make_settings: Any,
    database_url: str,
    receiver: Receiver,
) -> None:
    # Made while private addresses were allowed; sent after they no longer are.
    url = f"https://127.0.0.1:{receiver.port}/ok"
    created = await add(engine, tenants, settings, url, ["message.created"])
    await fire(engine, tenants.municipality.id)
    strict = make_settings(database_url=database_url)
    async with open_http(strict) as http:
        assert await send_due(sessions(engine), strict, http, utcnow()) == 0
    assert receiver.received == []
    (event,) = await events_of(engine, created.id)
    assert event.state == "queued"
    assert event.last_status == (
        "refused: 127.0.0.1 is loopback; webhooks go to public addresses only"
    )


async def test_the_connector_refuses_a_name_that_resolves_to_a_private_address(
    receiver: Receiver,
) -> None:
    resolver = CheckedResolver(allow_private=False)
    with pytest.raises(AddressRefused, match=r"localhost resolves to .* loopback"):
        await resolver.resolve("localhost", 443)
    await resolver.close()
    connector = aiohttp.TCPConnector(resolver=CheckedResolver(allow_private=False))
    async with aiohttp.ClientSession(connector=connector) as strict:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await strict.post(receiver.url("/ok", host="localhost"), data=b"{}")
    assert isinstance(caught.value.os_error, AddressRefused)
    assert receiver.received == []
    # The same request through a permissive resolver arrives: the refusal above was ours.
    connector = aiohttp.TCPConnector(resolver=CheckedResolver(allow_private=True))
    async with (
        aiohttp.ClientSession(connector=connector) as open_client,
        open_client.post(receiver.url("/ok", host="localhost"), data=b"{}") as response,
    ):
        assert response.status == 200
    assert receiver.paths() == ["/ok"]


async def test_two_workers_send_each_event_once(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    await add(engine, tenants, settings, receiver.url("/ok/1"), ["message.created"])
    await add(engine, tenants, settings, receiver.url("/ok/2"), ["message.created"])
    for _ in range(10):
        await fire(engine, tenants.municipality.id)
    now = utcnow()
    first, second = await asyncio.gather(
        send_due(sessions(engine), settings, http, now),
        send_due(sessions(engine), settings, http, now),
    )
    assert first + second == 20
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 20


async def test_at_most_four_requests_at_once_go_to_one_endpoint(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    await add(engine, tenants, settings, receiver.url("/busy"), ["message.created"])
    for _ in range(10):
        await fire(engine, tenants.municipality.id)
    assert await send_due(sessions(engine), settings, http, utcnow()) == 10
    assert receiver.most_in_flight == 4


async def test_events_not_sent_within_three_days_fail(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    created = await add(engine, tenants, settings, receiver.url("/ok"), ["delivery.failed"])
    now = utcnow()
    data = {"delivery_id": uuid.uuid4(), "channel": "email", "reason": "bounced"}
    old = now - dt.timedelta(days=3, minutes=1)
    await fire(engine, tenants.municipality.id, "delivery.failed", now=old, data=data)
    await fire(engine, tenants.municipality.id, "delivery.failed", now=now, data=data)
    assert await send_due(sessions(engine), settings, http, now) == 1
    states = [(e.state, e.last_status) for e in await events_of(engine, created.id)]
    assert states == [("failed", "not sent within 3 days"), ("delivered", "HTTP 200")]
    assert json.loads(receiver.received[0].body)["type"] == "delivery.failed"


async def test_a_retry_that_would_pass_three_days_gives_up(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, http: Any, receiver: Receiver
) -> None:
    created = await add(engine, tenants, settings, receiver.url("/fail"), ["message.created"])
    now = utcnow()
    await fire(
        engine, tenants.municipality.id, now=now - dt.timedelta(days=3) + dt.timedelta(seconds=2)
    )
    assert await send_due(sessions(engine), settings, http, now) == 0
    (event,) = await events_of(engine, created.id)
    assert event.state == "failed"
    assert event.last_status == "HTTP 500; gave up after 3 days"


async def test_emit_refuses_an_unknown_type(engine: AsyncEngine, tenants: Tenants) -> None:
    with pytest.raises(ValueError, match=r"message\.deleted"):
        await fire(engine, tenants.municipality.id, "message.deleted")


async def test_the_worker_job_sends_over_its_own_client(
    engine: AsyncEngine, tenants: Tenants, settings: Settings, receiver: Receiver
) -> None:
    await add(engine, tenants, settings, receiver.url("/ok/job"), ["message.created"])
    await fire(engine, tenants.municipality.id)
    ctx: dict[str, Any] = {"sessions": sessions(engine), "settings": settings}
    await webhook_startup(ctx)
    http = ctx["webhook_http"]
    assert await send_webhooks(ctx) == 1
    await webhook_shutdown(ctx)
    assert http.closed and "webhook_http" not in ctx
    assert receiver.paths() == ["/ok/job"]
    # Without the startup hook, the job opens a client itself; shutdown closes it.
    await fire(engine, tenants.municipality.id)
    assert await send_webhooks(ctx) == 1
    await webhook_shutdown(ctx)
    assert "webhook_http" not in ctx
