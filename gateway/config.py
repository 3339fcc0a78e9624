"""Settings, parsed once from ``BUDSTIKKE_*`` environment variables into a frozen struct.

Every variable is declared once in :data:`VARIABLES` (name, type, default, meaning); the
README's configuration table is printed from the same list (``budstikke config --markdown``).
An unknown ``BUDSTIKKE_*`` variable or a value that does not parse stops startup with a
:class:`~gateway.errors.ConfigError` naming it. ``BUDSTIKKE_TEST_*`` variables belong to the
test suite and are ignored here.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from gateway.config_delivery import DELIVERY
from gateway.config_enums import LogFormat, SmtpTls, SubjectMatch
from gateway.config_variables import CORE, PREFIX, Variable
from gateway.errors import ConfigError

TEST_PREFIX = "BUDSTIKKE_TEST_"
__all__ = (
    "PREFIX",
    "TEST_PREFIX",
    "VARIABLES",
    "LogFormat",
    "Settings",
    "SmtpTls",
    "SubjectMatch",
    "Variable",
    "load_settings",
    "markdown_table",
)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of the gateway; build with :func:`load_settings`."""

    data_dir: Path
    database_url: str
    database_replica_url: str | None
    redis_url: str | None
    redis_sentinels: tuple[tuple[str, int], ...]
    redis_sentinel_master: str
    host: str
    port: int
    api_processes: int
    api_max_in_flight: int
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
    frame_ancestors: tuple[str, ...]
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
    portal_thread_url: str | None = None
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
    queue_name: str = "arq:queue"
    delivery_give_up_seconds: int = 172_800
    delivery_lease_seconds: int = 300
    outbox_sweep_after_seconds: int = 30
    push_subscription_expire_days: int = 120
    webhook_timeout_seconds: int = 10
    webhook_max_failures: int = 50
    webhook_allow_private: bool = False
    worker_metrics_port: int = 0
    dev_mail: bool = False
    metrics_token: str | None = None

    @property
    def base_url(self) -> str:
        """The URL links in notifications point at."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def embedded_database(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


VARIABLES: tuple[Variable, ...] = CORE + DELIVERY

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
    _check_replica(values)
    if values["database_url"] is None:
        values["database_url"] = f"sqlite+aiosqlite:///{data_dir / 'budstikke.db'}"
    values["redis_sentinels"] = values["redis_sentinels"] or ()
    _check_sentinels(values)
    values["cors_origins"] = values["cors_origins"] or ()
    values["frame_ancestors"] = values["frame_ancestors"] or ()
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


def _check_replica(values: dict[str, Any]) -> None:
    """A replica only makes sense as a PostgreSQL standby of a PostgreSQL primary."""
    replica = values["database_replica_url"]
    if replica is None:
        return
    name = f"{PREFIX}DATABASE_REPLICA_URL"
    if not _is_postgres(replica):
        raise ConfigError(f"{name} must be a postgresql:// URL: SQLite has no replicas")
    if values["database_url"] is None:
        raise ConfigError(f"{name} is set, so {PREFIX}DATABASE_URL must name its primary")
    if not _is_postgres(values["database_url"]):
        raise ConfigError(
            f"{name} is set, so {PREFIX}DATABASE_URL must be the PostgreSQL primary, not SQLite"
        )


def _is_postgres(url: str) -> bool:
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - keep import time small

    return make_url(url).get_backend_name() == "postgresql"


def _check_sentinels(values: dict[str, Any]) -> None:
    """The sentinels say where the master is; the URL still says which database."""
    if values["redis_sentinels"] and values["redis_url"] is None:
        raise ConfigError(
            f"{PREFIX}REDIS_SENTINELS is set, so {PREFIX}REDIS_URL must be too: it names "
            "the database number and credentials (its host is not used), e.g. "
            "redis://:password@mymaster/0"
        )
    if values["redis_sentinels"] and str(values["redis_url"]).startswith("unix://"):
        raise ConfigError(
            f"{PREFIX}REDIS_SENTINELS is set, so {PREFIX}REDIS_URL must be redis:// or "
            "rediss://, not a unix socket"
        )


def markdown_table() -> str:
    """The configuration table for the README."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for variable in VARIABLES:
        default = f"`{variable.default}`" if variable.default is not None else "(see meaning)"
        lines.append(f"| `{variable.name}` | {default} | {variable.meaning} |")
    return "\n".join(lines)
