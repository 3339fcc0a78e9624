"""Admission control: at most so many requests in progress per API process.

Past its capacity an API process that takes every request answers none of them in
time: each waits behind hundreds of others in the one event loop, and so do the
commits' after-work (enqueueing the fan-out), so the workers idle while answers take
tens of seconds (the morning-peak benchmark measured a 202 p50 of 29 s at three times
capacity, and 1.8 s with at most 20 in flight). Beyond ``BUDSTIKKE_API_MAX_IN_FLIGHT``
a request is refused at once with 503 and ``Retry-After``, which a load balancer or a
portal retries, elsewhere or a second later. Live-event streams are long-lived and
cost nothing while idle; they and the health and metrics probes are not counted.
"""

from __future__ import annotations

import msgspec
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

from gateway.api.problems import PROBLEM_JSON

#: Paths that neither count nor are refused.
EXEMPT = frozenset({"/v1/events", "/healthz", "/readyz", "/metrics"})
RETRY_AFTER_SECONDS = 1

_REFUSAL = msgspec.json.encode(
    {
        "type": "https://budstikke.dk/problems/overloaded",
        "title": "Overloaded",
        "status": 503,
        "detail": "this server has as many requests in progress as it takes; retry shortly",
        "limit": "api_max_in_flight",
    }
)


class Gate:
    """One process's count of requests in progress, and its limit (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0


class AdmissionLimit:
    """ASGI middleware: refuse requests beyond the gate's limit.

    Litestar makes a middleware instance per route, so the count lives in the one
    :class:`Gate` of the app that every instance shares.
    """

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = self.gate
        if scope["type"] != ScopeType.HTTP or not gate.limit or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        if gate.in_flight >= gate.limit:
            await _refuse(send)
            return
        gate.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            gate.in_flight -= 1


async def _refuse(send: Send) -> None:
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            (b"content-length", str(len(_REFUSAL)).encode()),
        ],
    }
    body: HTTPResponseBodyEvent = {
        "type": "http.response.body",
        "body": _REFUSAL,
        "more_body": False,
    }
    await send(start)
    await send(body)
