"""REST upserts of roster data for systems that push changes (API-key auth).

``PUT /v1/roster/{municipality}/{kind}`` with ``{"items": [...]}``: each item is created
or updated by its source id (or natural key, for links); nothing that is not named
changes. See docs/api-roster.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Controller, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import requires
from gateway.api.problems import problem_spec
from gateway.auth.principals import Permission, SystemPrincipal
from gateway.config import Settings
from gateway.roster.schemas import (
    AffiliationsPut,
    GroupsPut,
    GuardianshipsPut,
    InstitutionsPut,
    ItemPut,
    MembershipsPut,
    PeoplePut,
    RosterSyncResult,
)
from gateway.roster.upsert import Kind, upsert_roster

ERRORS = {
    400: problem_spec("The body is not JSON."),
    401: problem_spec("No valid API key (`Authorization: Bearer bsk_…`)."),
    403: problem_spec("The key lacks the `roster` permission, or is scoped to institutions."),
    404: problem_spec("No such municipality for this key."),
    409: problem_spec("The roster changed under the request; send it again."),
    413: problem_spec(
        "Too many items (`BUDSTIKKE_ROSTER_PUT_MAX_ITEMS`) or too large a body "
        "(`BUDSTIKKE_MAX_BODY_BYTES`)."
    ),
    422: problem_spec(
        "The body does not match the schema (`errors` names the item and field), "
        "or every item was refused and nothing changed (`errors` lists why)."
    ),
}
_REPLY = (
    "200 with counts per kind and every refused item as `items[N]: reason` "
    "(the others are applied); 422 when every item is refused. "
    "The same body twice changes nothing the second time."
)


class RosterController(Controller):
    path = "/v1/roster/{municipality:str}"
    tags = ["roster"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [requires(Permission.ROSTER)]  # noqa: RUF012
    security = [{"apiKey": []}]  # noqa: RUF012

    async def _upsert(
        self,
        kind: Kind,
        items: Sequence[ItemPut],
        principal: SystemPrincipal,
        session: AsyncSession,
        settings: Settings,
    ) -> RosterSyncResult:
        report = await upsert_roster(
            session,
            principal,
            kind,
            items,
            max_items=settings.roster_put_max_items,
            default_time_zone=settings.default_time_zone,
        )
        return RosterSyncResult.of(report)

    @put(
        "/institutions",
        summary="Create or update institutions",
        description="Schools and daycare institutions by source id. Municipality-wide keys "
        "only. " + _REPLY,
        responses=ERRORS,
    )
    async def put_institutions(
        self,
        data: JSONBody[InstitutionsPut],
        principal: NamedDependency[SystemPrincipal],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> RosterSyncResult:
        return await self._upsert("institutions", data.items, principal, session, settings)

    @put(
        "/groups",
        summary="Create or update groups",
        description="Classes, years, rooms, clubs and staff groups by source id, each in an "
        "institution given by its source id. " + _REPLY,
        responses=ERRORS,
    )
    async def put_groups(
        self,
        data: JSONBody[GroupsPut],
        principal: NamedDependency[SystemPrincipal],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> RosterSyncResult:
        return await self._upsert("groups", data.items, principal, session, settings)

    @put(
        "/people",
        summary="Create or update people",
        description="Children, guardians and staff by source id. `emails` is the person's "
        "whole list of roster addresses. A protected person needs an `alias`. "
        "`active: false` also ends the person's affiliations, memberships and "
        "guardianships. " + _REPLY,
        responses=ERRORS,
    )
    async def put_people(
        self,
        data: JSONBody[PeoplePut],
        principal: NamedDependency[SystemPrincipal],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> RosterSyncResult:
        return await self._upsert("people", data.items, principal, session, settings)

    @put(
        "/affiliations",
        summary="Create or update affiliations",
        description="A person's OneRoster role at an institution, keyed by "
        "(person, institution, role). " + _REPLY,
        responses=ERRORS,
    )
    async def put_affiliations(
        self,
        data: JSONBody[AffiliationsPut],
        principal: NamedDependency[SystemPrincipal],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> RosterSyncResult:
        return await self._upsert("affiliations", data.items, principal, session, settings)

    @put(
        "/guardianships",
        summary="Create or update guardianships",
        description="A guardian's link to a child, keyed by (child, guardian); `custody` "
        "decides who receives messages and who may answer consents. " + _REPLY,
        responses=ERRORS,
    )
    async def put_guardianships(
        self,
        data: JSONBody[GuardianshipsPut],
        principal: NamedDependency[SystemPrincipal],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> RosterSyncResult:
        return await self._upsert("guardianships", data.items, principal, session, settings)

    @put(
        "/memberships",
        summary="Create or update group memberships",
        description="A person in a group with a role, keyed by (group, person, role). " + _REPLY,
        responses=ERRORS,
    )
    async def put_memberships(
        self,
        data: JSONBody[MembershipsPut],
        principal: NamedDependency[SystemPrincipal],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> RosterSyncResult:
        return await self._upsert("memberships", data.items, principal, session, settings)
