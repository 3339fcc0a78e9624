"""Notification preferences: a person's own (``/v1/me/preferences``) and an institution's
defaults for systems (``/v1/institutions/{id}/notification-defaults``). See
docs/api-preferences.md."""

from __future__ import annotations

import uuid

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import requires, requires_person
from gateway.api.problems import problem_spec
from gateway.auth.principals import Permission, PersonPrincipal, SystemPrincipal
from gateway.config import Settings
from gateway.preferences.defaults import read_defaults, replace_defaults
from gateway.preferences.schemas import (
    NotificationDefaultsPut,
    NotificationDefaultsRead,
    PreferencesPut,
    PreferencesRead,
)
from gateway.preferences.service import read_preferences, update_preferences

Session = NamedDependency[AsyncSession]


PERSON_ERRORS = {
    401: problem_spec("No valid token, or its subject is not an active person."),
    403: problem_spec("An API key: preferences are the person's own."),
    422: problem_spec(
        "The body does not match the schema (unknown field, a mode that does not exist, a "
        "time not HH:MM), or breaks a rule: urgent is locked, staff have no quiet hours, "
        "quiet hours must not be empty. `errors` names each field."
    ),
    429: problem_spec("Over a rate limit (`limit` names it; see `Retry-After`)."),
}
KEY_ERRORS = {
    401: problem_spec("No valid API key (`Authorization: Bearer bsk_…`)."),
    403: problem_spec("A person's token, or a key without the `roster` permission."),
    404: problem_spec("No such institution in the key's municipality and scope."),
    422: problem_spec("The body does not match the schema, or tries to change `urgent`."),
    429: problem_spec("Over a rate limit (`limit` names it; see `Retry-After`)."),
}


class PreferencesController(Controller):
    path = "/v1/me/preferences"
    tags = ["preferences"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [requires_person()]  # noqa: RUF012
    security = [{"personToken": []}]  # noqa: RUF012

    @get(
        "/",
        summary="My notification preferences",
        description="Per category (`message`, `announcement`, `consent`, `reminder`, "
        "`urgent`) the mode over `push` and `email` — `instant`, `digest` or `off` — with "
        "its `source` (`own` choice or `default`) and the default; `urgent` is `locked`. "
        "Quiet hours (guardians, pupils) or working hours (staff, read-only), the digest "
        "time, and the time zone they are read in.",
        responses=PERSON_ERRORS,
    )
    async def get_preferences(
        self,
        principal: NamedDependency[PersonPrincipal],
        session: Session,
        settings: NamedDependency[Settings],
    ) -> PreferencesRead:
        return await read_preferences(session, principal, settings)

    @put(
        "/",
        summary="Change my notification preferences",
        description="A partial update: a field left out stays as it is, `null` goes back "
        "to the default (a later change of the institution's default then reaches you). "
        "Answers the whole document.",
        responses=PERSON_ERRORS,
    )
    async def put_preferences(
        self,
        data: JSONBody[PreferencesPut],
        principal: NamedDependency[PersonPrincipal],
        session: Session,
        settings: NamedDependency[Settings],
    ) -> PreferencesRead:
        return await update_preferences(session, principal, data, settings)


class NotificationDefaultsController(Controller):
    path = "/v1/institutions/{institution_id:uuid}/notification-defaults"
    tags = ["preferences"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [requires(Permission.ROSTER)]  # noqa: RUF012
    security = [{"apiKey": []}]  # noqa: RUF012

    @get(
        "/",
        summary="An institution's notification defaults",
        description="What its people get per category and channel until they choose for "
        "themselves. For a key with `roster` whose scope covers the institution.",
        responses=KEY_ERRORS,
    )
    async def get_defaults(
        self,
        institution_id: FromPath[uuid.UUID],
        principal: NamedDependency[SystemPrincipal],
        session: Session,
    ) -> NotificationDefaultsRead:
        return await read_defaults(session, principal, institution_id)

    @put(
        "/",
        summary="Replace an institution's notification defaults",
        description="The whole set: a category or channel left out is `instant`. "
        "`urgent` accepts only `instant`. People's own choices are kept.",
        responses=KEY_ERRORS,
    )
    async def put_defaults(
        self,
        institution_id: FromPath[uuid.UUID],
        data: JSONBody[NotificationDefaultsPut],
        principal: NamedDependency[SystemPrincipal],
        session: Session,
    ) -> NotificationDefaultsRead:
        return await replace_defaults(session, principal, institution_id, data)
