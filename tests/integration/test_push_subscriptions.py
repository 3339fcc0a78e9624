"""Push subscriptions over the real app on both engines: register, move, limit, delete, refuse."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.vapid import generate_key_pair
from gateway.db import session_factory
from gateway.delivery.models import PushSubscription
from gateway.delivery.subscriptions import MAX_PER_PERSON
from tests.integration import messaging_world
from tests.integration.messaging_world import World, make_world
from tests.integration.test_preferences import api_key

world = messaging_world.world  # the fixture

PATH = "/v1/push/subscriptions"
VAPID = generate_key_pair()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser(endpoint: str | None = None, **extra: Any) -> dict[str, Any]:
    """What a browser's ``PushSubscription.toJSON()`` gives, with fresh keys."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": endpoint or f"https://push.example.net/wpush/v2/{uuid.uuid4().hex}",
        "expirationTime": None,
        "keys": {"p256dh": b64(point), "auth": b64(os.urandom(16))},
        **extra,
    }


async def stored(w: World, subscription_id: str) -> PushSubscription:
    async with session_factory(w.engine)() as session:
        row = await session.get(PushSubscription, uuid.UUID(subscription_id))
    assert row is not None
    return row


async def mine(w: World, who: str) -> list[dict[str, Any]]:
    answer = await w.get(PATH, who)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_register_list_and_register_again(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    sub = browser(user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
    first = await w.post(PATH, guardian, sub)
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True
    row = await stored(w, first.json()["id"])
    assert row.person_id == uuid.UUID(await w.id_of(guardian))
    assert (row.endpoint, row.p256dh, row.auth) == (
        sub["endpoint"],
        sub["keys"]["p256dh"],
        sub["keys"]["auth"],
    )

    (listed,) = await mine(w, guardian)
    assert listed["id"] == first.json()["id"]
    assert listed["origin"] == "https://push.example.net"  # never the capability path
    assert sub["endpoint"] not in str(listed)
    assert listed["user_agent"] == sub["user_agent"]
    assert listed["disabled"] is False and listed["last_used_at"] is None

    # The browser refreshed its keys: same endpoint, same row, new keys.
    refreshed = browser(sub["endpoint"])
    again = await w.post(PATH, guardian, refreshed)
    assert again.status_code == 200, again.text
    assert again.json() == {"id": first.json()["id"], "created": False}
    row = await stored(w, first.json()["id"])
    assert (row.p256dh, row.auth) == (refreshed["keys"]["p256dh"], refreshed["keys"]["auth"])
    assert len(await mine(w, guardian)) == 1


async def test_an_endpoint_moves_to_whoever_registers_it_and_is_enabled_again(
    world: World,
) -> None:
    w = world
    one, other = w.summary.guardian_two_children, w.summary.non_custodial_parent
    sub = browser()
    created = (await w.post(PATH, one, sub)).json()
    async with session_factory(w.engine)() as session, session.begin():
        row = await session.get(PushSubscription, uuid.UUID(created["id"]))
        assert row is not None
        row.last_used_at = row.created_at
        row.disabled_at, row.disabled_reason = row.created_at, "webpush 410 gone"

    moved = await w.post(PATH, other, browser(sub["endpoint"]))
    assert moved.status_code == 200, moved.text
    assert moved.json()["id"] == created["id"]
    assert await mine(w, one) == []
    (theirs,) = await mine(w, other)
    assert theirs["disabled"] is False
    assert theirs["last_used_at"] is None  # the first owner's last push is not theirs to see
    row = await stored(w, created["id"])
    assert row.person_id == uuid.UUID(await w.id_of(other))
    assert (row.disabled_at, row.disabled_reason) == (None, None)


async def test_one_more_than_the_limit_disables_the_least_recently_active(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    ids = []
    for _ in range(MAX_PER_PERSON + 1):
        answer = await w.post(PATH, guardian, browser())
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    listed = {item["id"]: item for item in await mine(w, guardian)}
    assert len(listed) == MAX_PER_PERSON + 1
    assert [i for i, item in listed.items() if item["disabled"]] == [ids[0]]
    assert (await stored(w, ids[0])).disabled_reason == (
        f"replaced: the person registered more than {MAX_PER_PERSON} browsers"
    )
    # Registering the oldest again makes it the newest: now the second is the stalest.
    await w.post(PATH, guardian, browser((await stored(w, ids[0])).endpoint))
    disabled = [item["id"] for item in await mine(w, guardian) if item["disabled"]]
    assert disabled == [ids[1]]
    # Another person's browsers do not count.
    assert (await w.post(PATH, w.summary.teacher, browser())).status_code == 201


async def test_only_the_owner_can_delete(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    created = (await w.post(PATH, guardian, browser())).json()
    target = f"{PATH}/{created['id']}"
    for stranger in (w.summary.non_custodial_parent, w.summary.teacher):
        answer = await w.client.delete(target, headers=w.headers(stranger))
        assert answer.status_code == 404
    assert await stored(w, created["id"])  # still there
    assert (await w.client.delete(target, headers=w.headers(guardian))).status_code == 204
    assert await mine(w, guardian) == []
    assert (await w.client.delete(target, headers=w.headers(guardian))).status_code == 404
    missing = await w.client.delete(f"{PATH}/{uuid.uuid4()}", headers=w.headers(guardian))
    assert missing.status_code == 404


async def test_subscriptions_belong_to_signed_in_people(world: World) -> None:
    w = world
    assert (await w.client.post(PATH, json=browser())).status_code == 401
    key = await api_key(w, ["send"])
    as_key = await w.client.post(PATH, json=browser(), headers={"Authorization": f"Bearer {key}"})
    assert as_key.status_code == 403
    async with session_factory(w.engine)() as session:
        assert (await session.scalars(select(PushSubscription))).all() == []


def _not_on_curve() -> str:
    point = bytearray(b"\x04" + os.urandom(64))
    while True:
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes(point))
        except ValueError:
            return b64(bytes(point))
        point[-1] ^= 1  # pragma: no cover - a random point is on the curve ~never


def _compressed() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return b64(
        key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            {"keys": {"p256dh": "@@not base64@@", "auth": b64(os.urandom(16))}},
            "keys.p256dh: is not base64url",
        ),
        (
            {"keys": {"p256dh": _compressed(), "auth": b64(os.urandom(16))}},
            "keys.p256dh: must be a 65-byte",
        ),
        (
            {"keys": {"p256dh": _not_on_curve(), "auth": b64(os.urandom(16))}},
            "keys.p256dh: is not a point",
        ),
        ({"auth": b64(os.urandom(15))}, "keys.auth: must be 16 bytes, not 15"),
        ({"endpoint": "http://push.example.net/x"}, "endpoint: the endpoint must be an https URL"),
        ({"endpoint": "ftp://push.example.net/x"}, "endpoint: the endpoint must be an https URL"),
        ({"endpoint": "not a url"}, "endpoint:"),
        ({"endpoint": "https://user:pw@push.example.net/x"}, "endpoint: must not carry a user"),
        ({"endpoint": "https://10.1.2.3/push"}, "endpoint: must not point at a private"),
        ({"endpoint": "https://[fe80::1]/push"}, "endpoint: must not point at a private"),
        ({"endpoint": "https://push.example.net/" + "x" * 2048}, "endpoint"),
        ({"colour": "blue"}, "colour"),
        ({"user_agent": "x" * 1025}, "user_agent"),
    ],
)
async def test_unusable_subscriptions_are_refused_with_a_reason(
    world: World, change: dict[str, Any], named: str
) -> None:
    w = world
    body = browser()
    change = dict(change)  # the parameters are shared by both engines' runs
    if "auth" in change:
        body["keys"] = {**body["keys"], "auth": change.pop("auth")}
    body.update(change)
    refused = await w.post(PATH, w.summary.guardian_two_children, body)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert any(named in error for error in problem.get("errors") or []), problem
    async with session_factory(w.engine)() as session:
        assert (await session.scalars(select(PushSubscription))).all() == []


async def test_loopback_http_standard_base64_and_a_long_user_agent_are_accepted(
    world: World,
) -> None:
    w = world
    body = browser("http://127.0.0.1:8099/push/alice", user_agent="A" * 1000)
    raw_point = base64.urlsafe_b64decode(body["keys"]["p256dh"] + "=")
    body["keys"]["p256dh"] = base64.b64encode(raw_point).decode()  # padded, maybe + and /
    answer = await w.post(PATH, w.summary.guardian_two_children, body)
    assert answer.status_code == 201, answer.text
    row = await stored(w, answer.json()["id"])
    assert row.p256dh == b64(raw_point)  # stored as unpadded base64url
    assert row.user_agent == "A" * 300


async def test_the_vapid_key_is_404_when_push_is_not_configured(world: World) -> None:
    answer = await world.client.get("/v1/push/vapid-public-key")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["detail"] == "web push is not configured"


@pytest.fixture
async def push_world(
    tmp_path: Path, database_url: str, redis_url: str, make_settings: Any, engine: AsyncEngine
) -> AsyncIterator[World]:
    async for built in make_world(
        tmp_path,
        database_url,
        redis_url,
        make_settings,
        engine,
        vapid_private_key=VAPID.private_pem,
        vapid_subject="mailto:drift@example.dk",
    ):
        yield built


async def test_the_vapid_key_needs_no_credentials(push_world: World) -> None:
    answer = await push_world.client.get("/v1/push/vapid-public-key")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"public_key": VAPID.public_b64}
    assert "public" in answer.headers["cache-control"]
