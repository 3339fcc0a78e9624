"""academicSessions.csv: checked and counted, not imported.

Budstikke has no terms: memberships carry their own dates. The file is still read so a
broken one is reported, since a system that writes bad session dates likely writes bad
enrollment dates too.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from gateway.roster.oneroster.cells import RowRefused, date_range, is_deleted, required, sourced_id
from gateway.roster.oneroster.table import FirstSeen, Rejections, Table

FILE = "academicSessions.csv"
COLUMNS = ("sourcedId", "status", "title", "type", "startDate", "endDate", "schoolYear")
REQUIRED = ("sourcedId", "startDate", "endDate")


def check_sessions(table: Table, *, delta: bool, zone: ZoneInfo, rejections: Rejections) -> None:
    seen = FirstSeen()
    for row in table.rows():
        try:
            sourced_id(row, seen)
            if not is_deleted(row, delta=delta):
                required(row, "startDate")
                required(row, "endDate")
            date_range(row, "startDate", "endDate", zone)
        except RowRefused as refused:
            rejections.add(row.origin, refused.reason)
