"""demographics.csv: only ``birthDate``, given to the person with the same sourcedId.

Nothing else in the file (sex, ethnicity, place of birth) is read: the gateway has no use
for it, and data it does not hold cannot leak.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from zoneinfo import ZoneInfo

from gateway.roster.models import PersonKind
from gateway.roster.oneroster.cells import RowRefused, date_cell, is_deleted, sourced_id
from gateway.roster.oneroster.references import Known
from gateway.roster.oneroster.table import FirstSeen, Rejections, Table

FILE = "demographics.csv"
COLUMNS = ("sourcedId", "status", "birthDate")
REQUIRED = ("sourcedId",)


class BirthDate(NamedTuple):
    date: dt.date
    origin: str


def read_birth_dates(
    table: Table, *, delta: bool, zone: ZoneInfo, rejections: Rejections
) -> dict[str, BirthDate]:
    dates: dict[str, BirthDate] = {}
    seen = FirstSeen()
    for row in table.rows():
        try:
            source_id = sourced_id(row, seen)
            deleted = is_deleted(row, delta=delta)
            birth = date_cell(row, "birthDate", zone)
        except RowRefused as refused:
            rejections.add(row.origin, refused.reason)
            continue
        if birth is not None and not deleted:
            dates[source_id] = BirthDate(birth, row.origin)
    return dates


def reject_unclaimed(
    dates: dict[str, BirthDate], people: Known[PersonKind], rejections: Rejections
) -> None:
    """Report birth dates whose person was not in users.csv (the reader takes the others)."""
    for source_id, birth in dates.items():
        reason = people.problem("user", source_id)
        if reason is None:
            # A delta users file without this person: there is no record to carry the date.
            reason = f"user {source_id!r} is not in users.csv; a birthDate is set with its user"
        rejections.add(birth.origin, reason)
