"""Who acts on a thread: a person, whether signed in themself or sent for by a system."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gateway.roster.models import PersonKind


@dataclass(frozen=True, slots=True)
class Actor:
    """The person a messaging request acts as, and how strongly they proved it.

    ``acr`` is ``None`` for a system acting on a staff member's behalf: such a request
    can send but cannot read a sensitive thread.
    ``principal`` names the credential (for idempotency keys): a key or a person.
    """

    person_id: uuid.UUID
    municipality_id: uuid.UUID
    kind: str  # PersonKind value
    acr: str | None
    principal: str

    @property
    def staff(self) -> bool:
        return self.kind == PersonKind.STAFF.value
