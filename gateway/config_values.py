"""How each setting's text becomes a value: one parser per kind of value.

Each raises ValueError with a message that says what a good value looks like;
:func:`gateway.config.load_settings` adds the variable's name.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw.replace("_", ""))
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def parse_database_url(raw: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - keep import time small

    url = make_url(raw)
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ValueError("must be a postgresql:// or sqlite:// SQLAlchemy URL")
    return raw


def parse_redis_url(raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://")
    return raw


def parse_sentinels(raw: str) -> tuple[tuple[str, int], ...]:
    """``host:port,host:port`` as (host, port) pairs; an empty value means none."""
    sentinels: list[tuple[str, int]] = []
    for item in raw.split(","):
        entry = item.strip()
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{entry!r} is not host:port (e.g. sentinel-1.example.dk:26379)")
        sentinels.append((host, int(port)))
    return tuple(sentinels)


def parse_sentinel_master(raw: str) -> str:
    name = raw.strip()
    if not name or any(char.isspace() for char in name):
        raise ValueError("must be the master's name in the sentinels' configuration")
    return name


def parse_time_zone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("is not a known IANA time zone") from exc
    return raw


def parse_log_level(raw: str) -> str:
    level = raw.strip().lower()
    if level not in {"debug", "info", "warning", "error"}:
        raise ValueError("must be debug, info, warning or error")
    return level


LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def parse_jwks_url(raw: str) -> str:
    url = urlsplit(raw.strip())
    # Keys fetched over plain HTTP could be swapped on the way; only a local identity
    # provider (a test or a sidecar) may use it.
    secure = url.scheme == "https" or (url.scheme == "http" and url.hostname in LOOPBACK)
    if secure and url.hostname:
        return raw.strip()
    raise ValueError("must be an https:// URL (http:// only for localhost)")


def parse_claim(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > 100:
        raise ValueError("must be a claim name of 1 to 100 characters")
    return name


def parse_origins(raw: str) -> tuple[str, ...]:
    origins: list[str] = []
    for item in raw.split(","):
        origin = item.strip().rstrip("/")
        if not origin:
            continue
        url = urlsplit(origin)
        # An allow-list means exact origins: no wildcards, paths or bare host names.
        if (
            url.scheme not in {"http", "https"}
            or not url.hostname
            or "*" in origin
            or url.path
            or url.query
            or url.fragment
        ):
            raise ValueError(f"{origin!r} is not an origin like https://portal.example.dk")
        origins.append(origin)
    return tuple(origins)


def parse_mailbox(raw: str) -> str:
    from email.headerregistry import Address  # noqa: PLC0415 - keep import time small
    from email.utils import parseaddr  # noqa: PLC0415

    value = raw.strip()
    _, address = parseaddr(value)
    if any(char in value for char in "\r\n") or "@" not in address:
        raise ValueError("must be a mailbox like `Budstikke <no-reply@example.dk>`")
    local, _, domain = address.rpartition("@")
    Address(username=local, domain=domain)  # raises ValueError on a malformed address
    return value


def parse_host(raw: str) -> str | None:
    host = raw.strip()
    if any(char.isspace() for char in host) or "/" in host:
        raise ValueError("must be a host name or address, without scheme or path")
    return host or None


def parse_vapid_private_key(raw: str) -> str | None:
    from channels.vapid import load_private_key  # noqa: PLC0415 - keep import time small

    if not raw.strip():
        return None
    load_private_key(raw)  # raises ValueError saying what form the key must take
    return raw.strip()


def parse_vapid_subject(raw: str) -> str:
    subject = raw.strip()
    # RFC 8292: a contact the push service's operator can reach.
    if not subject.startswith(("mailto:", "https://")) or len(subject) < 10:
        raise ValueError("must be a contact like `mailto:drift@kommune.dk` or an https:// URL")
    return subject


def parse_clock(raw: str) -> int:
    """``HH:MM`` as minutes after midnight."""
    hours, sep, minutes = raw.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError("must be a time of day like 17:00")
    value = int(hours) * 60 + int(minutes)
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError("must be a time of day between 00:00 and 23:59")
    return value


def parse_clock_range(raw: str) -> tuple[int, int]:
    """``HH:MM-HH:MM`` (may wrap past midnight) as minutes after midnight."""
    start, sep, end = raw.strip().partition("-")
    if not sep:
        raise ValueError("must be a range of times like 20:00-07:00")
    first, last = parse_clock(start), parse_clock(end)
    if first == last:
        raise ValueError("must be a range of times like 20:00-07:00, not empty")
    return first, last


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_working_hours(raw: str) -> tuple[tuple[int, ...], int, int]:
    """``mon-fri 07:30-16:30`` as (weekdays 0=Monday…, start, end minutes)."""
    days, _, hours = raw.strip().lower().partition(" ")
    first, sep, last = days.partition("-")
    if first not in DAYS or (sep and last not in DAYS):
        raise ValueError("must be like `mon-fri 07:30-16:30` (days mon…sun, then a time range)")
    begin = DAYS.index(first)
    end = DAYS.index(last) if sep else begin
    weekdays = tuple(range(begin, end + 1)) if begin <= end else (*range(begin, 7), *range(end + 1))
    start, stop = parse_clock_range(hours)
    if stop < start:
        raise ValueError("working hours must end after they start on the same day")
    return weekdays, start, stop


def parse_public_url(raw: str) -> str | None:
    value = raw.strip().rstrip("/")
    if not value:
        return None
    url = urlsplit(value)
    if url.scheme not in {"http", "https"} or not url.hostname or url.query or url.fragment:
        raise ValueError("must be the gateway's public URL like https://besked.kommune.dk")
    return value


def parse_domain(raw: str) -> str | None:
    value = raw.strip().lower().rstrip(".")
    if not value:
        return None
    labels = value.split(".")
    if any(not label or len(label) > 63 for label in labels) or not all(
        char.isalnum() or char in "-." for char in value
    ):
        raise ValueError("must be a domain name like besked.kommune.dk")
    return value


def parse_portal_thread_url(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    url = urlsplit(value.replace("{thread_id}", "x"))
    if "{thread_id}" not in value or url.scheme not in {"http", "https"} or not url.hostname:
        raise ValueError("must be an https:// URL containing {thread_id}")
    return value
