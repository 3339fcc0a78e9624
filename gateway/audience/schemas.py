"""The audience of a message, announcement or consent request: a small tagged union.

References are gateway ids (UUIDs), as returned by ``GET /v1/me`` and the inbox API.
"""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

import msgspec

MAX_IDS = 500


class Roles(enum.StrEnum):
    """Which members of a group or institution an audience reaches."""

    CHILDREN = "children"
    GUARDIANS = "guardians"
    STAFF = "staff"


Ids = Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_IDS)]
RoleSet = Annotated[list[Roles], msgspec.Meta(min_length=1, max_length=3)]


class People(msgspec.Struct, tag="people", kw_only=True, forbid_unknown_fields=True):
    """These people."""

    people: Ids


class GuardiansOf(msgspec.Struct, tag="guardians_of", kw_only=True, forbid_unknown_fields=True):
    """The guardians of these children (custodial only unless the options say otherwise)."""

    children: Ids


class GroupAudience(msgspec.Struct, tag="group", kw_only=True, forbid_unknown_fields=True):
    """A group's members in these roles (guardians: of the group's children)."""

    group: uuid.UUID
    roles: RoleSet


class InstitutionAudience(
    msgspec.Struct, tag="institution", kw_only=True, forbid_unknown_fields=True
):
    """A whole institution in these roles."""

    institution: uuid.UUID
    roles: RoleSet


class YearAudience(msgspec.Struct, tag="year", kw_only=True, forbid_unknown_fields=True):
    """A year group (children whose ``grades`` include ``grade``) of an institution."""

    institution: uuid.UUID
    # One grade ("03", "KG"), never a list: a child matches when it is one of their grades.
    # No NUL: PostgreSQL cannot compare text holding one.
    grade: Annotated[str, msgspec.Meta(min_length=1, max_length=16, pattern=r"^[^,\x00]+$")]
    roles: RoleSet


Target = People | GuardiansOf | GroupAudience | InstitutionAudience | YearAudience


class Audience(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Targets plus options. Recipients are the union of every target's people."""

    targets: Annotated[list[Target], msgspec.Meta(min_length=1, max_length=20)]
    include_non_custodial: bool = False  # forældreansvarsloven §23: on request, not by default
    hidden_recipients: bool = False  # each recipient sees only the sender
    regarding: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_IDS)] = msgspec.field(
        default_factory=list
    )


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    """One person an audience reaches, once, with the children it regards them about."""

    person_id: uuid.UUID
    kind: str  # PersonKind value
    regarding: tuple[uuid.UUID, ...] = ()


class AudienceCounts(msgspec.Struct, frozen=True, kw_only=True):
    """How many people an audience reaches, by kind; each person counts once."""

    children: int
    guardians: int
    staff: int
    total: int

    @classmethod
    def of(cls, by_kind: dict[str, int]) -> AudienceCounts:
        """Counts from ``{kind: number}`` (kinds that are missing count zero)."""
        children = by_kind.get("child", 0)
        guardians = by_kind.get("guardian", 0)
        staff = by_kind.get("staff", 0)
        return cls(
            children=children, guardians=guardians, staff=staff, total=children + guardians + staff
        )


class UnreachableReason(enum.StrEnum):
    """Why none of a child's guardians can be reached."""

    NO_GUARDIAN = "no_guardian"  # no active guardian the audience would include
    NO_EMAIL = "no_email"  # guardians, but none with an active email address


class UnreachableChild(msgspec.Struct, frozen=True, kw_only=True):
    """A child in the audience whose family the message will not reach by email.

    ``name`` is the alias of a protected child unless the caller is staff. There are
    never contact details here.
    """

    id: uuid.UUID
    name: str
    reason: UnreachableReason


class AudiencePreview(msgspec.Struct, frozen=True, kw_only=True):
    """What an audience would reach, before anything is sent."""

    counts: AudienceCounts
    unreachable_children: list[UnreachableChild]
    # The list is capped; this is how many there are in all.
    unreachable_total: int
