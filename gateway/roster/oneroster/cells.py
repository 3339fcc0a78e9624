"""Reading one cell: required values, status, booleans, lists and dates.

Every check raises :class:`RowRefused` with the reason the row is rejected for; the file
readers catch it once per row and report ``"file:line: reason"``.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from gateway.roster.oneroster.dates import parse_date
from gateway.roster.oneroster.table import FirstSeen, Row

# The spec says true/false; these others turn up in exports and cannot mean anything else.
_TRUE = frozenset({"true", "t", "yes", "y", "1", "ja"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "nej"})
# OneRoster 1.0 had ``inactive``; 1.1 and 1.2 say ``tobedeleted``. Both mean gone.
_GONE = frozenset({"tobedeleted", "inactive", "deleted"})


class RowRefused(Exception):
    """This row cannot be used; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def required(row: Row, column: str) -> str:
    value = row.get(column)
    if not value:
        raise RowRefused(f"missing required value {column}")
    return value


def sourced_id(row: Row, seen: FirstSeen, column: str = "sourcedId") -> str:
    """The row's id, refused when empty or when an earlier row of the file has it."""
    value = required(row, column)
    first = seen.claim(value, row.line)
    if first is not None:
        raise RowRefused(f"duplicate {column} {value!r} (first on line {first})")
    return value


def is_deleted(row: Row, *, delta: bool) -> bool:
    """Whether the row says its record is gone (``tobedeleted``).

    Bulk files may leave status empty (the spec even asks them to); delta files must say.
    """
    value = row.get("status").lower()
    if value in _GONE:
        return True
    if value == "active":
        return False
    if not value:
        if delta:
            raise RowRefused(
                "missing required value status (delta files need active or tobedeleted)"
            )
        return False
    raise RowRefused(f"bad status {row.get('status')!r} (active or tobedeleted)")


def parse_boolean(raw: str, column: str) -> bool | None:
    """``True``/``False``, or ``None`` for an empty cell."""
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if not value:
        return None
    raise RowRefused(f"bad boolean {raw!r} in {column} (true or false)")


def boolean(row: Row, column: str, *, default: bool) -> bool:
    value = parse_boolean(row.get(column), column)
    return default if value is None else value


def split_list(raw: str) -> list[str]:
    """A multi-valued cell (``"a,b, c"``) as its values; empty parts are dropped."""
    if not raw:
        return []
    return [part for part in map(str.strip, raw.split(",")) if part]


def joined_list(raw: str) -> str | None:
    """A multi-valued cell kept as text, tidied to ``a,b,c``; ``None`` when empty."""
    values = split_list(raw)
    return ",".join(values) if values else None


def date_cell(row: Row, column: str, zone: ZoneInfo) -> dt.date | None:
    raw = row.get(column)
    if not raw:
        return None
    try:
        return parse_date(raw, zone)
    except ValueError:
        raise RowRefused(f"malformed date {raw!r} in {column} (use YYYY-MM-DD)") from None


def date_range(
    row: Row, begin: str, end: str, zone: ZoneInfo
) -> tuple[dt.date | None, dt.date | None]:
    """Two date cells that must not run backwards."""
    first = date_cell(row, begin, zone)
    last = date_cell(row, end, zone)
    if first is not None and last is not None and last < first:
        raise RowRefused(f"{end} {last.isoformat()} is before {begin} {first.isoformat()}")
    return first, last
