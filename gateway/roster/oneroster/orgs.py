"""orgs.csv: the municipality (the ``district`` org) and its schools and daycare institutions.

Only ``school`` orgs, and orgs of any other non-district type that carry
``metadata.dk.kind``, become institutions. Departments, local, state and national orgs
are remembered (so references to them are not "unknown") but not imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.roster.models import InstitutionKind
from gateway.roster.oneroster.cells import RowRefused, is_deleted, required, sourced_id
from gateway.roster.oneroster.references import Known
from gateway.roster.oneroster.table import FirstSeen, Rejections, Row, Table
from gateway.roster.records import InstitutionRecord, MunicipalityRecord

FILE = "orgs.csv"
COLUMNS = (
    "sourcedId",
    "status",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
    "metadata.dk.kind",
    "metadata.dk.timeZone",
)
REQUIRED = ("sourcedId", "name", "type")

_OTHER_TYPES = frozenset({"local", "state", "national", "department"})


class Org(NamedTuple):
    """An org as other files see it; ``kind`` is ``None`` for orgs that are not institutions."""

    type: str
    kind: InstitutionKind | None


@dataclass
class OrgsFile:
    institutions: list[InstitutionRecord]
    known: Known[Org]
    municipality: MunicipalityRecord | None = None
    district_line: int = 0


def read_orgs(
    table: Table, *, delta: bool, default_time_zone: str, rejections: Rejections
) -> OrgsFile:
    result = OrgsFile(institutions=[], known=Known(FILE, complete=not delta))
    seen = FirstSeen()
    for row in table.rows():
        try:
            _read_row(row, result, seen, delta, default_time_zone)
        except RowRefused as refused:
            result.known.refuse(row.get("sourcedId"))
            rejections.add(row.origin, refused.reason)
    return result


def _read_row(
    row: Row, result: OrgsFile, seen: FirstSeen, delta: bool, default_time_zone: str
) -> None:
    source_id = sourced_id(row, seen)
    deleted = is_deleted(row, delta=delta)
    org_type = row.get("type").lower()
    if not org_type and not deleted:
        raise RowRefused("missing required value type")
    raw_kind = row.get("metadata.dk.kind")
    if org_type == "district":
        _district(row, result, source_id, deleted)
        return
    if raw_kind:
        kind = _institution_kind(raw_kind)
    elif org_type == "school" or (deleted and not org_type):
        kind = InstitutionKind.SCHOOL
    elif org_type in _OTHER_TYPES or org_type.startswith("ext:"):
        result.known.add(source_id, Org(org_type, None))
        return
    else:
        raise RowRefused(f"bad org type {row.get('type')!r}")
    # A delta deletion needs only the id; the name is a placeholder the sync never shows.
    name = (row.get("name") or source_id) if deleted else required(row, "name")
    result.institutions.append(
        InstitutionRecord(
            origin=row.origin,
            source_id=source_id,
            kind=kind,
            name=name,
            identifier=row.get("identifier") or None,
            time_zone=_time_zone(row.get("metadata.dk.timeZone"), default_time_zone),
            active=not deleted,
        )
    )
    result.known.add(source_id, Org(org_type or "school", kind))


def _district(row: Row, result: OrgsFile, source_id: str, deleted: bool) -> None:
    if result.municipality is not None:
        raise RowRefused(
            f"second district org {source_id!r} (first on line {result.district_line}): "
            "one set is one municipality"
        )
    name = row.get("name") if deleted else required(row, "name")
    result.municipality = MunicipalityRecord(
        code=row.get("identifier") or source_id, name=name or source_id, source_id=source_id
    )
    result.district_line = row.line
    result.known.add(source_id, Org("district", None))


def _institution_kind(raw: str) -> InstitutionKind:
    try:
        return InstitutionKind(raw.lower())
    except ValueError:
        raise RowRefused(f"bad metadata.dk.kind {raw!r} (school or daycare)") from None


def _time_zone(raw: str, default: str) -> str:
    if not raw:
        return default
    if not _is_zone(raw):
        raise RowRefused(
            f"unknown time zone {raw!r} in metadata.dk.timeZone (e.g. Europe/Copenhagen)"
        )
    return raw


@lru_cache(maxsize=64)
def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def municipality(orgs: OrgsFile, municipality_code: str | None) -> MunicipalityRecord | None:
    """The batch's municipality: the district org, with ``municipality_code`` winning as code."""
    district = orgs.municipality
    if municipality_code is None:
        return district
    if district is None:
        return MunicipalityRecord(code=municipality_code, name=municipality_code)
    return MunicipalityRecord(
        code=municipality_code, name=district.name, source_id=district.source_id
    )
