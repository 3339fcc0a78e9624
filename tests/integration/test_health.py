from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.api.app import create_app


async def test_healthz_and_readyz_when_everything_answers(
    client: AsyncTestClient[Litestar],
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_readyz_says_which_service_is_missing(sqlite_url: str, make_settings: Any) -> None:
    settings = make_settings(database_url=sqlite_url, redis_url="redis://127.0.0.1:1/0")
    async with AsyncTestClient(create_app(settings)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable")


async def test_readyz_without_redis_configured(sqlite_url: str, make_settings: Any) -> None:
    async with AsyncTestClient(create_app(make_settings(database_url=sqlite_url))) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert "BUDSTIKKE_REDIS_URL" in response.json()["checks"]["redis"]


async def test_readyz_when_the_database_is_unreachable(redis_url: str, make_settings: Any) -> None:
    settings = make_settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none", redis_url=redis_url
    )
    async with AsyncTestClient(create_app(settings)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")


async def test_openapi_document_is_served(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Budstikke"
    assert "/readyz" in document["paths"]


async def test_unknown_path_is_a_problem_document(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


async def test_gateway_errors_have_readable_titles(client: AsyncTestClient[Litestar]) -> None:
    response = await client.put(
        "/v1/roster/0000/people", json={"items": []}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    body = response.json()
    assert body["title"] == "Unauthorized"
    assert body["type"] == "https://budstikke.dk/problems/unauthorized"
