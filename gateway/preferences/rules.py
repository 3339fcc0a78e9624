"""The rules of calm: which mode applies, and when a notification may go out.

Pure functions over plain values, so planning can apply them to a whole audience in
one pass. Times are UTC in and out; quiet and working hours are read in the
institution's time zone (DST included: 20:00 is 20:00 local on both sides of a change).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from gateway.preferences.models import Category, Mode

CHANNELS = ("webpush", "email")
CATEGORIES = tuple(Category)
# Institution defaults live in ``institutions.settings["notifications"]``:
# {"announcement": {"email": "digest"}, …}. Built in: everything instant.
DEFAULTS_KEY = "notifications"
Defaults = Mapping[str, Mapping[str, str]]
MODES = frozenset(mode.value for mode in Mode)


def default_mode(category: str, channel: str, defaults: Defaults | None) -> Mode:
    """The institution's default for a category over a channel (built in: instant)."""
    if category == Category.URGENT:
        return Mode.INSTANT
    chosen = (defaults or {}).get(category, {}).get(channel)
    return Mode(chosen) if chosen in MODES else Mode.INSTANT


def effective_mode(
    category: str, channel: str, chosen: str | None, defaults: Defaults | None
) -> Mode:
    """The person's choice, else the default; ``urgent`` is always instant."""
    if category == Category.URGENT:
        return Mode.INSTANT
    if chosen is not None:
        return Mode(chosen)
    return default_mode(category, channel, defaults)


def _local(now: dt.datetime, zone: str) -> dt.datetime:
    return now.astimezone(ZoneInfo(zone))


def _at(day: dt.date, minutes: int, zone: str) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), ZoneInfo(zone))
    return local.astimezone(dt.UTC)


def after_quiet_hours(now: dt.datetime, zone: str, quiet: tuple[int, int]) -> dt.datetime:
    """``now`` if it is outside the quiet hours, else the moment they end."""
    start, end = quiet
    local = _local(now, zone)
    minute = local.hour * 60 + local.minute
    if start > end:  # wraps midnight, e.g. 20:00-07:00
        if minute >= start:
            return _at(local.date() + dt.timedelta(days=1), end, zone)
        if minute < end:
            return _at(local.date(), end, zone)
        return now
    if start <= minute < end:
        return _at(local.date(), end, zone)
    return now


def within_working_hours(
    now: dt.datetime, zone: str, working: tuple[tuple[int, ...], int, int]
) -> dt.datetime:
    """``now`` if it is inside working hours, else the start of the next working period."""
    days, start, end = working
    if not days:
        return now
    local = _local(now, zone)
    minute = local.hour * 60 + local.minute
    if local.weekday() in days and start <= minute < end:
        return now
    day = local.date()
    if local.weekday() in days and minute < start:
        return _at(day, start, zone)
    for ahead in range(1, 8):
        candidate = day + dt.timedelta(days=ahead)
        if candidate.weekday() in days:
            return _at(candidate, start, zone)
    return now  # pragma: no cover - ``days`` is never empty here


def next_send_time(
    now: dt.datetime,
    *,
    staff: bool,
    urgent: bool,
    zone: str,
    quiet: tuple[int, int],
    working: tuple[tuple[int, ...], int, int],
) -> dt.datetime:
    """When push or email may reach this person: at once, or when their hours allow."""
    if urgent:
        return now
    if staff:
        return within_working_hours(now, zone, working)
    return after_quiet_hours(now, zone, quiet)


def next_digest_time(now: dt.datetime, zone: str, minutes: int) -> dt.datetime:
    """The next digest moment (today's if it is still ahead, else tomorrow's)."""
    local = _local(now, zone)
    today = _at(local.date(), minutes, zone)
    if today > now:
        return today
    return _at(local.date() + dt.timedelta(days=1), minutes, zone)
