"""The one way the gateway reaches Redis: a URL, or the master that Sentinels name.

With ``BUDSTIKKE_REDIS_SENTINELS`` every client asks the sentinels which server is the
master and asks again after a failover, so the API's queue and live events and the
worker's arq pool all follow the same master without a restart. The URL then only
names the database number and the credentials.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from arq.connections import RedisSettings
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff

from gateway.config import Settings

FAILOVER_RETRIES = 5


def connect_redis(settings: Settings, **options: Any) -> Redis | None:
    """A client for the configured Redis, or None where none is configured.

    ``options`` are redis-py connection options (timeouts); nothing connects until the
    first command.
    """
    if not settings.redis_url:
        return None
    if not settings.redis_sentinels:
        client: Redis = Redis.from_url(settings.redis_url, **options)
        return client
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(settings.redis_sentinels),
        sentinel_kwargs={k: v for k, v in options.items() if k.startswith("socket_")},
        # After a failover the old master answers READONLY; the client then drops the
        # connection, and a retry asks the sentinels for the new master.
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), FAILOVER_RETRIES),
        **_url_options(settings.redis_url),
        **options,
    )
    master: Redis = sentinel.master_for(settings.redis_sentinel_master, redis_class=Redis)
    return master


def arq_settings(settings: Settings) -> RedisSettings:
    """arq's connection settings: the URL's, with the sentinels in place of its host."""
    if not settings.redis_url:
        raise RuntimeError("BUDSTIKKE_REDIS_URL is not set; `budstikke run` starts one for you")
    base = RedisSettings.from_dsn(settings.redis_url)
    if not settings.redis_sentinels:
        return base
    # arq takes the sentinels as the host list and asks them for the master by name.
    base.host = list(settings.redis_sentinels)
    base.sentinel = True
    base.sentinel_master = settings.redis_sentinel_master
    return base


def _url_options(url: str) -> dict[str, Any]:
    """Database number, credentials and TLS from a ``redis://`` URL (host ignored)."""
    parts = urlsplit(url)
    query_db = parse_qs(parts.query).get("db")
    path_db = parts.path.lstrip("/")
    options: dict[str, Any] = {
        "db": int(query_db[0]) if query_db else int(path_db or 0),
        "username": parts.username,
        "password": parts.password,
    }
    if parts.scheme == "rediss":
        options["ssl"] = True
    return options
