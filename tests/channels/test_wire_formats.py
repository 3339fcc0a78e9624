"""The bytes the channels write themselves: aes128gcm push bodies and the MIME mail.

Both were written by hand for speed (issue 7), so each is checked here against an
independent reader: ``http_ece`` (what pywebpush uses) decrypts the push bodies, and the
standard library's strict ``email.policy.default`` parser reads the mail.
"""

from __future__ import annotations

import email
import email.policy
import os
import uuid
from email.message import EmailMessage
from pathlib import Path

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from channels.base import Envelope
from channels.email import EmailChannel
from channels.headers import encoded_words, fold
from channels.vapid import b64url
from channels.webpush import MAX_PAYLOAD_BYTES, RECORD_SIZE, encrypt
from gateway.config import load_settings


def _subscriber() -> tuple[ec.EllipticCurvePrivateKey, bytes, dict[str, str]]:
    key = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return key, auth, {"p256dh": b64url(point), "auth": b64url(auth)}


@pytest.mark.parametrize("size", [0, 1, 400, MAX_PAYLOAD_BYTES])
def test_push_bodies_decrypt_with_http_ece(size: int) -> None:
    key, auth, keys = _subscriber()
    payload = ("æ" * size).encode("utf-8")[:size]
    body = encrypt(keys, payload)
    assert int.from_bytes(body[16:20], "big") == RECORD_SIZE
    assert len(body) <= RECORD_SIZE + 86  # one record: it fits the header's record size
    plain = http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm")
    assert plain == payload


def test_every_push_body_has_its_own_salt_and_ephemeral_key() -> None:
    _, _, keys = _subscriber()
    first, second = encrypt(keys, b"x"), encrypt(keys, b"x")
    assert first[:16] != second[:16]  # salt
    assert first[21:86] != second[21:86]  # the sender's ephemeral public key


@pytest.mark.parametrize(
    "keys",
    [
        {"p256dh": b64url(b"\x04" + b"\x01" * 64), "auth": b64url(b"a" * 16)},  # not on the curve
        {"p256dh": "not base64 !", "auth": b64url(b"a" * 16)},
    ],
)
def test_bad_subscription_keys_raise_value_error(keys: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        encrypt(keys, b"x")


@pytest.mark.parametrize(
    "subject",
    [
        "Tur i skoven på fredag",
        "Forældremøde i 3.B",
        "æøå " * 40 + "slut",
        "ASCII only, with =?utf-8?q?lookalike?= inside",
        "two  spaces  inside",
    ],
)
def test_subjects_read_back_exactly(subject: str) -> None:
    header = fold("Subject", encoded_words(subject))
    assert header.isascii()
    assert all(len(line) <= 78 for line in header.split("\r\n"))
    parsed = email.message_from_bytes(
        (header + "\r\n\r\nbody").encode("ascii"), policy=email.policy.default
    )
    assert parsed["Subject"] == subject


def _channel(tmp_path: Path, sender: str) -> EmailChannel:
    return EmailChannel(
        load_settings(
            {
                "BUDSTIKKE_DATA_DIR": str(tmp_path),
                "BUDSTIKKE_SMTP_HOST": "127.0.0.1",
                "BUDSTIKKE_SMTP_FROM": sender,
            }
        )
    )


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_built_mail_reads_back_with_both_parts_and_no_defects(tmp_path: Path) -> None:
    channel = _channel(tmp_path, "Skolen på Åsen <no-reply@skole.example.dk>")
    text = "Kære forældre\n\nHusk madpakke. " + "Lang linje " * 30 + "\n.begins with a dot\n"
    envelope = Envelope(
        delivery_id=uuid.uuid4(),
        address="mor@example.dk",
        subject="Tur i skoven på fredag",
        text=text,
        html="<p>Kære forældre</p><p>Husk <b>madpakke</b>.</p>",
        headers={"References": " ".join(f"<m{n}@skole.example.dk>" for n in range(10))},
    )
    mail = channel.build(envelope)
    assert mail.recipient == "mor@example.dk"
    raw = mail.as_bytes()
    assert all(byte < 128 for byte in raw)  # 7-bit clean: DKIM survives any relay
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    parsed = _parse(raw)
    assert parsed["From"].addresses[0].display_name == "Skolen på Åsen"
    assert parsed["To"].addresses[0].addr_spec == "mor@example.dk"
    assert parsed["Subject"] == "Tur i skoven på fredag"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["References"].split() == [f"<m{n}@skole.example.dk>" for n in range(10)]
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n").rstrip("\n") == text.rstrip("\n")
    assert "<b>madpakke</b>" in html.get_content()
    assert not [part.defects for part in parsed.walk() if part.defects]


def test_a_text_only_mail_is_one_part(tmp_path: Path) -> None:
    channel = _channel(tmp_path, "Budstikke <no-reply@skole.example.dk>")
    envelope = Envelope(
        delivery_id=uuid.uuid4(), address="far@example.dk", subject="Hej", text="Kun tekst: øl"
    )
    parsed = _parse(channel.build(envelope).as_bytes())
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content().strip() == "Kun tekst: øl"
    assert parsed["Message-ID"] is not None
