"""Webhook endpoints for systems (API keys with the ``report`` permission).

Events are signed per Standard Webhooks; see docs/webhooks.md. The secret is in the
answer to create and rotate-secret only.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import InternalServerException
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import requires
from gateway.api.problems import internal_error, problem_response, problem_spec
from gateway.auth.principals import Permission, SystemPrincipal
from gateway.config import Settings
from gateway.orm import utcnow
from gateway.webhooks import endpoints
from gateway.webhooks.schemas import (
    WebhookCreate,
    WebhookCreated,
    WebhookDetail,
    WebhookList,
    WebhookRead,
    WebhookSecret,
)

Session = NamedDependency[AsyncSession]
Key = NamedDependency[SystemPrincipal]


ERRORS = {
    401: problem_spec("No valid API key (`Authorization: Bearer bsk_…`)."),
    403: problem_spec("The key lacks the `report` permission."),
    404: problem_spec("No such endpoint (or institution) for this key."),
    413: problem_spec("The municipality has 20 endpoints already."),
    422: problem_spec(
        "The body does not match the schema, an event type is unknown (the known ones "
        "are listed), or the URL is refused (not https, or a non-public address)."
    ),
}


def _body_error(request: Request[Any, Any, Any], error: InternalServerException) -> Response[Any]:
    """422 for a body field that shares its name with a dependency (``events``).

    Litestar files a validation error under the field's name, and a name that is also an
    app dependency (``events`` is the live-events one) counts as the server's fault:
    500. The cause tells the two apart: a msgspec error about the body is the client's.
    """
    cause = error.__cause__
    if isinstance(cause, msgspec.ValidationError) and "at `$.data" in str(cause):
        detail = str(cause).replace("`$.data.", "`$.").replace("`$.data`", "`$`")
        return problem_response(
            422, "Invalid input", "the body does not match the schema", errors=[detail]
        )
    return internal_error(request, error)


class WebhooksController(Controller):
    path = "/v1/webhooks"
    tags = ["webhooks"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [requires(Permission.REPORT)]  # noqa: RUF012
    security = [{"apiKey": []}]  # noqa: RUF012
    exception_handlers = {InternalServerException: _body_error}  # noqa: RUF012

    @post(
        "/",
        summary="Add a webhook endpoint",
        description="Events: `message.created`, `message.read`, `consent.answered`, "
        "`delivery.failed`. The answer carries the signing secret (`whsec_…`), shown "
        "only this once. A key scoped to institutions must set `institution_id`.",
        status_code=201,
        responses=ERRORS,
    )
    async def create(
        self,
        data: JSONBody[WebhookCreate],
        principal: Key,
        session: Session,
        settings: NamedDependency[Settings],
    ) -> WebhookCreated:
        return await endpoints.create_endpoint(
            session, principal, data, settings=settings, now=utcnow()
        )

    @get("/", summary="List webhook endpoints", description="Without secrets.", responses=ERRORS)
    async def list_all(self, principal: Key, session: Session) -> WebhookList:
        return WebhookList(items=await endpoints.list_endpoints(session, principal))

    @get(
        "/{endpoint_id:uuid}",
        summary="One webhook endpoint and its recent events",
        description="Whether it is enabled, its failures in a row, why it was disabled, "
        "and the last events' state and answer.",
        responses=ERRORS,
    )
    async def read(
        self, endpoint_id: FromPath[uuid.UUID], principal: Key, session: Session
    ) -> WebhookDetail:
        return await endpoints.get_endpoint(session, principal, endpoint_id)

    @delete(
        "/{endpoint_id:uuid}",
        summary="Remove a webhook endpoint",
        description="Its queued events are dropped.",
        status_code=204,
        responses=ERRORS,
    )
    async def remove(
        self, endpoint_id: FromPath[uuid.UUID], principal: Key, session: Session
    ) -> None:
        await endpoints.delete_endpoint(session, principal, endpoint_id)

    @post(
        "/{endpoint_id:uuid}/enable",
        summary="Enable a webhook endpoint again",
        description="After it was disabled for failing; resets the failure count. The URL "
        "is checked again. Events from the time it was off are not sent.",
        status_code=200,
        responses=ERRORS,
    )
    async def enable(
        self,
        endpoint_id: FromPath[uuid.UUID],
        principal: Key,
        session: Session,
        settings: NamedDependency[Settings],
    ) -> WebhookRead:
        return await endpoints.enable_endpoint(
            session, principal, endpoint_id, settings=settings, now=utcnow()
        )

    @post(
        "/{endpoint_id:uuid}/rotate-secret",
        summary="Give a webhook endpoint a new secret",
        description="The new secret, shown once; every later attempt is signed with it.",
        status_code=200,
        responses=ERRORS,
    )
    async def rotate_secret(
        self, endpoint_id: FromPath[uuid.UUID], principal: Key, session: Session
    ) -> WebhookSecret:
        return await endpoints.rotate_secret(session, principal, endpoint_id, now=utcnow())
