"""users.csv: children, guardians and staff, with the Danish ``metadata.dk.*`` extensions.

What a user is comes from their role: in 1.2 the primary role in roles.csv (read first),
in 1.1 the ``role`` column. The agent links (``agentSourcedIds``) and each guardian's
custody are collected here and turned into guardianships by :mod:`.guardians` once every
user is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from gateway.roster.models import MemberRole, PersonKind
from gateway.roster.oneroster import contacts
from gateway.roster.oneroster.affiliations import affiliations_from_user
from gateway.roster.oneroster.cells import (
    RowRefused,
    boolean,
    is_deleted,
    joined_list,
    required,
    sourced_id,
    split_list,
)
from gateway.roster.oneroster.demographics import BirthDate
from gateway.roster.oneroster.orgs import Org
from gateway.roster.oneroster.references import Known
from gateway.roster.oneroster.roles import STAFF_ROLES, canonical_role, person_kind
from gateway.roster.oneroster.table import FirstSeen, Rejections, Row, Table
from gateway.roster.records import AffiliationRecord, PersonRecord

FILE = "users.csv"
COLUMNS = (
    "sourcedId",
    "status",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "metadata.dk.protected",
    "metadata.dk.alias",
    "metadata.dk.locale",
    "metadata.dk.custody",
    "metadata.dk.relation",
    "metadata.dk.staffRole",
)
REQUIRED = ("sourcedId", "givenName", "familyName")

# A deleted user whose role nobody states still needs a kind; the sync only deactivates it.
PLACEHOLDER_KIND = PersonKind.GUARDIAN
_CUSTODY_WORDS = {"true": True, "yes": True, "ja": True, "false": False, "no": False, "nej": False}
_RELATION = re.compile(r"[^\W\d_][\w-]{0,31}")


class GuardianRow(NamedTuple):
    """What a guardian's own row says about their children."""

    role: str  # parent, guardian or relative (or a placeholder for a deletion)
    custody: bool | frozenset[str] | None  # metadata.dk.custody; None: by role
    relation: str | None
    origin: str


class AgentLink(NamedTuple):
    user: str
    agent: str
    origin: str


@dataclass
class PeopleFile:
    known: Known[PersonKind]
    records: list[PersonRecord] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    staff_roles: dict[str, MemberRole] = field(default_factory=dict)
    guardians: dict[str, GuardianRow] = field(default_factory=dict)
    links: list[AgentLink] = field(default_factory=list)
    affiliations: list[AffiliationRecord] = field(default_factory=list)  # 1.1 only


@dataclass
class _Context:
    delta: bool
    person_roles: dict[str, str] | None  # None: roles are in users.csv (1.1)
    orgs: Known[Org]
    birth_dates: dict[str, BirthDate]
    rejections: Rejections


def read_people(
    table: Table,
    *,
    delta: bool,
    person_roles: dict[str, str] | None,
    orgs: Known[Org],
    birth_dates: dict[str, BirthDate],
    rejections: Rejections,
) -> PeopleFile:
    """Read every user; ``person_roles`` from roles.csv, or ``None`` to use the role column.

    Birth dates are taken out of ``birth_dates`` as their people are found.
    """
    result = PeopleFile(known=Known(FILE, complete=not delta))
    context = _Context(delta, person_roles, orgs, birth_dates, rejections)
    seen = FirstSeen()
    for row in table.rows():
        try:
            _read_row(row, result, context, seen)
        except RowRefused as refused:
            result.known.refuse(row.get("sourcedId"))
            rejections.add(row.origin, refused.reason)
    return result


def _read_row(row: Row, result: PeopleFile, context: _Context, seen: FirstSeen) -> None:
    origin = row.origin
    source_id = sourced_id(row, seen)
    deleted = is_deleted(row, delta=context.delta)
    role = _role(row, source_id, context, deleted)
    kind = person_kind(role) if role else PLACEHOLDER_KIND
    # enabledUser=false means "may not log in" (daycare children), not "gone": it
    # does not decide whether the person is on the roster. Still validated.
    boolean(row, "enabledUser", default=True)
    if deleted:
        given = row.get("preferredGivenName") or row.get("givenName")
        family = row.get("preferredFamilyName") or row.get("familyName")
    else:
        given = row.get("preferredGivenName") or required(row, "givenName")
        family = row.get("preferredFamilyName") or required(row, "familyName")
    protected = boolean(row, "metadata.dk.protected", default=False)
    alias = row.get("metadata.dk.alias") or None
    if protected and alias is None and not deleted:
        raise RowRefused("protected person needs metadata.dk.alias")
    staff_role = _staff_role(row) if kind is PersonKind.STAFF else None
    guardian = _guardian(row, role) if role and kind is PersonKind.GUARDIAN else None
    # Past this point nothing refuses the row; what follows only drops single values.
    locale = contacts.locale(row.get("metadata.dk.locale"))
    if locale is None:
        context.rejections.add(
            origin,
            f"metadata.dk.locale {row.get('metadata.dk.locale')!r} is not a language tag "
            f"(using {contacts.DEFAULT_LOCALE}; the person was imported)",
        )
        locale = contacts.DEFAULT_LOCALE
    addresses, refused = contacts.emails(row.get("email"))
    for address in refused:
        context.rejections.add(
            origin, f"email {address!r} is not an address (skipped; the person was imported)"
        )
    birth = context.birth_dates.pop(source_id, None)
    result.records.append(
        PersonRecord(
            origin=origin,
            source_id=source_id,
            kind=kind,
            given_name=given,
            family_name=family,
            protected=protected,
            alias=alias,
            locale=locale,
            birth_date=birth.date if birth is not None else None,
            grades=joined_list(row.get("grades")),
            uni_login=contacts.uni_login(row.get("userIds")),
            username=row.get("username") or None,
            emails=addresses,
            active=not deleted,
        )
    )
    result.known.add(source_id, kind)
    if deleted:
        result.deleted.add(source_id)
    if staff_role is not None:
        result.staff_roles[source_id] = staff_role
    if guardian is not None:
        result.guardians[source_id] = guardian
    if role is None:
        return  # a deletion of someone we cannot place: links and roles would be guesses
    for agent in dict.fromkeys(split_list(row.get("agentSourcedIds"))):
        result.links.append(AgentLink(source_id, agent, origin))
    if context.person_roles is None:
        result.affiliations.extend(
            affiliations_from_user(
                row,
                source_id,
                role,
                deleted=deleted,
                orgs=context.orgs,
                rejections=context.rejections,
            )
        )


def _role(row: Row, source_id: str, context: _Context, deleted: bool) -> str | None:
    """The user's canonical role; ``None`` only for a deletion that names none."""
    if context.person_roles is not None:
        role = context.person_roles.get(source_id)
        if role is None and not deleted:
            raise RowRefused(f"bad role: user {source_id!r} has no role in roles.csv")
        return role
    try:
        return canonical_role(row.get("role"))
    except RowRefused:
        if deleted:
            return None
        raise


def _staff_role(row: Row) -> MemberRole | None:
    raw = row.get("metadata.dk.staffRole")
    if not raw:
        return None
    role = STAFF_ROLES.get(raw.lower())
    if role is None:
        raise RowRefused(f"bad metadata.dk.staffRole {raw!r} (teacher, pedagogue, leader or admin)")
    return role


def _guardian(row: Row, role: str) -> GuardianRow:
    raw = row.get("metadata.dk.custody")
    custody: bool | frozenset[str] | None = None
    if raw:
        # true/false for all children, else the children (sourcedIds) they have custody of.
        word = _CUSTODY_WORDS.get(raw.lower())
        custody = word if word is not None else frozenset(split_list(raw))
    relation = row.get("metadata.dk.relation").lower() or None
    if relation is not None:
        relation = "-".join(relation.split())
        if not _RELATION.fullmatch(relation):
            raise RowRefused(
                f"bad metadata.dk.relation {row.get('metadata.dk.relation')!r} "
                "(one word of at most 32 letters, e.g. parent, foster)"
            )
    return GuardianRow(role=role, custody=custody, relation=relation, origin=row.origin)
