"""A person's roles at institutions: roles.csv (1.2) or users.csv's orgSourcedIds (1.1).

roles.csv is read before users.csv because in 1.2 it is where a user's role, and so
whether they are a child, a guardian or staff, is written. Roles at the district or at a
department are dropped without complaint: they say nothing about an institution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from gateway.roster.models import PersonKind
from gateway.roster.oneroster.cells import (
    RowRefused,
    date_range,
    is_deleted,
    required,
    sourced_id,
    split_list,
)
from gateway.roster.oneroster.orgs import Org
from gateway.roster.oneroster.references import Known
from gateway.roster.oneroster.roles import canonical_role
from gateway.roster.oneroster.table import FirstSeen, Rejections, Row, Table
from gateway.roster.records import AffiliationRecord

FILE = "roles.csv"
COLUMNS = (
    "sourcedId",
    "status",
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
)
# The spec also requires sourcedId and roleType; neither is needed to import a role.
REQUIRED = ("userSourcedId", "role", "orgSourcedId")


@dataclass
class RolesFile:
    # The role that decides what each user is: their first active primary role, else the
    # first active one, else (a deletion) the first one.
    person_roles: dict[str, str] = field(default_factory=dict)
    affiliations: list[AffiliationRecord] = field(default_factory=list)


def read_roles(
    table: Table, *, delta: bool, zone: ZoneInfo, orgs: Known[Org], rejections: Rejections
) -> RolesFile:
    result = RolesFile()
    ranks: dict[str, int] = {}
    seen_ids = FirstSeen()
    seen_roles = FirstSeen()
    for row in table.rows():
        try:
            if table.has("sourcedId"):
                sourced_id(row, seen_ids)
            user = required(row, "userSourcedId")
            role = canonical_role(row.get("role"))
            primary = _role_type(row)
            deleted = is_deleted(row, delta=delta)
            # An active primary role decides; a role being deleted decides only if alone.
            rank = (0 if primary else 1) + (2 if deleted else 0)
            if rank < ranks.get(user, 4):
                ranks[user] = rank
                result.person_roles[user] = role
            org = required(row, "orgSourcedId")
            begin, end = date_range(row, "beginDate", "endDate", zone)
            if not _is_institution(orgs, org):
                continue
            first = seen_roles.claim(f"{user}\x00{org}\x00{role}", row.line)
            if first is not None:
                raise RowRefused(
                    f"duplicate role {role!r} of user {user!r} at org {org!r} "
                    f"(first on line {first})"
                )
        except RowRefused as refused:
            rejections.add(row.origin, refused.reason)
            continue
        result.affiliations.append(
            AffiliationRecord(
                origin=row.origin,
                person=user,
                institution=org,
                role=role,
                primary=primary,
                begin_date=begin,
                end_date=end,
                active=not deleted,
            )
        )
    return result


def _role_type(row: Row) -> bool:
    value = row.get("roleType").lower()
    if value == "secondary":
        return False
    if value in {"primary", ""}:
        # Many exports leave roleType out; a role then counts as primary, as in 1.1.
        return True
    raise RowRefused(f"bad roleType {row.get('roleType')!r} (primary or secondary)")


def _is_institution(orgs: Known[Org], org: str) -> bool:
    """Whether a role at ``org`` is kept; refuses unknown orgs of a bulk orgs.csv."""
    known = orgs.get(org)
    if known is not None:
        return known.kind is not None
    reason = orgs.problem("org", org)
    if reason is not None:
        raise RowRefused(reason)
    return True


def affiliations_from_user(
    row: Row,
    user: str,
    role: str,
    *,
    deleted: bool,
    orgs: Known[Org],
    rejections: Rejections,
) -> list[AffiliationRecord]:
    """1.1: one affiliation per ``orgSourcedIds`` entry, the first one primary.

    An unknown org drops that affiliation only; the person is still imported.
    """
    records: list[AffiliationRecord] = []
    listed: set[str] = set()
    for org in split_list(row.get("orgSourcedIds")):
        if org in listed:
            continue
        listed.add(org)
        try:
            if not _is_institution(orgs, org):
                continue
        except RowRefused as refused:
            rejections.add(row.origin, f"{refused.reason} in orgSourcedIds (that role is skipped)")
            continue
        records.append(
            AffiliationRecord(
                origin=row.origin,
                person=user,
                institution=org,
                role=role,
                primary=not records,
                active=not deleted,
            )
        )
    return records


def keep_known_people(
    records: list[AffiliationRecord], people: Known[PersonKind], rejections: Rejections
) -> list[AffiliationRecord]:
    """The roles whose user can be used; the others are reported (users.csv is read later)."""
    kept: list[AffiliationRecord] = []
    for record in records:
        reason = people.problem("user", record.person)
        if reason is None:
            kept.append(record)
        else:
            rejections.add(record.origin, reason)
    return kept
