"""``GET /v1/me``: who the signed-in person is, where they belong, and whom they may address."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import requires_person
from gateway.api.problems import problem_spec
from gateway.auth.principals import PersonPrincipal
from gateway.people import MeRead, describe_self


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
            401: problem_spec("No valid token, or its subject is not an active person."),
            403: problem_spec(
                "An API key without `Budstikke-On-Behalf-Of`, without `send`, or naming "
                "someone who is not active staff in its scope."
            ),
            429: problem_spec("Over a rate limit (`limit` names it; see `Retry-After`)."),
        },
    )
    async def me(
        self, principal: NamedDependency[PersonPrincipal], session: NamedDependency[AsyncSession]
    ) -> MeRead:
        return await describe_self(session, principal)
