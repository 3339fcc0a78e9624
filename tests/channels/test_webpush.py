"""The web push channel against a real local RFC 8030 push service (see push_service.py)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec

from channels.base import Delivered, Envelope, Rejected, Retry
from channels.vapid import VapidSigner, generate_key_pair, load_private_key, public_key_b64
from channels.webpush import MAX_PAYLOAD_BYTES, WebPushChannel, push_topic
from gateway.cli import main
from gateway.config import Settings, load_settings
from gateway.errors import ConfigError
from tests.channels.push_service import PushService, Subscriber

KEYS = generate_key_pair()


def push_settings(**extra: str) -> Settings:
    env = {
        "BUDSTIKKE_VAPID_PRIVATE_KEY": KEYS.private_b64,
        "BUDSTIKKE_VAPID_SUBJECT": "mailto:drift@example.dk",
    }
    env.update({f"BUDSTIKKE_{key.upper()}": value for key, value in extra.items()})
    return load_settings(env)


def envelope(subscriber: Subscriber, payload: Any = None, **fields: Any) -> Envelope:
    text = json.dumps(payload if payload is not None else {"title": "Ny besked", "n": 1})
    return Envelope(
        delivery_id=uuid.uuid4(),
        address=subscriber.endpoint,
        subject="",
        text=text,
        keys=subscriber.keys,
        **fields,
    )


async def _service() -> PushService:
    service = PushService()
    await service.start()
    return service


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    service = await _service()
    yield service
    await service.stop()


@pytest.fixture
async def other_push() -> AsyncIterator[PushService]:
    service = await _service()
    yield service
    await service.stop()


@pytest.fixture
async def channel() -> AsyncIterator[WebPushChannel]:
    adapter = WebPushChannel(push_settings())
    yield adapter
    await adapter.close()


async def test_payload_decrypts_to_exactly_what_was_sent(
    push: PushService, channel: WebPushChannel
) -> None:
    subscriber = push.subscribe("alice", application_server_key=KEYS.public_b64)
    payload = {"title": "Besked fra Æblehaven", "body": "Husk madpakke 🍎", "url": "/inbox/1"}
    sent = envelope(subscriber, payload)

    (outcome,) = await channel.send([sent])

    assert outcome == Delivered(sent.delivery_id, detail="webpush 201")
    (got,) = push.received
    assert got.plaintext == sent.text.encode("utf-8")
    assert json.loads(got.plaintext) == payload


async def test_vapid_jwt_verifies_with_aud_exp_and_sub(
    push: PushService, channel: WebPushChannel
) -> None:
    subscriber = push.subscribe("bob")
    await channel.send([envelope(subscriber)])

    (got,) = push.received
    assert push.refused == []
    assert got.claims["aud"] == push.origin
    assert got.claims["sub"] == "mailto:drift@example.dk"
    assert time.time() < got.claims["exp"] <= time.time() + 86_400


async def test_service_refuses_wrong_aud_and_stale_or_far_exp(push: PushService) -> None:
    """The push service's checks are real: a bad token is refused, and the channel says so."""
    subscriber = push.subscribe("carol")
    key = load_private_key(KEYS.private_b64)
    k = public_key_b64(key)
    now = int(time.time())
    bad_claims = [
        {"aud": "https://elsewhere.example", "exp": now + 600, "sub": "mailto:a@b.dk"},
        {"aud": push.origin, "exp": now - 10, "sub": "mailto:a@b.dk"},
        {"aud": push.origin, "exp": now + 2 * 86_400, "sub": "mailto:a@b.dk"},
    ]
    async with aiohttp.ClientSession() as session:
        for claims in bad_claims:
            token = jwt.encode(claims, key, algorithm="ES256")
            async with session.post(
                subscriber.endpoint,
                data=b"x",
                headers={"Authorization": f"vapid t={token}, k={k}", "TTL": "60"},
            ) as response:
                assert response.status == 401
    assert len(push.refused) == 3
    assert push.received == []


async def test_ttl_urgency_and_topic_arrive(push: PushService, channel: WebPushChannel) -> None:
    one, two, three = (push.subscribe(name) for name in ("one", "two", "three"))
    long_topic = "thread:" + str(uuid.uuid4())  # not base64url-safe and over 32 characters

    await channel.send(
        [
            envelope(one, ttl_seconds=3600, urgency="high", topic="thread42"),
            envelope(two, ttl_seconds=60, urgency="low", topic=long_topic),
            envelope(three),
        ]
    )

    by_path = {item.path: item for item in push.received}
    first, second, third = (by_path[s.path] for s in (one, two, three))
    assert (first.ttl, first.urgency, first.topic) == ("3600", "high", "thread42")
    assert (second.ttl, second.urgency) == ("60", "low")
    assert second.topic == push_topic(long_topic)
    assert second.topic is not None and len(second.topic) == 32
    assert second.topic.replace("-", "").replace("_", "").isalnum()
    assert (third.ttl, third.urgency, third.topic) == ("86400", "normal", None)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected", "disable"),
    [
        (201, None, Delivered, False),
        (202, None, Delivered, False),
        (404, None, Rejected, True),
        (410, None, Rejected, True),
        (401, None, Rejected, True),
        (403, None, Rejected, True),
        (413, None, Rejected, False),
        (429, "7", Retry, False),
        (500, None, Retry, False),
        (503, None, Retry, False),
    ],
)
async def test_each_status_maps_to_its_outcome(
    push: PushService,
    channel: WebPushChannel,
    status: int,
    retry_after: str | None,
    expected: type,
    disable: bool,
) -> None:
    subscriber = push.subscribe(f"s{status}")
    push.answer(subscriber, status, retry_after=retry_after)
    sent = envelope(subscriber)

    (outcome,) = await channel.send([sent])

    assert type(outcome) is expected
    assert outcome.delivery_id == sent.delivery_id
    if isinstance(outcome, Rejected):
        assert outcome.disable is disable
        assert str(status) in outcome.reason
        if status in {401, 403}:
            assert "key rotation" in outcome.reason
    if status == 429:
        assert isinstance(outcome, Retry) and outcome.after_seconds == 7.0
    if status >= 500:
        assert isinstance(outcome, Retry) and 15.0 <= outcome.after_seconds <= 45.0


async def test_429_without_retry_after_waits_a_minute(
    push: PushService, channel: WebPushChannel
) -> None:
    subscriber = push.subscribe("busy")
    push.answer(subscriber, 429)
    (outcome,) = await channel.send([envelope(subscriber)])
    assert isinstance(outcome, Retry) and outcome.after_seconds == 60.0


async def test_rotated_vapid_key_disables_the_subscription(push: PushService) -> None:
    """A subscription made with the old key gets 403 from the service: disable it."""
    subscriber = push.subscribe("old", application_server_key=generate_key_pair().public_b64)
    adapter = WebPushChannel(push_settings())
    try:
        (outcome,) = await adapter.send([envelope(subscriber)])
    finally:
        await adapter.close()
    assert isinstance(outcome, Rejected) and outcome.disable
    assert push.refused == ["403 VAPID key is not the one subscribed with"]


async def test_oversized_payload_is_rejected_without_sending(
    push: PushService, channel: WebPushChannel
) -> None:
    subscriber = push.subscribe("big")
    at_limit = envelope(subscriber, {"x": "a" * (MAX_PAYLOAD_BYTES - 9)})
    over = envelope(subscriber, {"x": "ø" * MAX_PAYLOAD_BYTES})
    assert len(at_limit.text.encode()) == MAX_PAYLOAD_BYTES

    fits, too_big = await channel.send([at_limit, over])

    assert isinstance(fits, Delivered)
    assert isinstance(too_big, Rejected) and not too_big.disable
    assert too_big.reason.startswith("payload too large")
    assert len(push.received) == 1
    assert push.received[0].plaintext == at_limit.text.encode()


async def test_bad_endpoints_and_keys_are_rejected(channel: WebPushChannel) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    plain_http = Envelope(
        delivery_id=uuid.uuid4(),
        address="http://push.example.com/x",
        subject="",
        text="{}",
        keys={"p256dh": public_key_b64(key), "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
    )
    no_keys = Envelope(
        delivery_id=uuid.uuid4(), address="https://push.example.com/x", subject="", text="{}"
    )
    outcomes = await channel.send([plain_http, no_keys])
    assert all(isinstance(o, Rejected) and o.disable for o in outcomes)
    assert "https" in outcomes[0].reason  # type: ignore[union-attr]


async def test_vapid_header_is_signed_once_per_origin(
    push: PushService, other_push: PushService, channel: WebPushChannel
) -> None:
    subscribers = [push.subscribe(f"m{i}") for i in range(20)]
    others = [other_push.subscribe(f"o{i}") for i in range(5)]

    await channel.send([envelope(s) for s in subscribers + others])
    await channel.send([envelope(s) for s in subscribers])

    assert channel.signer is not None and channel.signer.signatures == 2
    assert len(push.received) == 40 and len(push.tokens()) == 1
    assert len(other_push.received) == 5 and len(other_push.tokens()) == 1
    assert push.tokens() != other_push.tokens()  # each origin is its own audience


def test_signer_renews_near_expiry() -> None:
    now = [1_000_000.0]
    signer = VapidSigner(load_private_key(KEYS.private_b64), "mailto:a@b.dk", clock=lambda: now[0])
    first = signer.header("https://push.example")
    now[0] += 10 * 3600  # 2 h before the 12 h expiry: still good
    assert signer.header("https://push.example") == first
    now[0] += 1.5 * 3600  # within the last hour: sign anew
    assert signer.header("https://push.example") != first
    assert signer.signatures == 2


async def test_slow_origin_does_not_block_another(
    push: PushService, other_push: PushService
) -> None:
    adapter = WebPushChannel(push_settings(push_concurrency="2"))
    push.slow(None, 1.0)
    slow = [push.subscribe(f"slow{i}") for i in range(6)]
    fast = [other_push.subscribe(f"fast{i}") for i in range(6)]
    try:
        slow_task = asyncio.create_task(adapter.send([envelope(s) for s in slow]))
        await asyncio.sleep(0.1)  # the slow origin's two slots are now taken
        fast_outcomes = await adapter.send([envelope(s) for s in fast])
        # The fast origin finished while the slow one (6 sends, 2 at a time, 1 s each)
        # still holds its slots: one origin does not hold up another.
        assert not slow_task.done()
        slow_outcomes = await slow_task
    finally:
        await adapter.close()
    assert all(isinstance(o, Delivered) for o in [*fast_outcomes, *slow_outcomes])
    assert push.max_in_flight == 2  # the per-origin bound held
    assert len(other_push.received) == 6


async def test_timeout_and_connection_error_are_retried(push: PushService) -> None:
    adapter = WebPushChannel(push_settings(push_timeout_seconds="1"))
    hanging = push.subscribe("hang")
    push.slow(hanging, 3.0)
    gone = Envelope(
        delivery_id=uuid.uuid4(),
        address="http://127.0.0.1:9/push/nobody",  # discard port: nothing listens
        subject="",
        text="{}",
        keys=hanging.keys,
    )
    try:
        timed_out, refused = await adapter.send([envelope(hanging), gone])
    finally:
        await adapter.close()
    assert isinstance(timed_out, Retry) and "no answer within 1 s" in timed_out.reason
    assert isinstance(refused, Retry) and 15.0 <= refused.after_seconds <= 45.0


def test_not_configured_says_why() -> None:
    off = WebPushChannel(load_settings({}))
    assert off.configured() == "web push is off: BUDSTIKKE_VAPID_PRIVATE_KEY is not set"
    assert WebPushChannel(push_settings()).configured() is None


async def test_send_when_not_configured_is_a_setup_error() -> None:
    off = WebPushChannel(load_settings({}))
    with pytest.raises(ConfigError):
        await off.send([])
    await off.close()


def test_settings_check_the_key_and_subject() -> None:
    with pytest.raises(ConfigError, match="VAPID_SUBJECT must be too"):
        load_settings({"BUDSTIKKE_VAPID_PRIVATE_KEY": KEYS.private_b64})
    with pytest.raises(ConfigError, match="P-256 private key"):
        load_settings(
            {"BUDSTIKKE_VAPID_PRIVATE_KEY": "bm90IGEga2V5", "BUDSTIKKE_VAPID_SUBJECT": "mailto:a@b"}
        )
    with pytest.raises(ConfigError, match="mailto"):
        push_settings(vapid_subject="drift@example.dk")
    pem = push_settings(vapid_private_key=KEYS.private_pem)
    assert pem.vapid_private_key is not None
    assert public_key_b64(load_private_key(pem.vapid_private_key)) == KEYS.public_b64


def test_vapid_keys_command_prints_a_usable_pair() -> None:
    result = CliRunner().invoke(main, ["vapid-keys"])
    assert result.exit_code == 0, result.output
    lines = dict(
        line.split("=", 1) for line in result.output.splitlines() if line.startswith("BUDSTIKKE_")
    )
    private = lines["BUDSTIKKE_VAPID_PRIVATE_KEY"]
    assert "-----BEGIN PRIVATE KEY-----" in result.output
    public = next(
        line.split(":", 1)[1].strip()
        for line in result.output.splitlines()
        if line.startswith("applicationServerKey:")
    )
    assert public_key_b64(load_private_key(private)) == public
    assert len(public) == 87  # 65-byte uncompressed P-256 point, unpadded base64url
