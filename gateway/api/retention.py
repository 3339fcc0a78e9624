"""Retention for the municipality's administration: the policy in force, overrides, legal holds.

API keys with the ``admin`` permission for the whole municipality: retention is the
municipality's decision as data controller, and a hold is ordered on it, not on one
school. See docs/retention.md.
"""

from __future__ import annotations

import uuid

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import requires_whole_municipality
from gateway.api.problems import problem_spec
from gateway.audit import AuditActor
from gateway.auth.principals import Permission, SystemPrincipal
from gateway.orm import utcnow
from gateway.retention import configuration
from gateway.retention.hold import set_hold
from gateway.retention.schemas import LegalHoldPut, LegalHoldRead, RetentionPut, RetentionRead

Session = NamedDependency[AsyncSession]
Key = NamedDependency[SystemPrincipal]


ERRORS = {
    401: problem_spec("No valid API key (`Authorization: Bearer bsk_…`)."),
    403: problem_spec(
        "Not an API key with the `admin` permission for the whole municipality "
        "(a person's token never may)."
    ),
    404: problem_spec("No such institution in this key's municipality."),
    422: problem_spec("The days or the reason cannot be used (`errors` says which and why)."),
}


class RetentionController(Controller):
    path = "/v1"
    tags = ["admin"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [requires_whole_municipality(Permission.ADMIN)]  # noqa: RUF012
    security = [{"apiKey": []}]  # noqa: RUF012

    @get(
        "/retention",
        summary="The retention policy in force and the legal holds",
        description="Days after a thread's last activity, per category (`message`, "
        "`announcement`, `urgent`, `consent`, `daycare_notice`), the defaults, which ones "
        "the municipality set, and the institutions under legal hold. `errors` is not "
        "empty when the stored settings are bad: the purge then does not run.",
        responses=ERRORS,
    )
    async def read(self, principal: Key, session: Session) -> RetentionRead:
        return await configuration.read_retention(session, principal.municipality_id)

    @put(
        "/retention",
        summary="Set the municipality's retention days",
        description='Body `{"days": {"message": 400}}`: whole days per category, replacing '
        "the stored overrides (`{}` goes back to the defaults). Checked before anything is "
        "stored.",
        responses=ERRORS,
    )
    async def replace(
        self, data: JSONBody[RetentionPut], principal: Key, session: Session
    ) -> RetentionRead:
        return await configuration.replace_policy(
            session, principal.municipality_id, data.days, by=AuditActor.api_key(principal.key_id)
        )

    @put(
        "/institutions/{institution_id:uuid}/legal-hold",
        summary="Put an institution under legal hold, or lift it",
        description='Body `{"on": true, "reason": "…"}` (a reason is required to set one). '
        "While on, the purge deletes nothing of the institution.",
        responses=ERRORS,
    )
    async def legal_hold(
        self,
        institution_id: FromPath[uuid.UUID],
        data: JSONBody[LegalHoldPut],
        principal: Key,
        session: Session,
    ) -> LegalHoldRead:
        state = await set_hold(
            session,
            principal.municipality_id,
            institution_id,
            on=data.on,
            reason=data.reason,
            by=AuditActor.api_key(principal.key_id),
            now=utcnow(),
        )
        return configuration.hold_read(state)
