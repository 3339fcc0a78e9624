"""Rendered push payloads, sent through the real web push channel to a real push service."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.base import Delivered
from channels.vapid import generate_key_pair
from channels.webpush import MAX_PAYLOAD_BYTES, WebPushChannel, push_topic
from gateway.config import load_settings
from gateway.delivery.notice import PushTarget
from gateway.delivery.pushpayload import ELLIPSIS, fit_payload, preview_text
from tests.channels.notices import notice, plain_settings, renderer
from tests.channels.push_service import PushService, Subscriber

KEYS = generate_key_pair()


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    service = PushService()
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def channel() -> AsyncIterator[WebPushChannel]:
    adapter = WebPushChannel(
        load_settings(
            {
                "BUDSTIKKE_VAPID_PRIVATE_KEY": KEYS.private_b64,
                "BUDSTIKKE_VAPID_SUBJECT": "mailto:drift@example.dk",
            }
        )
    )
    yield adapter
    await adapter.close()


def target(subscriber: Subscriber) -> PushTarget:
    return PushTarget(
        subscription_id=uuid.uuid4(),
        endpoint=subscriber.endpoint,
        p256dh=subscriber.keys["p256dh"],
        auth=subscriber.keys["auth"],
    )


async def delivered(
    push: PushService, channel: WebPushChannel, tmp_path: Path, name: str, **changes: Any
) -> tuple[dict[str, Any], Any]:
    """Render a notice for a new subscriber, send it; the decrypted JSON and what arrived."""
    subscriber = push.subscribe(name, application_server_key=KEYS.public_b64)
    envelope = renderer(plain_settings(tmp_path)).push(notice(**changes), target(subscriber))
    [outcome] = await channel.send([envelope])
    assert isinstance(outcome, Delivered), outcome
    [got] = push.received[-1:]
    assert got.plaintext == envelope.text.encode("utf-8")
    return json.loads(got.plaintext), got


async def test_a_message_push_decrypts_to_the_expected_payload(
    push: PushService, channel: WebPushChannel, tmp_path: Path
) -> None:
    item = notice()
    payload, got = await delivered(
        push, channel, tmp_path, "mor", delivery_id=item.delivery_id, message_id=item.message_id
    )
    assert payload == {
        "title": "Tur i skoven på fredag",
        "body": "Anna Andersen: Husk madpakke og regntøj.",
        "thread_id": str(item.thread_id),
        "message_id": str(item.message_id),
        "url": item.thread_url,
        "tag": f"thread-{item.thread_id}",
        "sensitive": False,
        "urgent": False,
        "kind": "message",
    }
    assert got.topic == push_topic(str(item.thread_id))
    assert (got.urgency, got.ttl) == ("normal", str(4 * 86_400))


async def test_a_20000_character_body_is_shortened_to_fit(
    push: PushService, channel: WebPushChannel, tmp_path: Path
) -> None:
    # Three-byte characters and an emoji make a cut in the middle of UTF-8 easy to hit.
    text = ("Kære forældre, 学校 🍎 " * 1000)[:20_000]
    payload, got = await delivered(push, channel, tmp_path, "far", body_html=f"<p>{text}</p>")
    assert len(got.plaintext) <= MAX_PAYLOAD_BYTES
    assert len(got.plaintext) > MAX_PAYLOAD_BYTES - 8  # shortened, not emptied
    body = payload["body"]
    assert body.endswith(ELLIPSIS)
    assert ("Anna Andersen: " + text).startswith(body[: -len(ELLIPSIS)])
    assert payload["title"] == "Tur i skoven på fredag"


async def test_a_sensitive_push_carries_no_subject_body_or_sender(
    push: PushService, channel: WebPushChannel, tmp_path: Path
) -> None:
    payload, got = await delivered(
        push,
        channel,
        tmp_path,
        "sensitive",
        sensitive=True,
        subject="HEMMELIGT-EMNE",
        body_html="<p>HEMMELIG-TEKST</p>",
        sender_name="HEMMELIG-AFSENDER",
    )
    assert "HEMMELIG" not in got.plaintext.decode("utf-8")
    assert payload["title"] == "Ny følsom besked"
    assert payload["body"] == "Åbn portalen for at læse den."
    assert payload["sensitive"] is True


async def test_urgent_push_is_high_urgency_short_lived_and_marked(
    push: PushService, channel: WebPushChannel, tmp_path: Path
) -> None:
    payload, got = await delivered(push, channel, tmp_path, "urgent", urgent=True, locale="en")
    assert (got.urgency, got.ttl) == ("high", "86400")
    assert payload["title"] == "[Urgent] Tur i skoven på fredag"
    assert payload["urgent"] is True


async def test_announcement_push_is_low_urgency(
    push: PushService, channel: WebPushChannel, tmp_path: Path
) -> None:
    payload, got = await delivered(
        push, channel, tmp_path, "ann", thread_kind="announcement", category="announcement"
    )
    assert got.urgency == "low"
    assert payload["kind"] == "announcement"


def test_envelope_goes_to_the_subscription_with_its_keys(tmp_path: Path) -> None:
    subscription = PushTarget(
        subscription_id=uuid.uuid4(), endpoint="https://push.example/abc", p256dh="P", auth="A"
    )
    envelope = renderer(plain_settings(tmp_path)).push(notice(), subscription)
    assert envelope.address == "https://push.example/abc"
    assert dict(envelope.keys) == {"p256dh": "P", "auth": "A"}


def test_preview_text_reads_like_text() -> None:
    html = "<p>Hej&nbsp;alle</p><ul><li>én</li><li>to &amp; tre</li></ul><p>Mvh<br>Anna</p>"
    assert preview_text(html) == "Hej alle én to & tre Mvh Anna"


def test_a_cut_never_separates_a_letter_from_its_accent_or_splits_an_emoji() -> None:
    accented = "e\u0301" * 50  # "é" as e + combining acute
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467" * 20  # ZWJ sequences
    for text in (accented, family):
        for limit in range(20, 120):
            fitted = json.loads(fit_payload({"body": text}, shrink=("body",), limit=limit))
            kept = fitted["body"].removesuffix(ELLIPSIS)
            assert text.startswith(kept)
            rest = text[len(kept) :]
            assert not rest or rest.startswith(text[:1]), (limit, kept, rest)


@settings(max_examples=200, deadline=None)
@given(
    body=st.text(max_size=3000),
    title=st.text(max_size=300),
    limit=st.integers(min_value=120, max_value=4000),
)
def test_fit_payload_always_fits_and_keeps_a_prefix(body: str, title: str, limit: int) -> None:
    fields = {"title": title, "body": body, "url": "https://besked.kommune.dk/threads/x"}
    text = fit_payload(fields, shrink=("body", "title"), limit=limit)
    assert len(text.encode("utf-8")) <= limit
    fitted = json.loads(text)
    assert fitted["url"] == fields["url"]
    for key in ("body", "title"):
        kept = fitted[key]
        if kept != fields[key]:
            assert fields[key].startswith(kept.removesuffix(ELLIPSIS).rstrip())
