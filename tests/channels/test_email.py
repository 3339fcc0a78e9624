"""The email channel against a real aiosmtpd server: what arrives, and how answers map."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from channels.base import Delivered, Envelope, Rejected, Retry
from channels.email import RETRY_JITTER_SECONDS, RETRY_SECONDS, EmailChannel
from channels.headers import (
    HeaderError,
    threading_headers,
    unsubscribe_headers,
    validate_headers,
)
from gateway.config import load_settings
from gateway.errors import ConfigError
from tests.channels.conftest import DROP, SmtpServer

THREAD = uuid.UUID("6b1f0a52-3f1e-4f3a-9a53-0c1f9b1e8c11")
DOMAIN = "skole.example.dk"
UNSUBSCRIBE = "https://budstikke.example.dk/v1/unsubscribe/tok123"


def envelope(address: str = "mor@example.dk", **changes: Any) -> Envelope:
    fields: dict[str, Any] = {
        "delivery_id": uuid.uuid4(),
        "address": address,
        "subject": "Ny besked fra 3.B: tur til skoven på fredag",
        "text": "Hej! Husk gummistøvler på fredag.",
        "html": "<p>Hej! Husk <b>gummistøvler</b> på fredag.</p>",
        **changes,
    }
    return Envelope(**fields)


def threaded(**changes: Any) -> Envelope:
    delivery_id = uuid.uuid4()
    headers = {
        **threading_headers(delivery_id, THREAD, DOMAIN, parents=[f"<earlier.1@{DOMAIN}>"]),
        **unsubscribe_headers(UNSUBSCRIBE, urgent=False),
    }
    return envelope(delivery_id=delivery_id, headers=headers, **changes)


async def test_a_mail_arrives_with_both_parts(
    email_channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    sent = envelope()
    assert await email_channel.send([sent]) == [Delivered(sent.delivery_id, detail="smtp 250")]
    [received] = smtp_server.received
    assert received.recipients == ["mor@example.dk"]
    assert received.sender == "no-reply@skole.example.dk"
    message = received.parsed()
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == sent.subject
    assert message["From"] == "Budstikke <no-reply@skole.example.dk>"
    assert message["To"] == "mor@example.dk"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == f"<{sent.delivery_id}@{DOMAIN}>"
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert plain.get_content().strip() == sent.text
    assert html.get_content().strip() == sent.html


async def test_text_only_envelope_is_a_plain_mail(
    email_channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    await email_channel.send([envelope(html=None)])
    message = smtp_server.received[0].parsed()
    assert message.get_content_type() == "text/plain"


async def test_threading_and_unsubscribe_headers_arrive_as_given(
    email_channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    sent = threaded()
    outcomes = await email_channel.send([sent])
    assert isinstance(outcomes[0], Delivered)
    message = smtp_server.received[0].parsed()
    root = f"<thread.{THREAD}@{DOMAIN}>"
    assert message["Message-ID"] == f"<{sent.delivery_id}@{DOMAIN}>"
    assert message["In-Reply-To"] == f"<earlier.1@{DOMAIN}>"
    assert message["References"].split() == [root, f"<earlier.1@{DOMAIN}>"]
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_urgent_mail_has_no_unsubscribe_headers(
    email_channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    delivery_id = uuid.uuid4()
    headers = {
        **threading_headers(delivery_id, THREAD, DOMAIN),
        **unsubscribe_headers(UNSUBSCRIBE, urgent=True),
    }
    await email_channel.send([envelope(delivery_id=delivery_id, headers=headers)])
    message = smtp_server.received[0].parsed()
    assert message["References"] == f"<thread.{THREAD}@{DOMAIN}>"
    assert "List-Unsubscribe" not in message
    assert "List-Unsubscribe-Post" not in message


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Hej\r\nBcc: alle@example.dk"},
        {"headers": {"In-Reply-To": "<a@b>\nBcc: alle@example.dk"}},
        {"headers": {"X-Thread\r\nBcc": "alle@example.dk"}},
        {"headers": {"Bcc": "alle@example.dk"}},
        {"headers": {"List-Unsubscribe": "<http://insecure.example.dk/u>"}},
        {"headers": {"Message-ID": "not-a-message-id"}},
    ],
)
async def test_unsafe_headers_are_rejected_and_never_sent(
    email_channel: EmailChannel, smtp_server: SmtpServer, changes: dict[str, Any]
) -> None:
    bad, good = envelope(**changes), envelope("far@example.dk")
    outcomes = await email_channel.send([bad, good])
    assert isinstance(outcomes[0], Rejected)
    assert outcomes[0].reason.startswith("invalid header")
    assert not outcomes[0].disable
    assert isinstance(outcomes[1], Delivered)
    assert [r.recipients for r in smtp_server.received] == [["far@example.dk"]]


@pytest.mark.parametrize("address", ["mor@example.dk\r\nRCPT TO:<x@y.dk>", "a@b@c.dk", "ingen"])
async def test_malformed_addresses_are_rejected_and_disabled(
    email_channel: EmailChannel, smtp_server: SmtpServer, address: str
) -> None:
    [outcome] = await email_channel.send([envelope(address)])
    assert outcome == Rejected(outcome.delivery_id, "invalid address", disable=True)
    assert smtp_server.received == []


@pytest.mark.parametrize("code", [421, 450, 451, 452])
async def test_temporary_recipient_failures_retry_after_about_a_minute(
    email_channel: EmailChannel, smtp_server: SmtpServer, code: int
) -> None:
    smtp_server.answer_rcpt("mor@example.dk", f"{code} 4.3.0 try again later")
    [outcome] = await email_channel.send([envelope()])
    assert isinstance(outcome, Retry)
    assert RETRY_SECONDS <= outcome.after_seconds <= RETRY_SECONDS + RETRY_JITTER_SECONDS
    assert str(code) in outcome.reason


async def test_retry_delays_are_jittered(
    email_channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    smtp_server.answer_rcpt("mor@example.dk", "451 4.3.0 busy")
    outcomes = await email_channel.send([envelope() for _ in range(6)])
    delays = {o.after_seconds for o in outcomes if isinstance(o, Retry)}
    assert len(delays) > 1


@pytest.mark.parametrize(("code", "disable"), [(550, True), (551, True), (553, True), (554, False)])
async def test_permanent_recipient_failures_reject(
    email_channel: EmailChannel, smtp_server: SmtpServer, code: int, disable: bool
) -> None:
    smtp_server.answer_rcpt("mor@example.dk", f"{code} 5.1.1 mailbox unavailable")
    [outcome] = await email_channel.send([envelope()])
    assert isinstance(outcome, Rejected)
    assert outcome.disable is disable
    assert str(code) in outcome.reason


async def test_a_550_to_data_rejects_without_disabling(
    email_channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    smtp_server.answer_data("mor@example.dk", "550 5.7.1 looks like spam")
    [outcome] = await email_channel.send([envelope()])
    assert isinstance(outcome, Rejected)
    assert not outcome.disable


async def test_a_refused_recipient_affects_only_its_envelope(
    email_channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    smtp_server.answer_rcpt("ukendt@example.dk", "550 5.1.1 unknown user")
    batch = [envelope("mor@example.dk"), envelope("ukendt@example.dk"), envelope("far@example.dk")]
    outcomes = await email_channel.send(batch)
    assert [type(o) for o in outcomes] == [Delivered, Rejected, Delivered]
    assert sorted(r.recipients[0] for r in smtp_server.received) == [
        "far@example.dk",
        "mor@example.dk",
    ]


async def test_a_connection_dropped_mid_data_retries_and_the_pool_recovers(
    email_channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    smtp_server.answer_data("mor@example.dk", DROP)
    [outcome] = await email_channel.send([envelope()])
    assert isinstance(outcome, Retry)
    assert "connection" in outcome.reason
    outcomes = await email_channel.send([envelope("far@example.dk"), envelope("bror@example.dk")])
    assert [type(o) for o in outcomes] == [Delivered, Delivered]
    assert len(smtp_server.received) == 2


async def test_connections_are_reused_within_the_pool_size(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    channel = EmailChannel(smtp_server.settings(tmp_path, smtp_pool_size="3"))
    try:
        first = await channel.send([envelope(f"barn{i}@example.dk") for i in range(12)])
        second = await channel.send([envelope(f"voksen{i}@example.dk") for i in range(12)])
    finally:
        await channel.close()
    assert all(isinstance(o, Delivered) for o in [*first, *second])
    assert len(smtp_server.received) == 24
    assert 1 <= smtp_server.connections <= 3
    assert channel.pool.opened == smtp_server.connections


async def test_concurrency_is_bounded_by_the_pool(smtp_server: SmtpServer, tmp_path: Path) -> None:
    channel = EmailChannel(smtp_server.settings(tmp_path, smtp_pool_size="1"))
    try:
        outcomes = await asyncio.gather(
            channel.send([envelope(f"a{i}@example.dk") for i in range(5)]),
            channel.send([envelope(f"b{i}@example.dk") for i in range(5)]),
        )
    finally:
        await channel.close()
    assert all(isinstance(o, Delivered) for batch in outcomes for o in batch)
    assert smtp_server.connections == 1


async def test_an_unreachable_server_means_retry(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "BUDSTIKKE_DATA_DIR": str(tmp_path),
            "BUDSTIKKE_SMTP_HOST": "127.0.0.1",
            "BUDSTIKKE_SMTP_PORT": "1",
            "BUDSTIKKE_SMTP_TLS": "none",
            "BUDSTIKKE_SMTP_FROM": "no-reply@example.dk",
            "BUDSTIKKE_SMTP_TIMEOUT_SECONDS": "2",
        }
    )
    channel = EmailChannel(settings)
    [outcome] = await channel.send([envelope()])
    await channel.close()
    assert isinstance(outcome, Retry)
    assert "connection" in outcome.reason


def test_not_configured_says_which_setting_is_missing(tmp_path: Path) -> None:
    bare = {"BUDSTIKKE_DATA_DIR": str(tmp_path)}
    assert "BUDSTIKKE_SMTP_HOST" in (EmailChannel(load_settings(bare)).configured() or "")
    no_from = EmailChannel(load_settings({**bare, "BUDSTIKKE_SMTP_HOST": "smtp.example.dk"}))
    assert "BUDSTIKKE_SMTP_FROM" in (no_from.configured() or "")


async def test_an_unconfigured_channel_answers_retry_without_connecting(tmp_path: Path) -> None:
    channel = EmailChannel(load_settings({"BUDSTIKKE_DATA_DIR": str(tmp_path)}))
    [outcome] = await channel.send([envelope()])
    assert isinstance(outcome, Retry)
    assert "BUDSTIKKE_SMTP_HOST" in outcome.reason
    assert channel.pool.opened == 0


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"BUDSTIKKE_SMTP_TLS": "ssl"}, "BUDSTIKKE_SMTP_TLS"),
        ({"BUDSTIKKE_SMTP_FROM": "Budstikke <no-reply>"}, "mailbox"),
        ({"BUDSTIKKE_SMTP_FROM": "a@b.dk\r\nBcc: c@d.dk"}, "mailbox"),
        ({"BUDSTIKKE_SMTP_POOL_SIZE": "0"}, "between 1 and 64"),
        ({"BUDSTIKKE_SMTP_HOST": "smtp://mail.example.dk"}, "host name"),
        ({"BUDSTIKKE_SMTP_USERNAME": "budstikke"}, "SMTP_PASSWORD"),
    ],
)
def test_bad_smtp_settings_stop_startup(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"BUDSTIKKE_DATA_DIR": str(tmp_path), **environ})


def test_smtp_defaults(tmp_path: Path) -> None:
    settings = load_settings({"BUDSTIKKE_DATA_DIR": str(tmp_path)})
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_tls) == (None, 587, "starttls")
    assert (settings.smtp_pool_size, settings.smtp_timeout_seconds) == (4, 30)


def test_threading_headers_keep_the_root_and_bound_references() -> None:
    parents = [f"<p{i}@{DOMAIN}>" for i in range(30)]
    headers = threading_headers(uuid.uuid4(), THREAD, DOMAIN, parents)
    references = headers["References"].split()
    assert references[0] == f"<thread.{THREAD}@{DOMAIN}>"
    assert references[-1] == headers["In-Reply-To"] == f"<p29@{DOMAIN}>"
    assert len(references) == 10


def test_unsubscribe_post_is_added_when_only_the_url_is_given() -> None:
    headers = validate_headers({"list-unsubscribe": f"<{UNSUBSCRIBE}>"})
    assert headers == {
        "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_unsubscribe_needs_https() -> None:
    with pytest.raises(HeaderError, match="https"):
        unsubscribe_headers("http://budstikke.example.dk/u", urgent=False)
