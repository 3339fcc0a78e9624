"""Who a request acts for, and the policy every endpoint applies to it.

Today the only principal is a system holding an API key. People (JWT from the
municipality's identity provider) come later as a second member of :data:`Principal`;
the policy below is written against what both will share: a municipality and a set of
permissions.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from gateway.errors import Forbidden, NotFound


class Permission(enum.StrEnum):
    """What a system's key may do."""

    SEND = "send"
    ROSTER = "roster"
    REPORT = "report"


@dataclass(frozen=True, slots=True)
class SystemPrincipal:
    """A system authenticated by an API key.

    ``institution_ids`` empty means the key speaks for the whole municipality.
    """

    key_id: uuid.UUID
    prefix: str
    name: str
    municipality_id: uuid.UUID
    municipality_code: str
    permissions: frozenset[Permission]
    institution_ids: frozenset[uuid.UUID]

    @property
    def municipality_wide(self) -> bool:
        return not self.institution_ids

    @property
    def source(self) -> str:
        """How roster syncs made with this key are recorded (``ImportRun.source``)."""
        return f"api:{self.prefix}"


# A union once people can sign in: ``SystemPrincipal | PersonPrincipal``.
Principal = SystemPrincipal


def authorize(
    principal: Principal, *, permission: Permission, municipality_code: str | None
) -> None:
    """Allow the request, or raise NotFound (other tenant) or Forbidden (no permission).

    The tenant is checked first and answers 404 whatever the permissions: a key must not
    learn whether another municipality exists.
    """
    if municipality_code is not None and municipality_code != principal.municipality_code:
        raise NotFound(f"no municipality {municipality_code!r}")
    if permission not in principal.permissions:
        raise Forbidden(f"this API key lacks the {permission.value!r} permission")
