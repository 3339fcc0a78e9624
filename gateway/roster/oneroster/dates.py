"""Dates as real systems write them: ISO 8601 first, then the Danish and other clear forms.

OneRoster says ``YYYY-MM-DD``. Exports also carry date-times (``2024-08-01T00:00:00Z``),
Danish day-first dates (``01-08-2024``, ``01.08.2024``, ``1/8/2024``) and year-first with
other separators (``2024/08/01``). Each is accepted when it can mean one day only;
two-digit years and anything else are refused.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

_YEAR_FIRST = re.compile(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})[-./](\d{1,2})[-./](\d{4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_date(raw: str, zone: ZoneInfo) -> dt.date:
    """The day ``raw`` names; a date-time with an offset counts in ``zone``.

    Raises ``ValueError`` when ``raw`` is not a date in any accepted form.
    """
    text = raw.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return dt.date.fromisoformat(text)  # the spec's form, and by far the most common
    if "T" in text or ":" in text:
        return _date_of_datetime(text, zone)
    if match := _YEAR_FIRST.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
        return dt.date(year, month, day)
    if match := _DAY_FIRST.fullmatch(text):
        first, second, year = (int(part) for part in match.groups())
        if first <= 12 < second:
            # Only a US export writes month first; a day over 12 in second place says so.
            return dt.date(year, first, second)
        return dt.date(year, second, first)
    if match := _COMPACT.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
        return dt.date(year, month, day)
    raise ValueError(f"not a date: {raw!r}")


def _date_of_datetime(text: str, zone: ZoneInfo) -> dt.date:
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        # Local midnight exported as UTC (2024-07-31T22:00:00Z) is 1 August in Denmark.
        moment = moment.astimezone(zone)
    return moment.date()
