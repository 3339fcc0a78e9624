"""Reply addresses (``r-<token>@<mail domain>``), the mail domain, and what a recipient is.

The token is a :class:`~gateway.auth.links.LinkSigner` token of purpose ``REPLY`` naming
one delivery; lower-case base32, so mail systems that change the case of an address's
local part do not break it. Any other address at the mail domain is where bounces come
back (the notifications' envelope sender); an address elsewhere is not ours.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from email.utils import parseaddr

import msgspec

from gateway.auth.links import LinkSigner, Purpose, secret_key
from gateway.config import Settings

REPLY_PREFIX = "r-"
MAX_ADDRESS = 254  # RFC 5321 path limit, less the angle brackets


class AddressKind(enum.StrEnum):
    REPLY = "reply"  # r-<token>@<domain>
    BOUNCE = "bounce"  # any other address at the domain: where DSNs come back
    FOREIGN = "foreign"  # not ours: we are no relay


class Recipient(msgspec.Struct, frozen=True):
    """An envelope recipient, classified."""

    kind: AddressKind
    address: str
    token: str = ""


def mail_domain(settings: Settings) -> str | None:
    """The domain of reply addresses and Message-IDs: the setting, else the sender's domain."""
    if settings.mail_domain:
        return settings.mail_domain
    sender = parseaddr(settings.smtp_from or "")[1]
    return sender.rpartition("@")[2].lower() or None


def reply_address(settings: Settings, delivery_id: uuid.UUID, expires: dt.date) -> str:
    """The ``Reply-To`` address of one delivery's notification mail."""
    domain = mail_domain(settings)
    if domain is None:
        raise ValueError("no mail domain: set BUDSTIKKE_MAIL_DOMAIN or BUDSTIKKE_SMTP_FROM")
    token = LinkSigner(secret_key(settings)).issue_ids(Purpose.REPLY, (delivery_id,), expires)
    return f"{REPLY_PREFIX}{token}@{domain}"


def classify(address: str, domain: str | None) -> Recipient:
    """Whether an envelope recipient is a reply address, our bounce address, or not ours."""
    cleaned = address.strip().strip("<>").lower()
    local, at, host = cleaned.rpartition("@")
    if not at or not local or domain is None or host != domain or len(cleaned) > MAX_ADDRESS:
        return Recipient(AddressKind.FOREIGN, cleaned)
    if local.startswith(REPLY_PREFIX):
        return Recipient(AddressKind.REPLY, cleaned, local.removeprefix(REPLY_PREFIX))
    return Recipient(AddressKind.BOUNCE, cleaned)
