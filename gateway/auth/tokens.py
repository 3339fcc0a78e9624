"""Verify people's bearer tokens: JWTs signed by the portal's identity provider.

A token is accepted when its signature checks against a key from the configured JWKS
(RS256 or ES256 only), it has not expired (with a small leeway), and its ``iss`` and
``aud`` are the configured ones. The algorithm is taken from the *key*, never from the
token: a token whose header names another algorithm than its key's is refused before
any signature check, which rules out ``alg: none`` and the HS256-signed-with-the-
public-key confusion whatever the library would otherwise allow.

Keys are fetched from the JWKS URL and cached by ``kid`` for a configured time. A token
with an unknown ``kid`` triggers at most one fetch per :data:`MIN_REFRESH_SECONDS`
(the identity provider may have rotated keys; an attacker must not be able to make us
hammer it). When the provider cannot be reached, keys already fetched stay in use.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
import structlog
from jwt import PyJWK

from gateway.config import Settings
from gateway.errors import Unauthorized, Unavailable

ALGORITHMS = frozenset({"RS256", "ES256"})
_KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
# Longer than any identity provider's token; bounds the work a request can cause.
MAX_TOKEN_LENGTH = 8192
MIN_REFRESH_SECONDS = 10.0
_MAX_JWKS_BYTES = 1 << 20
_FETCH_TIMEOUT_S = 5.0

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ClaimNames:
    """Which claims carry the person, the municipality and the assurance level."""

    subject: str = "sub"
    municipality: str = "municipality"
    acr: str = "acr"

    @classmethod
    def of(cls, settings: Settings) -> ClaimNames:
        """The claim names a deployment configured."""
        return cls(
            subject=settings.auth_subject_claim,
            municipality=settings.auth_municipality_claim,
            acr=settings.auth_acr_claim,
        )


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says about its holder."""

    subject: str
    municipality: str | None
    acr: str | None
    # ``exp`` as POSIX seconds: how long a cache may hold the verdict (tokencache.py).
    expires_at: float | None = None


class KeySource(Protocol):
    """Where the verification key for a token's ``kid`` comes from."""

    async def key_for(self, kid: str | None) -> PyJWK: ...


class TokenVerifier:
    """Checks a token against keys, issuer, audience and expiry; returns its claims."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: int = 30,
        claims: ClaimNames | None = None,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._claims = claims or ClaimNames()

    async def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token; Unauthorized saying what is wrong otherwise."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise Unauthorized("malformed token (expected a signed JWT)") from exc
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise Unauthorized(
                f"token algorithm {algorithm!r} is not accepted (use RS256 or ES256)"
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthorized("malformed token: 'kid' must be a string")
        key = await self._keys.key_for(kid)
        if key.algorithm_name != algorithm:
            raise Unauthorized(
                f"the token says {algorithm} but its key {kid!r} is for {key.algorithm_name}"
            )
        payload = self._decode(token, key, algorithm)
        return TokenClaims(
            subject=self._subject(payload),
            municipality=_optional_text(payload, self._claims.municipality),
            acr=_optional_text(payload, self._claims.acr),
            expires_at=float(payload["exp"]),
        )

    def _decode(self, token: str, key: PyJWK, algorithm: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized("the token's issuer (iss) is not the configured one") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("the token's audience (aud) is not this gateway") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"the token has no {exc.claim!r} claim") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthorized("the token is not valid yet (nbf or iat in the future)") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthorized("the token's signature does not verify") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("invalid token") from exc
        return payload

    def _subject(self, payload: Mapping[str, Any]) -> str:
        name = self._claims.subject
        value = payload.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 255:
            raise Unauthorized(f"the token has no usable {name!r} claim")
        return value.strip()


def _optional_text(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    # Some providers send a level of assurance as a number (``"loa": 3``).
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or len(value) > 255:
        raise Unauthorized(f"the token's {name!r} claim must be a string")
    return value.strip() or None


def usable_key(data: Mapping[str, Any]) -> PyJWK | None:
    """A JWK we may verify signatures with, or ``None`` (other use, type or algorithm)."""
    if data.get("use") not in (None, "sig"):
        return None
    try:
        key = PyJWK(dict(data))
    except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError, ValueError):
        return None
    if key.algorithm_name not in ALGORITHMS or data.get("kty") != _KEY_TYPES[key.algorithm_name]:
        return None
    return key


class StaticKeys:
    """A fixed set of keys (the dev signing key, or keys a test made)."""

    def __init__(self, keys: Mapping[str, PyJWK]) -> None:
        self._keys = dict(keys)

    async def key_for(self, kid: str | None) -> PyJWK:
        return _match(self._keys, kid)


class JwksKeys:
    """Keys from a JWKS URL, cached by ``kid`` for ``ttl_seconds``."""

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float,
        fetch: Callable[[str], bytes] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._ttl = ttl_seconds
        self._fetch = fetch or _download
        self._clock = clock
        self._keys: dict[str, PyJWK] | None = None
        self._fetched_at = -float("inf")
        self._tried_at = -float("inf")
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None) -> PyJWK:
        now = self._clock()
        if (self._keys is None or now - self._fetched_at > self._ttl) and self._may_try(now):
            await self._refresh()
        if self._keys is None:
            raise Unavailable(
                "the identity provider's keys (BUDSTIKKE_AUTH_JWKS_URL) cannot be fetched; "
                "try again shortly",
                retry_after=int(MIN_REFRESH_SECONDS),
            )
        try:
            return _match(self._keys, kid)
        except Unauthorized:
            # A rotated key appears in the JWKS before tokens use it; fetch again, but
            # not for every token with a made-up kid.
            if not self._may_try(now):
                raise
        await self._refresh()
        return _match(self._keys, kid)

    def _may_try(self, now: float) -> bool:
        return now - self._tried_at >= MIN_REFRESH_SECONDS

    async def _refresh(self) -> None:
        async with self._lock:
            if not self._may_try(self._clock()):  # another request fetched while we waited
                return
            self._tried_at = self._clock()
            try:
                document = json.loads(await asyncio.to_thread(self._fetch, self._url))
                entries = document["keys"]
                if not isinstance(entries, list):
                    raise TypeError("'keys' is not a list")
            except Exception as exc:
                # Keys already fetched stay in use until the provider answers again.
                log.warning("JWKS fetch failed", url=self._url, error=repr(exc))
                return
            keys: dict[str, PyJWK] = {}
            for entry in entries:
                if isinstance(entry, dict) and (key := usable_key(entry)) is not None:
                    keys[str(entry.get("kid", ""))] = key
            if not keys:
                log.warning("JWKS has no usable RS256/ES256 signing key", url=self._url)
            self._keys = keys
            self._fetched_at = self._tried_at


def _match(keys: Mapping[str, PyJWK], kid: str | None) -> PyJWK:
    if kid is None:
        # Without a kid the choice is unambiguous only when there is one key.
        if len(keys) == 1:
            return next(iter(keys.values()))
        raise Unauthorized("the token names no signing key (kid)")
    found = keys.get(kid)
    if found is None:
        raise Unauthorized("the token is signed with an unknown key")
    return found


def _download(url: str) -> bytes:
    request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked in config
        url, headers={"Accept": "application/json", "User-Agent": "budstikke"}
    )
    with urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT_S) as response:  # noqa: S310
        body: bytes = response.read(_MAX_JWKS_BYTES + 1)
    if len(body) > _MAX_JWKS_BYTES:
        raise ValueError("the JWKS document is larger than 1 MiB")
    return body
