"""What ``GET /v1/me`` answers: the caller, their places and, for guardians, their children."""

from __future__ import annotations

import uuid

import msgspec


class MunicipalityRef(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str


class InstitutionRef(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    kind: str  # school or daycare


class GroupRef(msgspec.Struct, frozen=True, kw_only=True):
    """A group and the person's role in it (``child`` for children)."""

    id: uuid.UUID
    name: str
    kind: str  # class, year, room, club, staff, custom
    institution_id: uuid.UUID
    role: str


class ChildRef(msgspec.Struct, frozen=True, kw_only=True):
    """One of a guardian's children, as that guardian may see them."""

    id: uuid.UUID
    display_name: str
    custody: bool
    institution_ids: list[uuid.UUID]
    groups: list[GroupRef]


class MeRead(msgspec.Struct, frozen=True, kw_only=True):
    """The caller. ``display_name`` is the real name: a protected person sees their own;
    ``alias`` is what others (non-staff) see when ``protected``."""

    id: uuid.UUID
    kind: str  # child, guardian or staff
    source_id: str
    display_name: str
    given_name: str
    family_name: str
    protected: bool
    alias: str | None
    locale: str
    assurance_level: str | None
    municipality: MunicipalityRef
    institutions: list[InstitutionRef]
    groups: list[GroupRef]
    children: list[ChildRef]
