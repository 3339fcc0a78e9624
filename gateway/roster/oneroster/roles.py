"""The OneRoster role vocabulary, and what each role makes a person and a group member.

Roles are matched without regard to case (``Student``, ``TEACHER``) and reported in the
spec's spelling. A role outside the vocabulary is refused rather than guessed at: a wrong
guess could make a stranger a guardian.
"""

from __future__ import annotations

from gateway.roster.models import InstitutionKind, MemberRole, PersonKind
from gateway.roster.oneroster.cells import RowRefused

_KINDS: dict[str, PersonKind] = {
    "student": PersonKind.CHILD,
    "teacher": PersonKind.STAFF,
    "aide": PersonKind.STAFF,
    "administrator": PersonKind.STAFF,
    "proctor": PersonKind.STAFF,
    "principal": PersonKind.STAFF,
    "counselor": PersonKind.STAFF,
    "districtAdministrator": PersonKind.STAFF,
    "siteAdministrator": PersonKind.STAFF,
    "systemAdministrator": PersonKind.STAFF,
    "parent": PersonKind.GUARDIAN,
    "guardian": PersonKind.GUARDIAN,
    "relative": PersonKind.GUARDIAN,
}
_SPELLING = {name.lower(): name for name in _KINDS}

# Enrollment roles for staff; ``teacher`` depends on the institution (see member_role).
_STAFF_MEMBER: dict[str, MemberRole] = {
    "aide": MemberRole.PEDAGOGUE,
    "administrator": MemberRole.LEADER,
    "principal": MemberRole.LEADER,
    "siteAdministrator": MemberRole.LEADER,
    "districtAdministrator": MemberRole.LEADER,
    "systemAdministrator": MemberRole.ADMIN,
    "proctor": MemberRole.TEACHER,
    "counselor": MemberRole.TEACHER,
}

# ``metadata.dk.staffRole`` on a user: what they are in every group, whatever the enrollment says.
STAFF_ROLES: dict[str, MemberRole] = {
    "teacher": MemberRole.TEACHER,
    "pedagogue": MemberRole.PEDAGOGUE,
    "leader": MemberRole.LEADER,
    "admin": MemberRole.ADMIN,
}

# Who has custody when the guardian's row does not say (metadata.dk.custody).
CUSTODY_BY_DEFAULT = frozenset({"parent", "guardian"})


def describe(kind: PersonKind) -> str:
    """``a child``, ``a guardian``, ``staff``: a kind as a sentence needs it."""
    return "staff" if kind is PersonKind.STAFF else f"a {kind.value}"


def canonical_role(raw: str) -> str:
    """The spec spelling of a role; refused when empty or not a OneRoster role."""
    if not raw:
        raise RowRefused("missing required value role")
    role = _SPELLING.get(raw.lower())
    if role is None:
        raise RowRefused(f"bad role {raw!r}")
    return role


def person_kind(role: str) -> PersonKind:
    """What a person with this (canonical) role is here."""
    return _KINDS[role]


def member_role(
    role: str, institution: InstitutionKind | None, override: MemberRole | None
) -> MemberRole:
    """The group role for an enrollment's (canonical) role; guardians are refused."""
    kind = _KINDS[role]
    if kind is PersonKind.GUARDIAN:
        raise RowRefused(f"guardians cannot be enrolled in a class (role {role!r})")
    if kind is PersonKind.CHILD:
        return MemberRole.CHILD
    if override is not None:
        return override
    if role == "teacher":
        return (
            MemberRole.PEDAGOGUE if institution is InstitutionKind.DAYCARE else MemberRole.TEACHER
        )
    return _STAFF_MEMBER[role]
