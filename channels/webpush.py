"""The web push channel: encrypt (RFC 8291), sign (RFC 8292) and POST (RFC 8030).

Each envelope's payload is encrypted for its subscription (:func:`encrypt`: aes128gcm by
``http_ece``, the library pywebpush encrypts with, called directly). That costs ~0.13 ms
of CPU; each send encrypts just before its own POST, so the loop never stalls for more
than one message.
(A thread pool was tried and cost more than it saved: the work holds the GIL, and the
hand-offs and wake-ups took longer than the encryption.) pywebpush's ``webpush_async``
also signs a new VAPID JWT on every call, so the POST is made here on one shared
``aiohttp.ClientSession`` with the header from :class:`~channels.vapid.VapidSigner`,
signed once per push-service origin.

Sends to one push service (origin) are bounded by ``BUDSTIKKE_PUSH_CONCURRENCY``; each
origin has its own bound, so a slow service does not hold up another one. Each origin
also has a circuit breaker (:mod:`channels.breaker`): after a run of timeouts, refused
connections or 5xx, pushes to it answer Retry at once, without a request, until the
cool-down is over and one probe has gone through.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import ClassVar
from urllib.parse import urlsplit

import aiohttp
import http_ece
from cryptography.hazmat.primitives.asymmetric import ec

from channels.base import ChannelName, Delivered, Envelope, Outcome, Rejected, Retry
from channels.breaker import Breaker
from channels.vapid import VapidSigner, b64url, b64url_decode, load_private_key
from gateway.config import Settings
from gateway.errors import ConfigError

#: The largest plaintext one aes128gcm record of 4,096 bytes holds (RFC 8291 §4).
MAX_PAYLOAD_BYTES = 3993
#: Push services keep a message at most about four weeks; longer TTLs are clamped.
MAX_TTL_SECONDS = 28 * 86_400
#: When a 429 names no Retry-After.
DEFAULT_RATE_LIMIT_SECONDS = 60.0
#: Base delay for 5xx, timeouts and connection errors; the worker grows it per attempt.
RETRY_BASE_SECONDS = 30.0
#: The record size the body declares (RFC 8188 §2.1); one record holds any payload here.
RECORD_SIZE = 4096
_CURVE = ec.SECP256R1()
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def push_topic(topic: str) -> str:
    """A ``Topic`` header value: base64url characters only, at most 32 (RFC 8030 §5.4)."""
    if _TOPIC.fullmatch(topic):
        return topic
    # Stable, so every message of one thread still replaces the previous one.
    return b64url(hashlib.sha256(topic.encode("utf-8")).digest())[:32]


def push_origin(endpoint: str) -> str | None:
    """``scheme://host[:port]`` of a subscription endpoint, or None if it may not be used."""
    try:
        url = urlsplit(endpoint)
        host = url.hostname
        url.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if not host:
        return None
    # Push services are HTTPS; plain HTTP only to a push service on this machine (tests).
    if url.scheme != "https" and not (url.scheme == "http" and host in _LOOPBACK):
        return None
    return f"{url.scheme}://{url.netloc.lower()}"


def jittered(base: float) -> float:
    """``base`` seconds ± 50 %, so retries of one chunk do not arrive together."""
    return base * (0.5 + random.random())  # noqa: S311 - jitter, not a secret


def retry_after_seconds(value: str | None, default: float) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return default
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return default
    import datetime as dt  # noqa: PLC0415 - only for the rare HTTP-date form

    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def outcome_for_status(envelope: Envelope, status: int, retry_after: str | None) -> Outcome:
    """Map a push service's HTTP answer to an outcome (RFC 8030 §5, RFC 8292 §4)."""
    delivery_id = envelope.delivery_id
    if status in {201, 202}:
        return Delivered(delivery_id, detail=f"webpush {status}")
    if status in {404, 410}:
        return Rejected(delivery_id, f"webpush {status}: subscription gone", disable=True)
    if status in {401, 403}:
        return Rejected(
            delivery_id,
            f"webpush {status}: VAPID key refused (key rotation?)",
            disable=True,
        )
    if status == 413:
        return Rejected(delivery_id, "webpush 413: payload too large")
    if status == 429:
        after = retry_after_seconds(retry_after, DEFAULT_RATE_LIMIT_SECONDS)
        return Retry(delivery_id, after, "webpush 429: rate limited")
    if status >= 500:
        after = jittered(RETRY_BASE_SECONDS)
        if retry_after:
            after = max(after, retry_after_seconds(retry_after, after))
        return Retry(delivery_id, after, f"webpush {status}: push service error")
    # Any other 4xx is a request the service will never take as it is.
    return Rejected(delivery_id, f"webpush {status}: refused")


@dataclass(frozen=True)
class _Ready:
    """An envelope that passed the checks, with what sending it needs."""

    envelope: Envelope
    origin: str
    payload: bytes


def encrypt(keys: Mapping[str, str], payload: bytes) -> bytes:
    """The aes128gcm body of one push message for a subscription (RFC 8291, RFC 8188).

    ``http_ece`` (pywebpush's own encryption) called directly, with a fresh ECDH key
    pair and salt per message as RFC 8291 requires: pywebpush's ``WebPusher`` around
    it parsed the subscription and re-encoded keys on every call (~175 µs against
    ~130 µs). Raises ValueError when ``p256dh`` is no P-256 point or ``auth`` no base64url.
    """
    receiver = b64url_decode(keys["p256dh"])
    ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, receiver)  # ValueError if not
    body: bytes = http_ece.encrypt(
        payload,
        salt=os.urandom(16),
        private_key=ec.generate_private_key(_CURVE),
        dh=receiver,
        auth_secret=b64url_decode(keys["auth"]),
        rs=RECORD_SIZE,
        version="aes128gcm",
    )
    return body


class WebPushChannel:
    """Web push to browsers' push services; see the module docstring."""

    name: ClassVar[ChannelName] = "webpush"

    def __init__(
        self,
        settings: Settings,
        *,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._settings = settings
        self._signer: VapidSigner | None = None
        if settings.vapid_private_key is not None and settings.vapid_subject is not None:
            self._signer = VapidSigner(
                load_private_key(settings.vapid_private_key), settings.vapid_subject
            )
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=settings.push_timeout_seconds)
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._breakers: dict[str, Breaker] = {}

    @property
    def signer(self) -> VapidSigner | None:
        """The VAPID signer, or None when the channel is not configured."""
        return self._signer

    def configured(self) -> str | None:
        if self._settings.vapid_private_key is None:
            return "web push is off: BUDSTIKKE_VAPID_PRIVATE_KEY is not set"
        if self._settings.vapid_subject is None:
            return "web push is off: BUDSTIKKE_VAPID_SUBJECT is not set"
        return None

    async def send(self, batch: Sequence[Envelope]) -> Sequence[Outcome]:
        """Send every envelope concurrently (bounded per origin); outcomes keep the order."""
        if self._signer is None:
            raise ConfigError(self.configured() or "web push is not configured")
        return await asyncio.gather(*(self._send_one(envelope) for envelope in batch))

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
            self._session = None

    def _check(self, envelope: Envelope) -> _Ready | Rejected:
        origin = push_origin(envelope.address)
        if origin is None:
            return Rejected(
                envelope.delivery_id, "webpush: endpoint is not an https:// URL", disable=True
            )
        if not envelope.keys.get("p256dh") or not envelope.keys.get("auth"):
            return Rejected(
                envelope.delivery_id, "webpush: subscription has no p256dh/auth keys", disable=True
            )
        payload = envelope.text.encode("utf-8")
        if len(payload) > MAX_PAYLOAD_BYTES:
            return Rejected(
                envelope.delivery_id,
                f"payload too large: {len(payload)} bytes, at most {MAX_PAYLOAD_BYTES}",
            )
        return _Ready(envelope, origin, payload)

    def _limit(self, origin: str) -> asyncio.Semaphore:
        limit = self._limits.get(origin)
        if limit is None:
            limit = self._limits[origin] = asyncio.Semaphore(self._settings.push_concurrency)
        return limit

    def breaker(self, origin: str) -> Breaker:
        """The circuit breaker of one push-service origin."""
        found = self._breakers.get(origin)
        if found is None:
            found = self._breakers[origin] = Breaker()
        return found

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # Made on first send, inside the running loop, never at construction.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=0, limit_per_host=self._settings.push_concurrency
                )
            )
        return self._session

    def _headers(self, ready: _Ready) -> dict[str, str]:
        assert self._signer is not None
        envelope = ready.envelope
        headers = {
            "Authorization": self._signer.header(ready.origin),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(max(0, min(envelope.ttl_seconds, MAX_TTL_SECONDS))),
            "Urgency": envelope.urgency,
        }
        if envelope.topic:
            headers["Topic"] = push_topic(envelope.topic)
        return headers

    async def _send_one(self, envelope: Envelope) -> Outcome:
        ready = self._check(envelope)
        if isinstance(ready, Rejected):
            return ready
        breaker = self.breaker(ready.origin)
        async with self._limit(ready.origin):
            try:
                # Once a slot is free, so a batch's encryption spreads out between its
                # POSTs instead of stalling the loop for the whole batch at once.
                body = encrypt(envelope.keys, ready.payload)
            except ValueError as exc:
                # A p256dh that is no P-256 point, or an auth secret that is no base64url.
                reason = f"webpush: bad subscription keys ({exc})"
                return Rejected(envelope.delivery_id, reason, disable=True)
            # Asked after the wait for a slot: the breaker may have opened meanwhile.
            wait = breaker.wait()
            if wait is not None:
                reason = f"webpush: {ready.origin} is failing, not tried for {wait:.0f} s"
                return Retry(envelope.delivery_id, max(wait, RETRY_BASE_SECONDS), reason)
            try:
                async with self._client().post(
                    envelope.address, data=body, headers=self._headers(ready), timeout=self._timeout
                ) as response:
                    await response.read()  # release the connection for reuse
                    if response.status >= 500:
                        breaker.failed()
                    else:
                        breaker.succeeded()
                    return outcome_for_status(
                        envelope, response.status, response.headers.get("Retry-After")
                    )
            except TimeoutError:
                reason = f"webpush: no answer within {self._settings.push_timeout_seconds} s"
            except (aiohttp.ClientError, OSError) as exc:
                reason = f"webpush: {type(exc).__name__}"
        breaker.failed()
        return Retry(envelope.delivery_id, jittered(RETRY_BASE_SECONDS), reason)
