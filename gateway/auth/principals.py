"""Who a request acts for, and the policy every endpoint applies to it.

Two kinds of caller: a system holding an API key (:class:`SystemPrincipal`) and a
person signed in with a token from the portal's identity provider
(:class:`PersonPrincipal`). A system with the ``send`` permission may act *for* a staff
member (``Budstikke-On-Behalf-Of``); the result is a :class:`PersonPrincipal` whose
``via_key`` names the system.

What a caller may not see is :class:`~gateway.errors.NotFound`, never Forbidden: the
tenant and scope checks here answer 404 so that a guess learns nothing. Forbidden is
for a caller who may see the thing but not do this to it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from gateway.errors import Forbidden, NotFound


class Permission(enum.StrEnum):
    """What a system's key may do."""

    SEND = "send"
    ROSTER = "roster"
    REPORT = "report"
    # The municipality's own oversight of its data: the audit log, a person's export
    # (right of access) and erasure. Given to the municipality's administration only.
    ADMIN = "admin"


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

    @property
    def credential(self) -> str:
        """A stable name for the credential: rate limits and idempotency keys use it."""
        return f"key:{self.key_id}"


@dataclass(frozen=True, slots=True)
class PersonPrincipal:
    """A person signed in through the portal's identity provider (a verified JWT).

    ``acr`` is the assurance level the token carries (the configured claim, e.g. ``acr``
    or ``loa``), compared against an institution's setting for sensitive threads.
    ``via_key`` is set when a system acts for this (staff) person; ``acr`` is then
    ``None``, since no one proved anything about the person themself.
    """

    person_id: uuid.UUID
    municipality_id: uuid.UUID
    municipality_code: str
    kind: str  # PersonKind value: child, guardian or staff
    subject: str  # the token's subject (the person's external id)
    acr: str | None
    via_key: SystemPrincipal | None = None

    @property
    def credential(self) -> str:
        """A stable name for the credential: the system's key when one acts for the person."""
        if self.via_key is not None:
            return self.via_key.credential
        return f"person:{self.person_id}"


Principal = SystemPrincipal | PersonPrincipal


def authorize(
    principal: Principal, *, permission: Permission, municipality_code: str | None
) -> SystemPrincipal:
    """A system holding ``permission``, or NotFound (other tenant) or Forbidden.

    The tenant is checked first and answers 404 whatever the permissions: a key must not
    learn whether another municipality exists.
    """
    ensure_municipality(principal, municipality_code)
    if not isinstance(principal, SystemPrincipal):
        raise Forbidden(
            f"this endpoint is for systems: use an API key with the {permission.value!r} permission"
        )
    if permission not in principal.permissions:
        raise Forbidden(f"this API key lacks the {permission.value!r} permission")
    return principal


def authorize_person(
    principal: Principal,
    *,
    kinds: Collection[str] = (),
    municipality_code: str | None = None,
) -> PersonPrincipal:
    """A signed-in person (of one of ``kinds``, if given), or NotFound or Forbidden."""
    ensure_municipality(principal, municipality_code)
    if not isinstance(principal, PersonPrincipal):
        raise Forbidden(
            "this endpoint is for people signed in with a token from the portal, not for "
            "API keys (a system with 'send' may act for staff: Budstikke-On-Behalf-Of)"
        )
    if kinds and principal.kind not in kinds:
        allowed = " or ".join(sorted(kinds))
        raise Forbidden(f"this endpoint is for {allowed}, not {principal.kind}")
    return principal


def ensure_municipality(principal: Principal, municipality_code: str | None) -> None:
    """NotFound unless the caller belongs to the municipality a path names."""
    if municipality_code is not None and municipality_code != principal.municipality_code:
        raise NotFound(f"no municipality {municipality_code!r}")


def ensure_tenant(principal: Principal, municipality_id: uuid.UUID, what: str) -> None:
    """NotFound when a loaded row belongs to another municipality than the caller's."""
    if municipality_id != principal.municipality_id:
        raise NotFound(f"no such {what}")


def ensure_in_key_scope(
    principal: Principal, institution_ids: Collection[uuid.UUID], what: str
) -> None:
    """NotFound when an institution-scoped key reaches outside its institutions.

    ``institution_ids`` are the institutions the thing belongs to; touching any one of
    the key's is enough. People and municipality-wide keys pass (people's own rules live
    with the data they read).
    """
    key = principal.via_key if isinstance(principal, PersonPrincipal) else principal
    if key is None or key.municipality_wide:
        return
    if key.institution_ids.isdisjoint(institution_ids):
        raise NotFound(f"no such {what}")


def acting_person_id(principal: Principal) -> uuid.UUID | None:
    """The person a request acts as: the signed-in one, or the staff member a system
    acts for; ``None`` for a system acting as itself."""
    return principal.person_id if isinstance(principal, PersonPrincipal) else None
