"""The demo portal (``/demo``): pick a person, then use the inbox component as them.

Registered only when the gateway signs its own tokens (demo mode without an identity
provider), so the token endpoint here never exists beside real logins. It hands out
what ``budstikke token`` prints; the demo's people are fictional.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.web import asset, asset_response
from gateway.auth.devtokens import find_person, issue_dev_token, token_subject
from gateway.config import Settings
from gateway.errors import ConfigError, InvalidInput, NotFound
from gateway.roster.demo.personas import Persona, demo_summary, personas

TOKEN_HOURS = 8
ASSURANCE = ("low", "substantial", "high")


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    person: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    # The login's assurance level; a sensitive thread needs "substantial" by default.
    acr: Annotated[str, msgspec.Meta(max_length=16)] = "substantial"


class TokenRead(msgspec.Struct, kw_only=True):
    token: str
    person: str
    name: str
    expires_at: dt.datetime


class DemoPeople(msgspec.Struct, kw_only=True):
    municipality: str
    people: list[Persona]


class DemoController(Controller):
    include_in_schema = False

    @get("/demo")
    async def portal(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The demo portal's first page: pick who to be."""
        return asset_response(request, asset("demo/index.html"))

    @get("/demo/{page:str}")
    async def page(self, request: Request[Any, Any, Any], page: FromPath[str]) -> Response[bytes]:
        """Another page of the demo portal (``/demo/staff`` is ``demo/staff.html``)."""
        if not page.isidentifier():
            raise NotFound(f"no demo page {page!r}")
        return asset_response(request, asset(f"demo/{page}.html"))

    @get("/demo-api/people")
    async def people(
        self, session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
    ) -> DemoPeople:
        """The people a new user can be, each standing for a kind of user."""
        summary = demo_summary(settings.data_dir)
        return DemoPeople(
            municipality=summary.municipality_name,
            people=await personas(session, summary),
        )

    @post("/demo-api/token", status_code=200)
    async def token(
        self,
        data: JSONBody[TokenRequest],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> TokenRead:
        """A token for a demo person, as ``budstikke token PERSON`` prints it."""
        if data.acr not in ASSURANCE:
            raise InvalidInput(f"acr must be one of {', '.join(ASSURANCE)}")
        code = demo_summary(settings.data_dir).municipality_code
        try:
            person, code = await find_person(session, data.person, municipality_code=code)
        except ConfigError as exc:
            raise NotFound(str(exc)) from exc
        now = dt.datetime.now(dt.UTC)
        token = issue_dev_token(
            settings,
            subject=token_subject(settings, person),
            municipality_code=code,
            acr=data.acr,
            hours=TOKEN_HOURS,
            now=now,
        )
        return TokenRead(
            token=token,
            person=person.source_id,
            name=f"{person.given_name} {person.family_name}",
            expires_at=now + dt.timedelta(hours=TOKEN_HOURS),
        )
