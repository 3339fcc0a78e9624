"""enrollments.csv: who is in which group, and as what.

The group role comes from the enrollment's role, refined by what the set knows: a
``teacher`` at a daycare institution is a pedagogue, and a user's
``metadata.dk.staffRole`` overrides the role of every staff enrollment they have.
Guardians are never members of a group.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from gateway.roster.models import InstitutionKind, MemberRole, PersonKind
from gateway.roster.oneroster.cells import (
    RowRefused,
    boolean,
    date_range,
    is_deleted,
    required,
    sourced_id,
)
from gateway.roster.oneroster.references import Known
from gateway.roster.oneroster.roles import canonical_role, describe, member_role, person_kind
from gateway.roster.oneroster.table import FirstSeen, Rejections, Row, Table
from gateway.roster.records import MembershipRecord

FILE = "enrollments.csv"
COLUMNS = (
    "sourcedId",
    "status",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
)
# The spec requires sourcedId too; without it memberships are still known by group and user.
REQUIRED = ("classSourcedId", "userSourcedId", "role")


@dataclass(frozen=True)
class _Lookups:
    delta: bool
    zone: ZoneInfo
    groups: Known[InstitutionKind | None]
    people: Known[PersonKind]
    staff_roles: dict[str, MemberRole]


def read_memberships(
    table: Table,
    *,
    delta: bool,
    zone: ZoneInfo,
    groups: Known[InstitutionKind | None],
    people: Known[PersonKind],
    staff_roles: dict[str, MemberRole],
    rejections: Rejections,
) -> list[MembershipRecord]:
    lookups = _Lookups(delta, zone, groups, people, staff_roles)
    records: list[MembershipRecord] = []
    seen_ids = FirstSeen()
    seen_members = FirstSeen()
    with_ids = table.has("sourcedId")
    for row in table.rows():
        try:
            records.append(_record(row, lookups, seen_ids if with_ids else None, seen_members))
        except RowRefused as refused:
            rejections.add(row.origin, refused.reason)
    return records


def _record(
    row: Row, lookups: _Lookups, seen_ids: FirstSeen | None, seen_members: FirstSeen
) -> MembershipRecord:
    source_id = sourced_id(row, seen_ids) if seen_ids is not None else None
    deleted = is_deleted(row, delta=lookups.delta)
    group = required(row, "classSourcedId")
    user = required(row, "userSourcedId")
    role = canonical_role(row.get("role"))
    primary = boolean(row, "primary", default=False)
    begin, end = date_range(row, "beginDate", "endDate", lookups.zone)
    if not deleted:
        for noun, known, ref in (("class", lookups.groups, group), ("user", lookups.people, user)):
            reason = known.problem(noun, ref)
            if reason is not None:
                raise RowRefused(reason)
    user_kind = lookups.people.get(user)
    if user_kind is not None and user_kind is not person_kind(role) and not deleted:
        raise RowRefused(
            f"user {user!r} is {describe(user_kind)}, so cannot be enrolled as {role!r}"
        )
    member = member_role(role, lookups.groups.get(group), lookups.staff_roles.get(user))
    first = seen_members.claim(f"{group}\x00{user}\x00{member}", row.line)
    if first is not None:
        raise RowRefused(
            f"duplicate enrollment of {user!r} in {group!r} as {member} (first on line {first})"
        )
    return MembershipRecord(
        origin=row.origin,
        group=group,
        person=user,
        role=member,
        source_id=source_id,
        primary=primary,
        begin_date=begin,
        end_date=end,
        active=not deleted,
    )
