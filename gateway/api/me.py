"""``GET /v1/me``: who the signed-in person is, where they belong, and whom they may address."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import requires_person
from gateway.api.problems import PROBLEM_JSON, Problem
from gateway.auth.principals import PersonPrincipal
from gateway.people import MeRead, describe_self


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=Problem, description=description, media_type=PROBLEM_JSON)


class MeController(Controller):
    path = "/v1/me"
    tags = ["people"]  # noqa: RUF012 - Litestar reads a class attribute
    security = [{"personToken": []}, {"apiKey": []}]  # noqa: RUF012

    @get(
        "/",
        guards=[requires_person(on_behalf_of=True)],
        summary="The signed-in person",
        description=(
            "The caller's own profile: their real name (also when protected; `alias` is what "
            "other non-staff see), municipality, institutions, and groups with their role "
            "(staff: the groups they can address; children: their classes and rooms). "
            "Guardians also get their children with custody and groups; a protected child "
            "appears by alias to a guardian without custody. Nothing about anyone else. "
            "A system with `send` may ask as the staff member it acts for "
            "(`Budstikke-On-Behalf-Of`), e.g. to learn the groups it can address."
        ),
        responses={
            401: _problem("No valid token, or its subject is not an active person."),
            403: _problem(
                "An API key without `Budstikke-On-Behalf-Of`, without `send`, or naming "
                "someone who is not active staff in its scope."
            ),
            429: _problem("Over a rate limit (`limit` names it; see `Retry-After`)."),
        },
    )
    async def me(
        self, principal: NamedDependency[PersonPrincipal], session: NamedDependency[AsyncSession]
    ) -> MeRead:
        return await describe_self(session, principal)
