"""Per-caller rate limits in Redis, over the real app on both engines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import structlog
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api.app import create_app
from gateway.auth.apikeys import create_api_key
from gateway.auth.devtokens import issue_dev_token
from gateway.auth.ratelimit import Limit, RateLimiter
from gateway.config import Settings
from gateway.db import session_factory
from gateway.errors import LimitExceeded
from gateway.roster.demo import DemoSummary, write_demo_data
from gateway.roster.importer import import_oneroster

Client = AsyncTestClient[Litestar]
DEMO = "0999"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    folder = tmp_path_factory.mktemp("rate-demo")
    return folder, write_demo_data(folder, children=13, seed=5)


@pytest.fixture
async def summary(engine: AsyncEngine, demo: tuple[Path, DemoSummary]) -> DemoSummary:
    await import_oneroster(
        engine,
        demo[0],
        municipality_code=None,
        dry_run=False,
        max_file_bytes=1 << 30,
        default_time_zone="Europe/Copenhagen",
    )
    return demo[1]


def app_settings(make_settings: Any, database_url: str, redis_url: str, **limits: str) -> Settings:
    settings: Settings = make_settings(
        database_url=database_url, redis_url=redis_url, demo="true", **limits
    )
    return settings


def bearer(settings: Settings, subject: str) -> dict[str, str]:
    value = issue_dev_token(settings, subject=subject, municipality_code=DEMO)
    return {"Authorization": f"Bearer {value}"}


def limited(response: Any, limit: str) -> int:
    """The problem is a 429 naming ``limit``; its Retry-After in seconds."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["limit"] == limit
    assert limit in body["detail"]
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    return retry_after


async def test_a_caller_over_the_limit_gets_429_and_others_do_not(
    engine: AsyncEngine,
    make_settings: Any,
    database_url: str,
    redis_url: str,
    summary: DemoSummary,
) -> None:
    settings = app_settings(make_settings, database_url, redis_url, rate_limit_per_minute="3")
    teacher = bearer(settings, summary.teacher)
    guardian = bearer(settings, summary.guardian_two_children)
    async with AsyncTestClient(create_app(settings)) as client:
        for _ in range(3):
            assert (await client.get("/v1/me", headers=teacher)).status_code == 200
        retry_after = limited(
            await client.get("/v1/me", headers=teacher), "BUDSTIKKE_RATE_LIMIT_PER_MINUTE"
        )
        # 3 a minute refill one every 20 s: the answer says so, not "a minute".
        assert retry_after <= 20
        # Another person has a bucket of their own.
        for _ in range(3):
            assert (await client.get("/v1/me", headers=guardian)).status_code == 200
        limited(await client.get("/v1/me", headers=guardian), "BUDSTIKKE_RATE_LIMIT_PER_MINUTE")
        # Health checks are not counted.
        for _ in range(5):
            assert (await client.get("/healthz")).status_code == 200


async def test_writes_have_their_own_limit(
    engine: AsyncEngine,
    make_settings: Any,
    database_url: str,
    redis_url: str,
    summary: DemoSummary,
) -> None:
    async with session_factory(engine)() as session, session.begin():
        key = (
            await create_api_key(
                session, municipality_code=DEMO, name="sis", permissions=["roster", "send"]
            )
        ).key
    settings = app_settings(
        make_settings,
        database_url,
        redis_url,
        rate_limit_per_minute="10",
        rate_limit_writes_per_minute="2",
    )
    headers = {"Authorization": f"Bearer {key}"}
    item = {"source_id": "new-child", "kind": "child", "given_name": "Ny", "family_name": "Elev"}
    async with AsyncTestClient(create_app(settings)) as client:

        async def put() -> Any:
            return await client.put(
                f"/v1/roster/{DEMO}/people", json={"items": [item]}, headers=headers
            )

        for _ in range(2):
            assert (await put()).status_code == 200
        limited(await put(), "BUDSTIKKE_RATE_LIMIT_WRITES_PER_MINUTE")
        # Reads still pass: a refused write took nothing from the general bucket.
        acting = headers | {"Budstikke-On-Behalf-Of": summary.teacher}
        for _ in range(8):
            assert (await client.get("/v1/me", headers=acting)).status_code == 200
        limited(await client.get("/v1/me", headers=acting), "BUDSTIKKE_RATE_LIMIT_PER_MINUTE")


async def test_requests_without_valid_credentials_are_limited_by_address(
    engine: AsyncEngine,
    make_settings: Any,
    database_url: str,
    redis_url: str,
    summary: DemoSummary,
) -> None:
    redis = Redis.from_url(redis_url)
    try:
        # The test client always calls from one address; start that bucket empty.
        async for name in redis.scan_iter("budstikke:rate:*:ip:*"):
            await redis.delete(name)
    finally:
        await redis.aclose()
    settings = app_settings(make_settings, database_url, redis_url, rate_limit_per_minute="3")
    async with AsyncTestClient(create_app(settings)) as client:
        wrong = {"Authorization": "Bearer bsk_aaaaaaaa_not-a-real-secret"}
        for _ in range(3):
            assert (await client.get("/v1/me", headers=wrong)).status_code == 401
        limited(await client.get("/v1/me", headers=wrong), "BUDSTIKKE_RATE_LIMIT_PER_MINUTE")
        limited(await client.get("/v1/me"), "BUDSTIKKE_RATE_LIMIT_PER_MINUTE")
        # Someone with valid credentials from the same address is not held up.
        ok = await client.get("/v1/me", headers=bearer(settings, summary.teacher))
        assert ok.status_code == 200


async def test_when_redis_is_down_requests_go_through_with_a_warning(
    engine: AsyncEngine, make_settings: Any, database_url: str, summary: DemoSummary
) -> None:
    settings = app_settings(
        make_settings, database_url, "redis://127.0.0.1:1/0", rate_limit_per_minute="1"
    )
    with structlog.testing.capture_logs() as logs:
        async with AsyncTestClient(create_app(settings)) as client:
            for _ in range(3):
                response = await client.get("/v1/me", headers=bearer(settings, summary.teacher))
                assert response.status_code == 200, response.text
    warnings = [entry for entry in logs if "Redis unreachable" in entry["event"]]
    assert len(warnings) == 1  # once, not once per request
    assert warnings[0]["log_level"] == "warning"


async def test_the_bucket_refills_over_time(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    limiter = RateLimiter(
        redis,
        requests=Limit("REQUESTS", 120),  # one every 0.5 s, a burst of 120
        writes=Limit("WRITES", 600),
        namespace="budstikke:test-refill",
    )
    caller = f"person:{id(limiter)}"
    try:
        for _ in range(120):
            await limiter.hit(caller, method="GET")
        with pytest.raises(LimitExceeded) as refused:
            await limiter.hit(caller, method="GET")
        assert (refused.value.limit, refused.value.retry_after) == ("REQUESTS", 1)
        await asyncio.sleep(0.6)
        await limiter.hit(caller, method="GET")  # one more token has come back
        with pytest.raises(LimitExceeded):
            await limiter.hit(caller, method="POST")
    finally:
        async for name in redis.scan_iter("budstikke:test-refill:*"):
            await redis.delete(name)
        await redis.aclose()
