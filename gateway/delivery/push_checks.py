"""What a browser's push subscription must look like before the gateway stores it.

The endpoint is where the workers POST: https, no credentials or fragment, and not an
address on a private network (the gateway must not be made to post into its own).
Plain http is allowed for loopback hosts only, where a local push service runs in
development and tests. The keys must be usable for RFC 8291 encryption: ``p256dh`` a
65-byte uncompressed point that lies on the P-256 curve, ``auth`` 16 bytes. Both are
accepted in base64url or standard base64, padded or not, and stored as unpadded
base64url.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from channels.vapid import b64url, b64url_decode
from gateway.delivery.subscription_schemas import PushKeys

_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_ENDPOINT_RULE = "the endpoint must be an https URL of a push service"
POINT_BYTES = 65
AUTH_BYTES = 16


@dataclass(frozen=True, slots=True)
class CheckedKeys:
    """The keys as they are stored: unpadded base64url."""

    p256dh: str
    auth: str


def origin_of(endpoint: str) -> str:
    """``scheme://host[:port]`` of an endpoint: what may be shown of it."""
    url = urlsplit(endpoint)
    return f"{url.scheme}://{url.netloc}"


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_loopback and not address.is_global


def check_endpoint(raw: str, errors: list[str]) -> None:
    """Add to ``errors`` what is wrong with an endpoint URL (nothing when it is fine)."""
    if any(char.isspace() or ord(char) < 0x20 for char in raw):
        errors.append(f"endpoint: {_ENDPOINT_RULE}, without spaces or control characters")
        return
    try:
        url = urlsplit(raw)
        url.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        errors.append(f"endpoint: is not a URL; {_ENDPOINT_RULE}")
        return
    host = (url.hostname or "").lower()
    if url.scheme not in {"https", "http"} or not host:
        errors.append(f"endpoint: {_ENDPOINT_RULE}")
    elif url.scheme == "http" and not _loopback(host):
        errors.append(f"endpoint: {_ENDPOINT_RULE} (http is allowed only on a loopback host)")
    elif url.username is not None or url.password is not None:
        errors.append("endpoint: must not carry a user name or password")
    elif url.fragment:
        errors.append("endpoint: must not have a #fragment")
    elif _private(host):
        errors.append("endpoint: must not point at a private, link-local or reserved address")


def _decoded(value: str, field: str, errors: list[str]) -> bytes | None:
    if not _BASE64.match(value):
        errors.append(f"{field}: is not base64url")
        return None
    try:
        return b64url_decode(value.replace("+", "-").replace("/", "_"))
    except ValueError:
        errors.append(f"{field}: is not base64url")
        return None


def check_keys(keys: PushKeys, errors: list[str]) -> CheckedKeys | None:
    """The keys in stored form, or ``None`` with the reasons added to ``errors``."""
    point = _decoded(keys.p256dh, "keys.p256dh", errors)
    if point is not None:
        if len(point) != POINT_BYTES or point[0] != 0x04:
            errors.append(
                f"keys.p256dh: must be a {POINT_BYTES}-byte uncompressed P-256 public key "
                f"(starting 0x04), not {len(point)} bytes"
            )
            point = None
        else:
            try:
                ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
            except ValueError:
                errors.append("keys.p256dh: is not a point on the P-256 curve")
                point = None
    secret = _decoded(keys.auth, "keys.auth", errors)
    if secret is not None and len(secret) != AUTH_BYTES:
        errors.append(f"keys.auth: must be {AUTH_BYTES} bytes, not {len(secret)}")
        secret = None
    if point is None or secret is None:
        return None
    return CheckedKeys(p256dh=b64url(point), auth=b64url(secret))
