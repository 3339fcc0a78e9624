"""VAPID (RFC 8292): the gateway's push key pair and the signed ``Authorization`` header.

A push service learns who is sending from ``Authorization: vapid t=<JWT>, k=<public key>``.
The JWT (ES256) names the push service's origin (``aud``), an expiry (``exp``, at most 24 h
ahead) and a contact (``sub``). Signing costs ~0.1 ms, and every send to one origin can
carry the same header, so :class:`VapidSigner` signs once per origin and reuses the header
until it is near its expiry.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: How long a signed header is valid; RFC 8292 allows up to 24 h, push services prefer less.
TOKEN_LIFETIME_SECONDS = 12 * 3600
#: Sign anew this long before the old header expires, so no send carries a stale token.
RENEW_BEFORE_SECONDS = 3600


def b64url(data: bytes) -> str:
    """Unpadded base64url, the encoding Web Push uses for keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raise ValueError on bad input."""
    cleaned = text.strip()
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("is not base64url") from exc


def load_private_key(raw: str) -> ec.EllipticCurvePrivateKey:
    """Read a P-256 private key from PEM, or base64url of the raw 32-byte scalar or DER."""
    text = raw.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            data = b64url_decode(text)
            if len(data) == 32:
                key = ec.derive_private_key(int.from_bytes(data, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            "must be a P-256 private key: PEM, or base64url (see `budstikke vapid-keys`)"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("must be a P-256 (prime256v1) elliptic-curve key")
    return key


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as the browser's ``applicationServerKey`` wants it (65-byte point)."""
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


@dataclass(frozen=True)
class VapidKeyPair:
    """A new key pair in the forms an operator needs."""

    private_b64: str  # for BUDSTIKKE_VAPID_PRIVATE_KEY
    private_pem: str  # the same key, for tools that want PEM
    public_b64: str  # applicationServerKey for PushManager.subscribe()


def generate_key_pair() -> VapidKeyPair:
    """Make a fresh P-256 key pair for VAPID."""
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return VapidKeyPair(private_b64=b64url(scalar), private_pem=pem, public_b64=public_key_b64(key))


class VapidSigner:
    """Signs the VAPID header per push-service origin and caches it until near expiry."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        subject: str,
        *,
        lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
        renew_before_seconds: int = RENEW_BEFORE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if renew_before_seconds >= lifetime_seconds:
            raise ValueError("renew_before_seconds must be shorter than the lifetime")
        self._key = key
        self._subject = subject
        self._public = public_key_b64(key)
        self._lifetime = lifetime_seconds
        self._renew_before = renew_before_seconds
        self._clock = clock
        self._cache: dict[str, tuple[str, int]] = {}
        self.signatures = 0  # how many JWTs were signed (the cache's hit rate shows here)

    @property
    def public_key(self) -> str:
        return self._public

    def header(self, origin: str) -> str:
        """The ``Authorization`` value for a push service at ``origin`` (``scheme://host``)."""
        now = int(self._clock())
        cached = self._cache.get(origin)
        if cached is not None and cached[1] - self._renew_before > now:
            return cached[0]
        expires = now + self._lifetime
        token = jwt.encode(
            {"aud": origin, "exp": expires, "sub": self._subject}, self._key, algorithm="ES256"
        )
        self.signatures += 1
        value = f"vapid t={token}, k={self._public}"
        # No await between the lookup and this store, so concurrent sends sign only once.
        self._cache[origin] = (value, expires)
        return value
