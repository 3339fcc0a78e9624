"""Bad input at the edges: malformed or deeply nested JSON, bodies over the limit, and
the login-free endpoints (unsubscribe and consent answer links) hammered from one address.
Each gets a clear 4xx problem that says what to fix; none gets a 500."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from gateway.api.app import create_app
from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture


def problem(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["title"]
    return body


async def test_malformed_json_is_a_problem_not_a_500(world: World) -> None:
    w = world
    headers = {**w.headers(w.summary.teacher), "content-type": "application/json"}
    for raw in (b"{", b'{"subject": "x",}', b"\xff\xfe", b"[]", b'"just a string"', b"null"):
        response = await w.client.post("/v1/messages", content=raw, headers=headers)
        problem(response, 400, 422)


async def test_deeply_nested_json_is_refused_without_a_500(world: World) -> None:
    w = world
    headers = {**w.headers(w.summary.teacher), "content-type": "application/json"}
    for depth in (100, 10_000):
        nested = b"[" * depth + b"]" * depth
        body = b'{"subject": "x", "body": "y", "audience": ' + nested + b"}"
        sent = problem(await w.client.post("/v1/messages", content=body, headers=headers), 400, 422)
        deep = b'{"a":' * depth + b"1" + b"}" * depth
        put = problem(
            await w.client.put("/v1/me/preferences", content=deep, headers=headers), 400, 422
        )
        if depth > 1000:  # deeper than the decoder goes: the problem names the limit
            assert sent.get("limit") == put.get("limit") == "json_depth"


async def test_a_body_over_the_limit_is_413_naming_it(world: World) -> None:
    w = world
    headers = {**w.headers(w.summary.teacher), "content-type": "application/json"}
    limit = w.settings.max_body_bytes
    huge = b'{"subject": "x", "body": "' + b"a" * (limit + 1) + b'"}'
    response = await w.client.post("/v1/messages", content=huge, headers=headers)
    assert response.status_code == 413, response.text[:300]


async def test_login_free_links_are_throttled_by_address(world: World, make_settings: Any) -> None:
    w = world
    redis = Redis.from_url(w.settings.redis_url or "")
    try:
        async for name in redis.scan_iter("budstikke:rate:*:ip:*"):
            await redis.delete(name)
    finally:
        await redis.aclose()
    settings = make_settings(
        demo="true",
        database_url=w.settings.database_url,
        redis_url=w.settings.redis_url or "",
        rate_limit_per_minute="3",
    )
    async with AsyncTestClient(create_app(settings)) as client:
        for path in ("/v1/unsubscribe/not-a-token", "/v1/consents/answer/not-a-token"):
            statuses = [(await client.get(path)).status_code for _ in range(4)]
            assert statuses[-1] == 429, (path, statuses)
            assert all(status in (400, 404, 410, 422, 429) for status in statuses), statuses
