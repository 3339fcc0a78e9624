"""Admission control: past the limit a request is refused at once, and the slot frees."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from gateway.api.admission import AdmissionLimit, Gate


class Held:
    """An ASGI app whose requests stay in progress until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.entered += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _call(app: Any, path: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    await app({"type": "http", "path": path, "headers": []}, receive, send)
    return sent


async def test_past_the_limit_a_request_gets_503_with_retry_after() -> None:
    held = Held()
    gate = Gate(2)
    app = AdmissionLimit(held, gate)
    first = [asyncio.create_task(_call(app, "/v1/inbox/unread")) for _ in range(2)]
    await asyncio.sleep(0.01)
    assert held.entered == 2 and gate.in_flight == 2
    refused = await _call(app, "/v1/inbox/threads")
    assert refused[0]["status"] == 503
    headers = dict(refused[0]["headers"])
    assert headers[b"retry-after"] == b"1"
    assert headers[b"content-type"] == b"application/problem+json"
    problem = json.loads(refused[1]["body"])
    assert problem["status"] == 503 and problem["limit"] == "api_max_in_flight"
    # Live streams and probes are neither counted nor refused.
    stream = asyncio.create_task(_call(app, "/v1/events"))
    await asyncio.sleep(0.01)
    assert held.entered == 3 and gate.in_flight == 2
    held.release.set()
    answers = await asyncio.gather(*first, stream)
    assert [a[0]["status"] for a in answers] == [200, 200, 200]
    assert gate.in_flight == 0
    assert (await _call(app, "/v1/inbox/threads"))[0]["status"] == 200


async def test_zero_means_no_limit() -> None:
    held = Held()
    app = AdmissionLimit(held, Gate(0))
    calls = [asyncio.create_task(_call(app, "/v1/inbox/unread")) for _ in range(50)]
    await asyncio.sleep(0.01)
    assert held.entered == 50
    held.release.set()
    assert all(a[0]["status"] == 200 for a in await asyncio.gather(*calls))
