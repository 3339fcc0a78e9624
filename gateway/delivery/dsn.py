"""Delivery status notifications (RFC 3464): what a bounce says, and which delivery it is about.

A DSN is ``multipart/report; report-type=delivery-status``: a human-readable part, a
``message/delivery-status`` part (one block of per-message fields, then one block per
recipient: ``Final-Recipient``, ``Action``, ``Status``, ``Diagnostic-Code``) and, usually,
the original's headers (``text/rfc822-headers``) or the whole original
(``message/rfc822``). Our notification mails carry ``Message-ID: <{delivery_id}@{domain}>``,
so the original's Message-ID names the delivery; ``Original-Envelope-Id`` is read too, for
relays that return only the envelope id.

Everything here is pure: bytes or a parsed message in, plain values out.
"""

from __future__ import annotations

import re
import uuid
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import parseaddr

import msgspec

# RFC 3463 enhanced status codes: class.subject.detail (Exchange uses three-digit details).
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MESSAGE_ID = re.compile(r"<([^<>@\s]+)@([^<>@\s]+)>")
MAX_RECIPIENTS = 100  # a report about more is cut: ours have one recipient per mail
MAX_DIAGNOSTIC = 200


class RecipientStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What the report says about one recipient."""

    final_recipient: str | None  # the address the reporting MTA tried
    original_recipient: str | None
    action: str  # failed | delayed | delivered | relayed | expanded (lower case)
    status: str  # e.g. "5.1.1"
    diagnostic: str | None = None  # the remote server's answer, if given

    @property
    def permanent(self) -> bool:
        """A hard bounce: the address will not take mail (5.x.x)."""
        return self.action == "failed" and self.status.startswith("5.")

    @property
    def temporary(self) -> bool:
        """The relay gave up for now, for a reason that may pass (4.x.x)."""
        return self.action == "failed" and self.status.startswith("4.")

    @property
    def reason(self) -> str:
        """A short reason for the delivery record: status and the remote answer."""
        text = f"dsn {self.status}"
        if self.diagnostic:
            text = f"{text} {self.diagnostic}"
        return text[:MAX_DIAGNOSTIC]


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed delivery status notification."""

    reporting_mta: str | None
    envelope_id: str | None  # Original-Envelope-Id (ENVID)
    original_message_id: str | None  # from the returned headers, ``<…@…>``
    recipients: tuple[RecipientStatus, ...]


def parse_bytes(data: bytes) -> EmailMessage:
    """A mail as a message object (the modern API, headers decoded)."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def is_report(message: Message) -> bool:
    """Whether ``message`` is an RFC 3464 delivery status notification."""
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).lower() == "delivery-status"
    )


def parse(message: Message) -> Report | None:
    """The report in ``message``; None when it is not a DSN or has no recipient block."""
    if not is_report(message):
        return None
    status_part: Message | None = None
    original: Message | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status" and status_part is None:
            status_part = part
        elif kind in ("text/rfc822-headers", "message/rfc822") and original is None:
            original = _original_headers(part)
    if status_part is None:
        return None
    blocks = _blocks(status_part)
    if len(blocks) < 2:
        return None
    head, *per_recipient = blocks
    recipients = tuple(
        status
        for block in per_recipient[:MAX_RECIPIENTS]
        if (status := _recipient(block)) is not None
    )
    if not recipients:
        return None
    return Report(
        reporting_mta=_typed_value(head.get("Reporting-MTA")),
        envelope_id=_clean(head.get("Original-Envelope-Id")),
        # Gmail also names the original in the per-message block.
        original_message_id=_first_message_id(original)
        or _first_message_id(head, "X-Original-Message-ID"),
        recipients=recipients,
    )


def delivery_id(report: Report, domain: str) -> uuid.UUID | None:
    """The delivery the report is about: ``<{uuid}@{domain}>`` of the original, or its ENVID."""
    for candidate in (report.original_message_id, report.envelope_id):
        value = (candidate or "").strip()
        found = _MESSAGE_ID.fullmatch(value)
        if found is not None:
            if found.group(2).lower() != domain.lower():
                continue  # not a mail we sent under this domain
            value = found.group(1)
        try:
            return uuid.UUID(value)
        except ValueError:
            continue
    return None


def _original_headers(part: Message) -> Message | None:
    """The returned original's header block, from either kind of part."""
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        return None
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return None
    text = raw.decode(part.get_content_charset() or "utf-8", errors="replace")
    return HeaderParser(policy=policy.default).parsestr(text, headersonly=True)


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    # Some relays send the part base64-encoded, which the parser leaves as text.
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return []
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    parser = HeaderParser(policy=policy.default)
    return [parser.parsestr(chunk) for chunk in re.split(r"\n\s*\n", text) if chunk.strip()]


def _recipient(block: Message) -> RecipientStatus | None:
    action = (_clean(block.get("Action")) or "").lower().split(" ", 1)[0]
    final = _address(block.get("Final-Recipient"))
    if not action and final is None:
        return None
    diagnostic = _typed_value(block.get("Diagnostic-Code"))
    status = _status(_clean(block.get("Status"))) or _status(diagnostic)
    if status is None:
        # RFC 3464 requires Status; without it, the action alone says which class it is.
        status = {"failed": "5.0.0", "delayed": "4.0.0"}.get(action, "2.0.0")
    return RecipientStatus(
        final_recipient=final,
        original_recipient=_address(block.get("Original-Recipient")),
        action=action or "failed",
        status=status,
        diagnostic=" ".join(diagnostic.split())[:MAX_DIAGNOSTIC] if diagnostic else None,
    )


def _status(text: str | None) -> str | None:
    if not text:
        return None
    found = _STATUS.search(text)
    return ".".join(found.groups()) if found else None


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _typed_value(value: object) -> str | None:
    """The value of an ``address-type; value`` field (``rfc822; a@b``, ``smtp; 550 …``)."""
    text = _clean(value)
    if text is None:
        return None
    kind, semicolon, rest = text.partition(";")
    return (rest.strip() if semicolon else kind) or None


def _address(value: object) -> str | None:
    text = _typed_value(value)
    if text is None:
        return None
    address = parseaddr(text)[1] or text
    return address.lower() if "@" in address else None


def _first_message_id(headers: Message | None, field: str = "Message-ID") -> str | None:
    if headers is None:
        return None
    value = _clean(headers.get(field))
    if value is None:
        return None
    found = _MESSAGE_ID.search(value)
    return found.group(0) if found else None
