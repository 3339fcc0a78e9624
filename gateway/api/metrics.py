"""``GET /metrics``: the delivery pipeline's state for Prometheus (docs/metrics.md)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter

from gateway import metrics
from gateway.api.problems import PROBLEM_JSON, Problem
from gateway.api.resources import Resources
from gateway.config import Settings
from gateway.orm import utcnow


class MetricsController(Controller):
    tags = ["operations"]  # noqa: RUF012 - Litestar reads a class attribute

    @get(
        "/metrics",
        summary="Prometheus metrics",
        description="Deliveries by channel and state, the outbox backlog and its age, "
        "webhook events queued and the job queue's depth, read at scrape time. With "
        "`BUDSTIKKE_METRICS_TOKEN` set, it needs `Authorization: Bearer <token>`.",
        media_type=metrics.CONTENT_TYPE,
        responses={
            401: ResponseSpec(
                data_container=Problem,
                description="`BUDSTIKKE_METRICS_TOKEN` is set and was not sent.",
                media_type=PROBLEM_JSON,
            ),
            422: ResponseSpec(
                data_container=Problem,
                description="The `Authorization` header is malformed (e.g. too long).",
                media_type=PROBLEM_JSON,
            ),
        },
    )
    async def scrape(
        self,
        resources: NamedDependency[Resources],
        settings: NamedDependency[Settings],
        authorization: Annotated[
            str | None, HeaderParameter(name="Authorization", max_length=1024)
        ] = None,
    ) -> Response[bytes]:
        metrics.check_token(settings, authorization)
        async with resources.sessions() as session:
            state = await metrics.read_state(
                session, resources.redis, queue_name=settings.queue_name, now=utcnow()
            )
        body = metrics.render_state(state, queue_name=settings.queue_name)
        return Response(body, media_type=metrics.CONTENT_TYPE)
