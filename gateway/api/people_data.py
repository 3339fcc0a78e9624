"""A person's data for the municipality's administration: export (access) and erasure.

API keys with the ``admin`` permission only, and only for people of the key's own
municipality (anyone else is 404). What each holds is in docs/data-control.md.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import requires_whole_municipality
from gateway.api.problems import problem_spec
from gateway.audit import AuditActor
from gateway.auth.principals import Permission, SystemPrincipal
from gateway.config import Settings
from gateway.errors import InvalidInput
from gateway.people.erasure import erase_person
from gateway.people.export import export_person

Session = NamedDependency[AsyncSession]
Key = NamedDependency[SystemPrincipal]


ERRORS = {
    401: problem_spec("No valid API key (`Authorization: Bearer bsk_…`)."),
    403: problem_spec(
        "Not an API key with the `admin` permission for the whole municipality "
        "(a person's token never may)."
    ),
    404: problem_spec("No such person in this key's municipality."),
    422: problem_spec("The confirmation does not name the person."),
}


class ErasureConfirm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The person's id again: an erasure cannot be undone, so a slip must not do it."""

    confirm: uuid.UUID


class ErasureRead(msgspec.Struct, kw_only=True):
    person_id: uuid.UUID
    erased: bool
    messages: int
    threads: int
    attachments: int
    deliveries: int
    contact_points: int
    push_subscriptions: int
    consent_answers_kept: int


class PeopleDataController(Controller):
    path = "/v1/admin/people"
    tags = ["admin"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [requires_whole_municipality(Permission.ADMIN)]  # noqa: RUF012
    security = [{"apiKey": []}]  # noqa: RUF012

    @get(
        "/{person_id:uuid}/export",
        summary="Everything held about a person (right of access)",
        description="JSON with `schema_version` and `exported_at`: roster record, links, "
        "addresses and bounce state, preferences, push subscriptions (push service only, "
        "never keys), consent answers, daycare notices, deliveries, and the person's "
        "threads exactly as their inbox shows them.",
        responses=ERRORS,
    )
    async def export(
        self, person_id: FromPath[uuid.UUID], principal: Key, session: Session
    ) -> dict[str, Any]:
        return await export_person(
            session,
            principal.municipality_id,
            person_id,
            by=AuditActor.api_key(principal.key_id),
        )

    @post(
        "/{person_id:uuid}/erase",
        summary="Erase a person (anonymise everywhere)",
        description='Body `{"confirm": "<the person id>"}`. Names and addresses go, '
        "messages they wrote become a marker, files are deleted, consent answers stay "
        "as records without identity; threads stay readable for the others. Cannot be "
        "undone; running it again is harmless.",
        status_code=200,
        responses=ERRORS,
    )
    async def erase(
        self,
        person_id: FromPath[uuid.UUID],
        data: JSONBody[ErasureConfirm],
        principal: Key,
        session: Session,
        settings: NamedDependency[Settings],
    ) -> ErasureRead:
        if data.confirm != person_id:
            raise InvalidInput(
                "the confirmation must be the id of the person to erase",
                ["confirm: not the person in the path"],
            )
        report = await erase_person(
            session,
            settings,
            principal.municipality_id,
            person_id,
            by=AuditActor.api_key(principal.key_id),
        )
        return ErasureRead(erased=True, **dataclasses.asdict(report))
