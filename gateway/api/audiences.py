"""``POST /v1/audiences/preview``: what an audience would reach, before anything is sent."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import provide_principal, requires_caller
from gateway.api.problems import problem_spec
from gateway.audience.preview import Viewer, preview_audience, viewer_of
from gateway.audience.schemas import Audience, AudiencePreview
from gateway.config import Settings

ERRORS = {
    401: problem_spec("No valid credentials: a staff member's token, or an API key."),
    403: problem_spec(
        "The caller is not staff (or the key lacks `send`), or the audience reaches "
        "someone the caller could not address. The reason never names anyone."
    ),
    422: problem_spec("The audience does not match the schema; `errors` says where."),
}


def provide_viewer(request: Request[Any, Any, Any]) -> Viewer:
    """Who previews: staff, or a system with ``send``; Forbidden for anyone else.

    A dependency of its own because Litestar cannot inject the ``Principal`` union
    (two dataclasses) directly.
    """
    return viewer_of(provide_principal(request))


class AudiencesController(Controller):
    path = "/v1/audiences"
    tags = ["audiences"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [requires_caller()]  # noqa: RUF012
    security = [{"personToken": []}, {"apiKey": []}]  # noqa: RUF012
    dependencies = {"viewer": Provide(provide_viewer, sync_to_thread=False)}  # noqa: RUF012

    @post(
        "/preview",
        status_code=200,
        summary="Preview an audience",
        description="Counts the people an audience reaches by kind (each person once, the "
        "caller not counted) and lists the children none of whose guardians can be reached "
        "(no active guardian the audience includes, or none with an active email address). "
        "For staff, under the same rules as sending, without the recipient limit; and for "
        "systems with `send`, within their key's institutions. Names only, never contact "
        "details. See docs/audiences.md.",
        responses=ERRORS,
    )
    async def preview(
        self,
        data: JSONBody[Audience],
        viewer: NamedDependency[Viewer],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> AudiencePreview:
        today = dt.datetime.now(ZoneInfo(settings.default_time_zone)).date()
        return await preview_audience(session, viewer=viewer, audience=data, today=today)
