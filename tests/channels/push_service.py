"""A real local RFC 8030 push service for the web push tests.

It listens on 127.0.0.1, checks every request's VAPID ``Authorization`` header (RFC 8292:
ES256 signature with the ``k=`` key, ``aud`` equal to its own origin, ``exp`` in the future
and at most 24 h ahead), decrypts the aes128gcm body (RFC 8291) with the subscriber's private
key using ``http_ece``, and records what arrived. Per subscription it can be told to answer
another status (404, 410, 413, 429 with Retry-After, 500, …) or to be slow.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscriber:
    """A browser's subscription: the endpoint and the keys only the browser holds."""

    endpoint: str
    path: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str | None = None  # the VAPID key it was subscribed with

    @property
    def keys(self) -> dict[str, str]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": _b64(point), "auth": _b64(self.auth_secret)}


@dataclass
class Received:
    """One push message as the service took it in."""

    path: str
    ttl: str | None
    urgency: str | None
    topic: str | None
    token: str
    claims: dict[str, Any]
    plaintext: bytes
    status: int  # what the service answered


@dataclass
class Answer:
    status: int = 201
    retry_after: str | None = None
    delay: float = 0.0


@dataclass
class PushService:
    """Start with :meth:`start`; ``origin`` is then ``http://127.0.0.1:<port>``."""

    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why requests were refused
    max_in_flight: int = 0
    default: Answer = field(default_factory=Answer)
    _answers: dict[str, Answer] = field(default_factory=dict)
    _subscribers: dict[str, Subscriber] = field(default_factory=dict)
    _in_flight: int = 0
    _runner: web.AppRunner | None = None
    origin: str = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.origin = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def subscribe(self, name: str, *, application_server_key: str | None = None) -> Subscriber:
        """A new subscription with fresh P-256 keys and a 16-byte auth secret."""
        path = f"/push/{name}"
        subscriber = Subscriber(
            endpoint=self.origin + path,
            path=path,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=os.urandom(16),
            application_server_key=application_server_key,
        )
        self._subscribers[path] = subscriber
        return subscriber

    def answer(
        self, subscriber: Subscriber, status: int, *, retry_after: str | None = None
    ) -> None:
        self._answers[subscriber.path] = Answer(status, retry_after)

    def slow(self, subscriber: Subscriber | None, delay: float) -> None:
        """Delay answers to one subscriber, or to all of them (``None``)."""
        if subscriber is None:
            self.default = Answer(self.default.status, self.default.retry_after, delay)
        else:
            current = self._answers.get(subscriber.path, Answer())
            self._answers[subscriber.path] = Answer(current.status, current.retry_after, delay)

    def tokens(self) -> set[str]:
        return {item.token for item in self.received}

    def _verify_vapid(self, header: str) -> tuple[str, dict[str, Any], str]:
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"Authorization scheme {scheme!r}, not vapid")
        params = dict(part.strip().split("=", 1) for part in rest.split(","))
        token, key_b64 = params["t"], params["k"]
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key_b64))
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=["ES256"],
            audience=self.origin,
            options={"require": ["aud", "exp", "sub"]},
        )
        if claims["exp"] > time.time() + 86_400:
            raise ValueError("exp is more than 24 hours ahead")
        if not str(claims["sub"]).startswith(("mailto:", "https://")):
            raise ValueError("sub is not a mailto: or https: contact")
        return token, claims, key_b64

    async def _handle(self, request: web.Request) -> web.Response:
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return await self._answer(request)
        finally:
            self._in_flight -= 1

    async def _answer(self, request: web.Request) -> web.Response:
        subscriber = self._subscribers.get(request.path)
        answer = self._answers.get(request.path, self.default)
        if answer.delay:
            await asyncio.sleep(answer.delay)
        try:
            token, claims, key = self._verify_vapid(request.headers.get("Authorization", ""))
        except (ValueError, KeyError, jwt.PyJWTError) as exc:
            self.refused.append(f"401 {exc}")
            return web.Response(status=401, text=str(exc))
        if subscriber is None:
            return web.Response(status=404)
        if subscriber.application_server_key not in (None, key):
            self.refused.append("403 VAPID key is not the one subscribed with")
            return web.Response(status=403)
        if request.headers.get("Content-Encoding") != "aes128gcm":
            self.refused.append("400 content-encoding")
            return web.Response(status=400)
        body = await request.read()
        plaintext = http_ece.decrypt(
            body,
            private_key=subscriber.private_key,
            auth_secret=subscriber.auth_secret,
            version="aes128gcm",
        )
        self.received.append(
            Received(
                path=request.path,
                ttl=request.headers.get("TTL"),
                urgency=request.headers.get("Urgency"),
                topic=request.headers.get("Topic"),
                token=token,
                claims=claims,
                plaintext=plaintext,
                status=answer.status,
            )
        )
        headers = {"Retry-After": answer.retry_after} if answer.retry_after else {}
        if answer.status == 201:
            headers["Location"] = f"{self.origin}/message/{len(self.received)}"
        return web.Response(status=answer.status, headers=headers)
