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
import random
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import ClassVar

import aiosmtplib
import structlog

from channels.base import ChannelName, Delivered, Envelope, Outcome, Rejected, Retry
from channels.dkim import DkimSigner
from channels.headers import HeaderError, check_text, message_id, validate_headers
from channels.smtp_pool import PoolClosed, SmtpPool
from gateway.config import Settings, SmtpTls

log = structlog.get_logger(__name__)

RETRY_SECONDS = 60.0
RETRY_JITTER_SECONDS = 30.0
# RCPT answers that mean the mailbox does not exist (RFC 5321 section 4.2.3). 554 and a 550
# to DATA are usually policy (spam, size), not the address, so they do not disable it.
DEAD_MAILBOX_CODES = frozenset({550, 551, 553})
_jitter = random.SystemRandom()


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
        recipient = message["To"].addresses[0].addr_spec
        try:
            signed = None
            if self._dkim is not None:
                # Signed before taking a connection, which is not held while signing.
                signed = await asyncio.to_thread(self._dkim.sign, message.as_bytes())
            async with self._pool.connection(recipient.rpartition("@")[2]) as client:
                if signed is None:
                    await client.send_message(message, sender=self._sender, recipients=[recipient])
                else:
                    await client.sendmail(self._sender, [recipient], signed)
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

    def build(self, envelope: Envelope) -> EmailMessage:
        """The MIME message for one envelope; raise MessageRefused when it would be unsafe."""
        address = _recipient(envelope.address)
        try:
            check_text("Subject", envelope.subject)
            extra = validate_headers(envelope.headers)
        except HeaderError as exc:
            raise MessageRefused(str(exc)) from exc
        message = EmailMessage(policy=SMTP)
        message["From"] = self._from
        message["To"] = address
        message["Subject"] = envelope.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        # Stable per delivery, so a retried send can be recognised as the same mail.
        message["Message-ID"] = extra.pop(
            "Message-ID", message_id(envelope.delivery_id, self._domain)
        )
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        for name, value in extra.items():
            message[name] = value
        message.set_content(envelope.text, cte="quoted-printable")
        if envelope.html is not None:
            message.add_alternative(envelope.html, subtype="html", cte="quoted-printable")
        return message

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
