"""The email channel: one multipart text + HTML mail per envelope over pooled SMTP connections.

SMTP answers become outcomes: ``250`` → Delivered; ``4xx`` and lost connections or
timeouts → Retry (about a minute, with jitter); ``5xx`` → Rejected, and for 550/551/553 to
``RCPT`` (the mailbox does not exist) the address is disabled. Each envelope is its own
SMTP transaction with one recipient, so a refused recipient never affects another
envelope, and no recipient ever sees another's address.

Headers come from the envelope (see :mod:`channels.headers`) and are checked before
anything is sent; an envelope with a CR/LF in a header value is Rejected, never sent.

Text parts are quoted-printable, so every mail is 7-bit clean: a relay that would
otherwise re-encode 8-bit mail for a next hop without 8BITMIME cannot break a DKIM
signature. With ``BUDSTIKKE_DKIM_PRIVATE_KEY_FILE`` set, each mail is flattened, signed
(:mod:`channels.dkim`, in a worker thread) and sent as exactly the bytes that were signed.
"""

from __future__ import annotations

import asyncio
import binascii
import random
import re
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.utils import format_datetime, formataddr, parseaddr
from typing import ClassVar

import aiosmtplib
import structlog

from channels.base import ChannelName, Delivered, Envelope, Outcome, Rejected, Retry
from channels.dkim import DkimSigner
from channels.headers import (
    HeaderError,
    check_text,
    encoded_words,
    fold,
    message_id,
    validate_headers,
)
from channels.smtp_pool import PoolClosed, SmtpPool
from gateway.config import Settings, SmtpTls

log = structlog.get_logger(__name__)

RETRY_SECONDS = 60.0
RETRY_JITTER_SECONDS = 30.0
# RCPT answers that mean the mailbox does not exist (RFC 5321 section 4.2.3). 554 and a 550
# to DATA are usually policy (spam, size), not the address, so they do not disable it.
DEAD_MAILBOX_CODES = frozenset({550, 551, 553})
_jitter = random.SystemRandom()


_LINE_ENDS = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Mail:
    """One built message: its only recipient and the exact bytes that go out."""

    recipient: str
    data: bytes

    def as_bytes(self) -> bytes:
        return self.data


def _quoted_printable(text: str) -> bytes:
    """The text as UTF-8 quoted-printable with CRLF line ends (7-bit, lines ≤ 76)."""
    return binascii.b2a_qp(_LINE_ENDS.sub("\r\n", text).encode("utf-8"), istext=True)


def _part(subtype: str, text: str) -> bytes:
    head = (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    return head.encode("ascii") + _quoted_printable(text)


class MessageRefused(Exception):
    """The message cannot be built from the envelope; ``reason`` goes into Rejected."""

    def __init__(self, reason: str, *, disable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.disable = disable


class EmailChannel:
    """Sends notification mail through the configured SMTP server."""

    name: ClassVar[ChannelName] = "email"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._from = settings.smtp_from or ""
        self._sender = parseaddr(self._from)[1]
        if settings.mail_domain:
            # Bounces (DSNs) go to the envelope sender: send them to the inbound listener.
            self._sender = f"bounces@{settings.mail_domain}"
        self._domain = self._sender.rpartition("@")[2]
        # The same on every mail: a display name in RFC 2047 words when it is not ASCII.
        name, address = parseaddr(self._from)
        self._from_header = fold("From", formataddr((name, address), charset="utf-8"))
        self._pool = SmtpPool(self._client, settings.smtp_pool_size)
        self._dkim = DkimSigner.from_settings(settings)
        self._closed = False

    @property
    def dkim(self) -> DkimSigner | None:
        """The DKIM signer, or None when mail goes out unsigned."""
        return self._dkim

    @property
    def pool(self) -> SmtpPool:
        """The connection pool (exposed for metrics)."""
        return self._pool

    def configured(self) -> str | None:
        """``None`` when an SMTP host and a sender are set, else what is missing."""
        if not self._settings.smtp_host:
            return "email channel off: BUDSTIKKE_SMTP_HOST is not set"
        if not self._sender:
            return "email channel off: BUDSTIKKE_SMTP_FROM is not set"
        return None

    def _client(self) -> aiosmtplib.SMTP:
        settings = self._settings
        tls = settings.smtp_tls
        return aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
            use_tls=tls is SmtpTls.TLS,
            start_tls=tls is SmtpTls.STARTTLS,
            tls_context=ssl.create_default_context() if tls is not SmtpTls.NONE else None,
        )

    async def send(self, batch: Sequence[Envelope]) -> Sequence[Outcome]:
        """Send every envelope concurrently (bounded by the pool); one outcome each, in order."""
        reason = self.configured()
        if reason is not None or self._closed:
            why = reason or "email channel closed"
            return [_retry(envelope, why) for envelope in batch]
        return await asyncio.gather(*(self._send_one(envelope) for envelope in batch))

    async def _send_one(self, envelope: Envelope) -> Outcome:
        try:
            message = self.build(envelope)
        except MessageRefused as exc:
            return Rejected(envelope.delivery_id, exc.reason, disable=exc.disable)
        recipient = message.recipient
        try:
            data = message.data
            if self._dkim is not None:
                # Signed before taking a connection, which is not held while signing.
                data = await asyncio.to_thread(self._dkim.sign, data)
            async with self._pool.connection(recipient.rpartition("@")[2]) as client:
                await client.sendmail(self._sender, [recipient], data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return _answer(envelope, refused.code, refused.message, rcpt=True)
        except aiosmtplib.SMTPSenderRefused as exc:
            # Our own sender address was refused: a setup problem, not this recipient's.
            return _retry(envelope, f"smtp sender refused {exc.code} {exc.message}")
        except aiosmtplib.SMTPAuthenticationError as exc:
            return _retry(envelope, f"smtp login failed {exc.code}")
        except aiosmtplib.SMTPResponseException as exc:
            return _answer(envelope, exc.code, exc.message, rcpt=False)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return _retry(envelope, f"smtp connection failed: {type(exc).__name__}")
        except PoolClosed:
            return _retry(envelope, "email channel closed")
        except Exception:  # a bug must not cost the rest of the batch its outcomes
            log.exception("email_send_failed", delivery_id=str(envelope.delivery_id))
            return _retry(envelope, "unexpected error while sending")
        return Delivered(envelope.delivery_id, detail="smtp 250")

    def build(self, envelope: Envelope) -> Mail:
        """The MIME message for one envelope; raise MessageRefused when it would be unsafe.

        Written out directly rather than through ``email.message.EmailMessage``: the
        standard library parses and re-folds every header it is given (and makes a new
        class per header lookup), which cost some 2 ms of CPU per mail — more than
        rendering and sending it. Every value was checked first (no CR/LF/NUL, at most
        998 characters), so only folding and RFC 2047 encoding remain to do.
        """
        address = _recipient(envelope.address).addr_spec
        try:
            check_text("Subject", envelope.subject)
            extra = validate_headers(envelope.headers)
        except HeaderError as exc:
            raise MessageRefused(str(exc)) from exc
        # Stable per delivery, so a retried send can be recognised as the same mail.
        mail_id = extra.pop("Message-ID", message_id(envelope.delivery_id, self._domain))
        lines = [
            self._from_header,
            f"To: {address}",
            fold("Subject", encoded_words(envelope.subject)),
            f"Date: {format_datetime(datetime.now(UTC))}",
            f"Message-ID: {mail_id}",
            "Auto-Submitted: auto-generated",  # RFC 3834: no vacation replies
            *(fold(name, encoded_words(value)) for name, value in extra.items()),
            "MIME-Version: 1.0",
        ]
        if envelope.html is None:
            head = "\r\n".join(lines).encode("ascii") + b"\r\n"
            return Mail(address, head + _part("plain", envelope.text))
        # "=_" never occurs in quoted-printable text, so no part can contain the boundary.
        boundary = f"=_{secrets.token_hex(12)}"
        lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        head = "\r\n".join(lines).encode("ascii") + b"\r\n\r\n"
        separator = f"\r\n--{boundary}\r\n".encode("ascii")
        return Mail(
            address,
            head
            + separator[2:]
            + _part("plain", envelope.text)
            + separator
            + _part("html", envelope.html)
            + f"\r\n--{boundary}--\r\n".encode("ascii"),
        )

    async def close(self) -> None:
        """Close pooled connections; safe to call more than once."""
        self._closed = True
        await self._pool.close()


def _recipient(raw: str) -> Address:
    if any(char in raw for char in "\r\n\0,;<>") or raw.count("@") != 1:
        raise MessageRefused("invalid address", disable=True)
    local, _, domain = raw.strip().rpartition("@")
    try:
        # An internationalised domain goes out as its ASCII (punycode) form, which every
        # relay takes, rather than needing SMTPUTF8.
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
        address = Address(username=local, domain=ascii_domain)
    except (ValueError, IndexError, UnicodeError) as exc:
        raise MessageRefused("invalid address", disable=True) from exc
    if not local or "." not in domain or not local.isascii():
        # SMTPUTF8 local parts are not supported by every relay; refuse rather than guess.
        raise MessageRefused("invalid address", disable=True)
    return address


def _answer(envelope: Envelope, code: int, text: str, *, rcpt: bool) -> Outcome:
    reason = f"smtp {code} {text}".strip()[:300]
    if 400 <= code < 500:
        return _retry(envelope, reason)
    if 500 <= code < 600:
        disable = rcpt and code in DEAD_MAILBOX_CODES
        return Rejected(envelope.delivery_id, reason, disable=disable)
    return _retry(envelope, f"unexpected smtp answer: {reason}")


def _retry(envelope: Envelope, reason: str) -> Retry:
    after = RETRY_SECONDS + _jitter.uniform(0, RETRY_JITTER_SECONDS)
    return Retry(envelope.delivery_id, after_seconds=after, reason=reason)
