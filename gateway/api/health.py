"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api.resources import Resources
from gateway.db import ping, replica_lag_seconds


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)


class Readiness(Health, omit_defaults=True):
    # How far the read replica is behind the primary; only shown with a replica.
    replica_lag_seconds: float | None = None


class HealthController(Controller):
    tags = ["operations"]  # noqa: RUF012 - Litestar reads a class attribute

    @get("/healthz", summary="The process is alive")
    async def healthz(self) -> Health:
        return Health(status="ok")

    @get(
        "/readyz",
        summary="The database and Redis are reachable",
        description="200 when both (and the read replica, where one is configured) answer "
        "within 2 s; 503 with the failing check otherwise. `replica_lag_seconds`: how far "
        "the replica is behind.",
        responses={503: ResponseSpec(data_container=Readiness, description="Not ready")},
    )
    async def readyz(self, resources: NamedDependency[Resources]) -> Response[Readiness]:
        checks = {"database": await _check_database(resources)}
        checks["redis"] = await _check_redis(resources)
        lag = None
        if resources.replica is not None:
            checks["replica"], lag = await _check_replica(resources.replica)
        ready = all(value == "ok" for value in checks.values())
        return Response(
            Readiness(
                status="ready" if ready else "not ready", checks=checks, replica_lag_seconds=lag
            ),
            status_code=200 if ready else 503,
            headers=None if ready else {"Retry-After": "5"},
        )


async def _check_database(resources: Resources) -> str:
    try:
        await asyncio.wait_for(ping(resources.engine), timeout=2)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


async def _check_replica(replica: AsyncEngine) -> tuple[str, float | None]:
    try:
        lag = await asyncio.wait_for(replica_lag_seconds(replica), timeout=2)
    except RuntimeError as exc:
        return str(exc), None
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}", None
    return "ok", round(lag, 3)


async def _check_redis(resources: Resources) -> str:
    if resources.redis is None:
        return "not configured: set BUDSTIKKE_REDIS_URL"
    try:
        await asyncio.wait_for(resources.redis.ping(), timeout=2)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"
