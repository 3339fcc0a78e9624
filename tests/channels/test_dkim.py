"""DKIM: mail signed by the email channel verifies after it went through a real SMTP server."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from channels.base import Delivered, Envelope
from channels.dkim import SIGNED_HEADERS, DkimSigner
from channels.email import EmailChannel
from gateway.config import Settings
from gateway.errors import ConfigError
from tests.channels.conftest import SmtpServer
from tests.channels.notices import notice, renderer

SELECTOR = "budstikke2025"
DOMAIN = "skole.example.dk"  # the domain of the test server's BUDSTIKKE_SMTP_FROM


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture
def settings(smtp_server: SmtpServer, tmp_path: Path, key: rsa.RSAPrivateKey) -> Settings:
    path = tmp_path / "dkim.pem"
    path.write_bytes(pem(key))
    return smtp_server.settings(
        tmp_path,
        dkim_private_key_file=str(path),
        dkim_selector=SELECTOR,
        public_url="https://besked.kommune.dk",
    )


@pytest.fixture
async def channel(settings: Settings) -> AsyncIterator[EmailChannel]:
    adapter = EmailChannel(settings)
    yield adapter
    await adapter.close()


def dns(record: str) -> Callable[..., bytes | None]:
    """A resolver that knows one TXT record: the selector's, as a receiver would look it up."""
    wanted = f"{SELECTOR}._domainkey.{DOMAIN}".encode()

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record.encode() if name.rstrip(b".") == wanted else None

    return lookup


async def send(channel: EmailChannel, smtp_server: SmtpServer, envelope: Envelope) -> bytes:
    [outcome] = await channel.send([envelope])
    assert isinstance(outcome, Delivered), outcome
    return smtp_server.received[-1].raw


async def test_a_rendered_mail_verifies_at_the_receiver(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    assert channel.dkim is not None
    envelope = renderer(settings).email(notice(), "mor@example.dk")
    raw = await send(channel, smtp_server, envelope)
    assert raw.startswith(b"DKIM-Signature: ")
    checker = dkim.DKIM(raw)
    assert checker.verify(dnsfunc=dns(channel.dkim.dns_record()))
    fields = checker.signature_fields
    assert fields[b"d"] == DOMAIN.encode() and fields[b"s"] == SELECTOR.encode()
    assert fields[b"c"] == b"relaxed/relaxed" and fields[b"a"] == b"rsa-sha256"
    assert list(checker.include_headers) == [name.lower() for name in SIGNED_HEADERS]
    # The mail is still what was rendered: both parts, threading, one-click unsubscribe.
    message = smtp_server.received[-1].parsed()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Reply-To"] == envelope.headers["Reply-To"]
    assert message.get_body(preferencelist=("html",)) is not None


async def test_a_changed_subject_or_an_added_reply_to_breaks_the_signature(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    assert channel.dkim is not None
    record = channel.dkim.dns_record()
    envelope = renderer(settings).email(notice(thread_kind="announcement"), "mor@example.dk")
    raw = await send(channel, smtp_server, envelope)
    assert dkim.verify(raw, dnsfunc=dns(record))
    assert not dkim.verify(raw.replace(b"Subject: Tur", b"Subject: Fup"), dnsfunc=dns(record))
    # Announcements carry no Reply-To; the signature covers its absence.
    head, body = raw.split(b"\r\n\r\n", 1)
    added = head + b"\r\nReply-To: angriber@evil.example" + b"\r\n\r\n" + body
    assert not dkim.verify(added, dnsfunc=dns(record))


async def test_another_key_in_dns_does_not_verify(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    raw = await send(channel, smtp_server, renderer(settings).email(notice(), "mor@example.dk"))
    other = DkimSigner(pem(rsa.generate_private_key(65537, 2048)), SELECTOR, DOMAIN)
    assert not dkim.verify(raw, dnsfunc=dns(other.dns_record()))


async def test_non_ascii_text_and_domains_survive_signing(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    assert channel.dkim is not None
    envelope = Envelope(
        delivery_id=uuid.uuid4(),
        address="mor@børnehuset.dk",
        subject="Æbler og pærer 🍐",
        text="Hej Åse — husk æbler.",
        html="<p>Hej Åse — husk æbler.</p>",
    )
    raw = await send(channel, smtp_server, envelope)
    assert raw.isascii()  # 7-bit clean: no relay re-encodes it and breaks the signature
    assert dkim.verify(raw, dnsfunc=dns(channel.dkim.dns_record()))
    assert smtp_server.received[-1].recipients == ["mor@xn--brnehuset-l8a.dk"]
    message = smtp_server.received[-1].parsed()
    assert message["Subject"] == "Æbler og pærer 🍐"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content().strip() == "Hej Åse — husk æbler."


async def test_unsigned_when_not_configured(smtp_server: SmtpServer, tmp_path: Path) -> None:
    adapter = EmailChannel(smtp_server.settings(tmp_path))
    try:
        assert adapter.dkim is None
        raw = await send(
            adapter,
            smtp_server,
            renderer(smtp_server.settings(tmp_path)).email(notice(), "x@example.dk"),
        )
        assert b"DKIM-Signature" not in raw
    finally:
        await adapter.close()


def test_the_dns_record_is_the_public_key(key: rsa.RSAPrivateKey) -> None:
    signer = DkimSigner(pem(key), SELECTOR, DOMAIN)
    assert signer.record_name == f"{SELECTOR}._domainkey.{DOMAIN}"
    record = signer.dns_record()
    assert record.startswith("v=DKIM1; k=rsa; p=")
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert base64.b64decode(record.split("p=", 1)[1]) == der


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read the key file"),
        (b"not a key", "not an unencrypted PEM private key"),
        ("ec", "needs an RSA key"),
    ],
)
def test_a_bad_key_file_stops_startup_naming_the_variable(
    smtp_server: SmtpServer, tmp_path: Path, content: bytes | str | None, reason: str
) -> None:
    path = tmp_path / "dkim.pem"
    if content == "ec":
        path.write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))
    elif isinstance(content, bytes):
        path.write_bytes(content)
    settings = smtp_server.settings(
        tmp_path, dkim_private_key_file=str(path), dkim_selector=SELECTOR
    )
    with pytest.raises(ConfigError, match=f"BUDSTIKKE_DKIM_PRIVATE_KEY_FILE=.*{reason}"):
        EmailChannel(settings)
