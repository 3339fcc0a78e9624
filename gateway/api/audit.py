"""``GET /v1/audit``: the municipality's audit log, for its administration's API key."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import requires_whole_municipality
from gateway.api.problems import problem_spec
from gateway.audit import service
from gateway.audit.schemas import AuditPage
from gateway.audit.service import AuditActor, AuditFilter
from gateway.auth.principals import Permission, SystemPrincipal

ERRORS = {
    401: problem_spec("No valid API key (`Authorization: Bearer bsk_…`)."),
    403: problem_spec(
        "Not an API key with the `admin` permission, or one narrowed to institutions "
        "(the log is the whole municipality's)."
    ),
    422: problem_spec("A filter is malformed (`errors` names it): unknown action, naive time…"),
}


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [requires_whole_municipality(Permission.ADMIN)]  # noqa: RUF012
    security = [{"apiKey": []}]  # noqa: RUF012

    @get(
        "/",
        summary="Read the audit log",
        description="The key's municipality's events, newest first: reads of sensitive "
        "threads, consent exports, roster imports and upserts, preference and default "
        "changes, API key creation, revocation and use (at most hourly), and reads of "
        "this log (this request is one). Ids and counts only. `next_cursor` pages. "
        "See docs/audit.md.",
        responses=ERRORS,
    )
    async def list_events(
        self,
        *,
        request: Request[Any, Any, Any],
        principal: NamedDependency[SystemPrincipal],
        session: NamedDependency[AsyncSession],
        action: Annotated[str | None, QueryParameter(max_length=40)] = None,
        # Python names apart from the query's: ``actor`` is also an app dependency.
        actor_id: Annotated[uuid.UUID | None, QueryParameter(name="actor")] = None,
        target_id: Annotated[uuid.UUID | None, QueryParameter(name="target")] = None,
        since: FromQuery[dt.datetime | None] = None,
        until: FromQuery[dt.datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=service.MAX_PAGE)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> AuditPage:
        wanted = AuditFilter(
            action=action,
            actor=actor_id,
            target=target_id,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
        ip = request.client.host if request.client else None
        reader = AuditActor.api_key(principal.key_id)
        return await service.read(session, principal.municipality_id, reader, wanted, ip=ip)
