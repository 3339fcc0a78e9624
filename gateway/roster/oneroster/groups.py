"""classes.csv: classes, years, rooms, clubs and staff groups of one institution each.

OneRoster knows only classes; ``metadata.dk.kind`` says what the group really is. Without
it a group is a ``room`` (stue) at a daycare institution and a ``class`` at a school.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.roster.models import GroupKind, InstitutionKind
from gateway.roster.oneroster.cells import (
    RowRefused,
    is_deleted,
    joined_list,
    required,
    sourced_id,
)
from gateway.roster.oneroster.orgs import Org
from gateway.roster.oneroster.references import Known
from gateway.roster.oneroster.table import FirstSeen, Rejections, Row, Table
from gateway.roster.records import GroupRecord

FILE = "classes.csv"
COLUMNS = (
    "sourcedId",
    "status",
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
    "metadata.dk.kind",
)
REQUIRED = ("sourcedId", "title", "schoolSourcedId")
_DETAILS = ("classType", "classCode", "location")


@dataclass
class GroupsFile:
    # Each group's institution kind, when that institution is in this set (else None).
    known: Known[InstitutionKind | None]
    records: list[GroupRecord] = field(default_factory=list)


def read_groups(
    table: Table, *, delta: bool, orgs: Known[Org], rejections: Rejections
) -> GroupsFile:
    result = GroupsFile(known=Known(FILE, complete=not delta))
    seen = FirstSeen()
    for row in table.rows():
        try:
            record, institution_kind = _record(row, seen, delta, orgs)
        except RowRefused as refused:
            result.known.refuse(row.get("sourcedId"))
            rejections.add(row.origin, refused.reason)
            continue
        result.records.append(record)
        result.known.add(record.source_id, institution_kind)
    return result


def _record(
    row: Row, seen: FirstSeen, delta: bool, orgs: Known[Org]
) -> tuple[GroupRecord, InstitutionKind | None]:
    source_id = sourced_id(row, seen)
    deleted = is_deleted(row, delta=delta)
    # A deletion needs only its sourcedId; the sync matches groups by it.
    school = row.get("schoolSourcedId") if deleted else required(row, "schoolSourcedId")
    title = (row.get("title") or source_id) if deleted else required(row, "title")
    org = orgs.get(school)
    if org is None and not deleted:
        reason = orgs.problem("school", school)
        if reason is not None:
            raise RowRefused(reason)
    elif org is not None and org.kind is None:
        raise RowRefused(f"org {school!r} is a {org.type}, not a school or daycare institution")
    institution_kind = org.kind if org is not None else None
    record = GroupRecord(
        origin=row.origin,
        source_id=source_id,
        institution=school,
        kind=_kind(row.get("metadata.dk.kind"), institution_kind),
        name=title,
        grades=joined_list(row.get("grades")),
        details={name: value for name in _DETAILS if (value := row.get(name))},
        active=not deleted,
    )
    return record, institution_kind


def _kind(raw: str, institution: InstitutionKind | None) -> GroupKind:
    if raw:
        try:
            return GroupKind(raw.lower())
        except ValueError:
            raise RowRefused(
                f"bad metadata.dk.kind {raw!r} (class, year, room, club, staff or custom)"
            ) from None
    return GroupKind.ROOM if institution is InstitutionKind.DAYCARE else GroupKind.CLASS
