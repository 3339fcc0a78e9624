"""The rules a daycare notice's fields must keep, checked without the database.

Two steps, because "today" depends on the institution (its time zone), which is known
only once the child is: :func:`shape` checks what the kinds require (before anything
is looked up, so a bad request learns nothing about a child), :func:`dated` checks the
dates against the institution's today.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from gateway.errors import InvalidInput
from gateway.messaging import sanitise
from gateway.notices.models import NoticeKind
from gateway.notices.schemas import NoticeCreate

MAX_OFF_DAYS = 60  # the longest span one ``off`` notice covers, both ends included
MAX_DAYS_AHEAD = 365  # how far ahead a notice may start or end
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Draft:
    """A notice's fields after the rules: normalised, dates still unchecked."""

    kind: NoticeKind
    from_date: dt.date
    to_date: dt.date
    picked_up_by: str | None
    pickup_time: str | None
    note: str | None


def shape(data: NoticeCreate) -> Draft:
    """The normalised fields; InvalidInput naming each field that breaks its kind's rules."""
    errors: list[str] = []
    name = _one_line(data.picked_up_by) if data.picked_up_by is not None else None
    if data.kind == NoticeKind.PICKED_UP_BY:
        if not name:
            errors.append("picked_up_by: give the name of who collects the child")
        if data.pickup_time is None:
            errors.append("pickup_time: give the time of the pick-up as HH:MM")
    else:
        if data.picked_up_by is not None:
            errors.append(f"picked_up_by: only for kind picked_up_by, not {data.kind.value}")
        if data.pickup_time is not None:
            errors.append(f"pickup_time: only for kind picked_up_by, not {data.kind.value}")
    to_date = data.to_date or data.from_date
    if data.kind != NoticeKind.OFF and to_date != data.from_date:
        errors.append(
            f"to_date: a {data.kind.value} notice is for one day; leave to_date out "
            "or make it equal to from_date"
        )
    if to_date < data.from_date:
        errors.append("to_date: must not be before from_date")
    elif data.kind == NoticeKind.OFF and (to_date - data.from_date).days + 1 > MAX_OFF_DAYS:
        errors.append(
            f"to_date: an off notice covers at most {MAX_OFF_DAYS} days; send one notice per period"
        )
    if errors:
        raise InvalidInput("the notice's fields do not fit its kind", errors)
    note = sanitise.clean_source(data.note) if data.note is not None else None
    return Draft(
        kind=data.kind,
        from_date=data.from_date,
        to_date=to_date,
        picked_up_by=name if data.kind == NoticeKind.PICKED_UP_BY else None,
        pickup_time=data.pickup_time,
        note=note or None,
    )


def dated(draft: Draft, today: dt.date) -> None:
    """InvalidInput when the notice's days are past or too far ahead of ``today``."""
    errors: list[str] = []
    if draft.from_date < today:
        errors.append(f"from_date: must be today ({today.isoformat()}) or later")
    latest = today + dt.timedelta(days=MAX_DAYS_AHEAD)
    if draft.to_date > latest:
        field = "to_date" if draft.to_date != draft.from_date else "from_date"
        errors.append(f"{field}: at most {MAX_DAYS_AHEAD} days ahead (until {latest.isoformat()})")
    if errors:
        raise InvalidInput("the notice's dates are out of range", errors)


def query_date(value: str | None, name: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` query parameter; InvalidInput naming the parameter otherwise."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date as YYYY-MM-DD", [f"{name}: not a date: {value[:20]!r}"]
        ) from None


def _one_line(text: str) -> str:
    """A name as one line: control characters gone, runs of white space one space."""
    return _SPACES.sub(" ", sanitise.clean_source(text)).strip()
