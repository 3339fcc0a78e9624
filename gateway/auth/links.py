"""Signed, expiring tokens for links and addresses that work without a login.

Reply-by-email addresses, one-click unsubscribe links and answer links carry a token
made here: a purpose letter, a payload of ids, an expiry day and an HMAC-SHA256 tag
(truncated to 80 bits), encoded as lower-case base32 so it survives mail systems that
change the case of an address's local part. The key is ``BUDSTIKKE_SECRET_KEY`` or,
when unset, a random key kept in the data folder.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import secrets
import uuid

from gateway.auth.keyfile import read_or_create
from gateway.config import Settings
from gateway.errors import LinkExpired, NotFound

KEY_FILE = "secret.key"
TAG_BYTES = 10
EPOCH = dt.date(2020, 1, 1)


class Purpose(enum.StrEnum):
    REPLY = "r"
    UNSUBSCRIBE = "u"
    ANSWER = "a"


def secret_key(settings: Settings) -> bytes:
    """The signing key: from the settings, else made once in the data folder."""
    if settings.secret_key is not None:
        return settings.secret_key.encode()
    return read_or_create(settings.data_dir / KEY_FILE, lambda: secrets.token_bytes(32))


class LinkSigner:
    """Makes and checks link tokens for one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def issue(self, purpose: Purpose, payload: bytes, expires: dt.date) -> str:
        """A token for ``payload`` that stops working after the day ``expires``."""
        day = (expires - EPOCH).days.to_bytes(2, "big")
        body = purpose.value.encode() + payload + day
        raw = payload + day + self._tag(body)
        return base64.b32encode(raw).decode().rstrip("=").lower()

    def read(self, purpose: Purpose, token: str, today: dt.date) -> bytes:
        """The payload; NotFound for a forged or mangled token, LinkExpired for an old one."""
        text = token.strip().upper()
        try:
            raw = base64.b32decode(text + "=" * (-len(text) % 8))
        except ValueError:
            raise NotFound("this link is not valid") from None
        if len(raw) <= TAG_BYTES + 2:
            raise NotFound("this link is not valid")
        payload, day, tag = (
            raw[: -TAG_BYTES - 2],
            raw[-TAG_BYTES - 2 : -TAG_BYTES],
            raw[-TAG_BYTES:],
        )
        if not hmac.compare_digest(tag, self._tag(purpose.value.encode() + payload + day)):
            raise NotFound("this link is not valid")
        if EPOCH + dt.timedelta(days=int.from_bytes(day, "big")) < today:
            raise LinkExpired("this link has expired")
        return payload

    def issue_ids(self, purpose: Purpose, ids: tuple[uuid.UUID, ...], expires: dt.date) -> str:
        """A token carrying one or more UUIDs."""
        return self.issue(purpose, b"".join(i.bytes for i in ids), expires)

    def read_ids(self, purpose: Purpose, token: str, today: dt.date) -> tuple[uuid.UUID, ...]:
        """The UUIDs of a token made by :meth:`issue_ids`."""
        payload = self.read(purpose, token, today)
        if len(payload) % 16:
            raise NotFound("this link is not valid")
        return tuple(uuid.UUID(bytes=payload[i : i + 16]) for i in range(0, len(payload), 16))

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:TAG_BYTES]
