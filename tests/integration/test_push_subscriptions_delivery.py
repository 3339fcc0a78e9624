"""What delivery asks of push subscriptions, on both engines: targets, disable, touch, expiry.

The last test runs the whole path: a browser registers through the API with the key the
gateway publishes, and the real web push channel reaches it through a local RFC 8030
push service that checks VAPID and decrypts with the browser's private key.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from channels.base import Delivered, Envelope
from channels.webpush import WebPushChannel
from gateway.db import session_factory
from gateway.delivery import subscriptions
from gateway.delivery.models import PushSubscription
from gateway.orm import utcnow
from gateway.roster.models import Person
from tests.channels.push_service import PushService
from tests.integration import messaging_world
from tests.integration import test_push_subscriptions as registering
from tests.integration.messaging_world import World
from tests.integration.test_preferences_defaults import counted
from tests.integration.test_push_subscriptions import VAPID, browser
from workers.push import expire_push_subscriptions

world = messaging_world.world  # the fixtures
push_world = registering.push_world

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def days_ago(days: int) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


async def some_people(w: World, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    async with session_factory(w.engine)() as session:
        rows = (await session.execute(select(Person.municipality_id, Person.id).limit(count))).all()
    return rows[0][0], [person_id for _, person_id in rows]


async def add(
    w: World, municipality_id: uuid.UUID, person_id: uuid.UUID, **fields: Any
) -> uuid.UUID:
    body = browser()
    row = PushSubscription(
        municipality_id=municipality_id,
        person_id=person_id,
        endpoint=body["endpoint"],
        p256dh=body["keys"]["p256dh"],
        auth=body["keys"]["auth"],
        **{"created_at": NOW, **fields},
    )
    async with session_factory(w.engine)() as session, session.begin():
        session.add(row)
    return row.id


async def load(w: World, subscription_id: uuid.UUID) -> PushSubscription | None:
    async with session_factory(w.engine)() as session:
        return await session.get(PushSubscription, subscription_id)


async def test_active_targets_for_many_people_in_one_query(world: World) -> None:
    w = world
    municipality_id, (ann, bo, cy) = await some_people(w, 3)
    ann_first = await add(w, municipality_id, ann, created_at=days_ago(2))
    ann_second = await add(w, municipality_id, ann, created_at=days_ago(1))
    bo_only = await add(w, municipality_id, bo)
    await add(w, municipality_id, cy, disabled_at=days_ago(1), disabled_reason="webpush 410")
    asked = [uuid.uuid4() for _ in range(100_000)] + [ann, bo, cy]
    async with session_factory(w.engine)() as session:
        with counted(w.engine) as statements:
            targets = await subscriptions.active_targets(session, municipality_id, asked)
        elsewhere = await subscriptions.active_targets(session, uuid.uuid4(), asked)
    assert len(statements) == 1
    assert set(targets) == {ann, bo}  # cy's only subscription is disabled
    assert [t.subscription_id for t in targets[ann]] == [ann_first, ann_second]
    (bo_target,) = targets[bo]
    row = await load(w, bo_only)
    assert row is not None
    assert (bo_target.endpoint, bo_target.p256dh, bo_target.auth) == (
        row.endpoint,
        row.p256dh,
        row.auth,
    )
    assert elsewhere == {}


async def test_disable_and_touch_are_one_update_each(world: World) -> None:
    w = world
    municipality_id, (ann, bo) = await some_people(w, 2)
    first = await add(w, municipality_id, ann)
    second = await add(w, municipality_id, bo)
    gone = await add(w, municipality_id, bo, disabled_at=days_ago(3), disabled_reason="earlier")
    async with session_factory(w.engine)() as session, session.begin():
        with counted(w.engine) as statements:
            touched = await subscriptions.touch(session, municipality_id, [first, second], NOW)
            disabled = await subscriptions.disable(
                session, municipality_id, [second, gone], "webpush 410 gone", NOW
            )
            # Another tenant's ids change nothing.
            await subscriptions.disable(session, uuid.uuid4(), [first], "x", NOW)
    assert len(statements) == 3
    assert (touched, disabled) == (2, 1)
    kept, stopped, earlier = [await load(w, i) for i in (first, second, gone)]
    assert kept is not None and stopped is not None and earlier is not None
    assert (kept.last_used_at, kept.disabled_at) == (NOW, None)
    assert (stopped.last_used_at, stopped.disabled_at, stopped.disabled_reason) == (
        NOW,
        NOW,
        "webpush 410 gone",
    )
    assert (earlier.disabled_at, earlier.disabled_reason) == (days_ago(3), "earlier")
    async with session_factory(w.engine)() as session:
        assert await subscriptions.touch(session, municipality_id, [], NOW) == 0
        assert await subscriptions.disable(session, municipality_id, [], "x", NOW) == 0


async def test_the_nightly_job_expires_unused_and_deletes_long_dead_subscriptions(
    world: World,
) -> None:
    w = world
    days = w.settings.push_subscription_expire_days
    now = utcnow()
    municipality_id, (ann,) = await some_people(w, 1)

    def ago(count: int) -> dt.datetime:
        return now - dt.timedelta(days=count)

    never_used = await add(w, municipality_id, ann, created_at=ago(days + 1))
    used_long_ago = await add(
        w, municipality_id, ann, created_at=ago(days + 30), last_used_at=ago(days + 1)
    )
    used_lately = await add(w, municipality_id, ann, created_at=ago(days + 30), last_used_at=ago(2))
    registered_lately = await add(w, municipality_id, ann, created_at=ago(days - 1))
    long_dead = await add(
        w,
        municipality_id,
        ann,
        created_at=ago(days * 3),
        disabled_at=ago(days + 1),
        disabled_reason="webpush 410",
    )
    lately_dead = await add(
        w, municipality_id, ann, created_at=ago(days * 3), disabled_at=ago(3), disabled_reason="x"
    )

    ctx = {"sessions": session_factory(w.engine), "settings": w.settings}
    assert await expire_push_subscriptions(ctx) == 2
    for expired in (never_used, used_long_ago):
        row = await load(w, expired)
        assert row is not None and row.disabled_at is not None
        assert row.disabled_reason == f"expired: unused for {days} days"
    for alive in (used_lately, registered_lately):
        row = await load(w, alive)
        assert row is not None and row.disabled_at is None
    assert await load(w, long_dead) is None  # an endpoint is personal data: gone
    dead = await load(w, lately_dead)
    assert dead is not None and dead.disabled_reason == "x"
    # Running it again finds nothing new; the ones it just disabled are kept a while.
    assert await expire_push_subscriptions(ctx) == 0
    assert await load(w, never_used) is not None


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    await service.start()
    yield service
    await service.stop()


async def test_a_browser_registered_through_the_api_receives_a_push(
    push_world: World, push_service: PushService
) -> None:
    w = push_world
    guardian = w.summary.guardian_two_children
    key = (await w.client.get("/v1/push/vapid-public-key")).json()["public_key"]
    subscriber = push_service.subscribe("guardian", application_server_key=key)
    registered = await w.post(
        "/v1/push/subscriptions",
        guardian,
        {"endpoint": subscriber.endpoint, "keys": subscriber.keys, "expirationTime": None},
    )
    assert registered.status_code == 201, registered.text

    person = await w.person(guardian)
    async with session_factory(w.engine)() as session:
        targets = await subscriptions.active_targets(session, person.municipality_id, [person.id])
    (target,) = targets[person.id]
    assert str(target.subscription_id) == registered.json()["id"]
    channel = WebPushChannel(w.settings)
    try:
        sent = Envelope(
            delivery_id=uuid.uuid4(),
            address=target.endpoint,
            subject="",
            text=json.dumps({"title": "Ny besked"}),
            keys={"p256dh": target.p256dh, "auth": target.auth},
        )
        (outcome,) = await channel.send([sent])
    finally:
        await channel.close()
    assert isinstance(outcome, Delivered), (outcome, push_service.refused)
    (got,) = push_service.received
    assert json.loads(got.plaintext) == {"title": "Ny besked"}
    assert key == VAPID.public_b64
