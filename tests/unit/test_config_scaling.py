"""The settings for running past one machine: a read replica and Redis Sentinel."""

from __future__ import annotations

import pytest

from gateway.config import load_settings
from gateway.errors import ConfigError
from gateway.redis_client import arq_settings, connect_redis

PRIMARY = "postgresql+asyncpg://app@db-1.example.dk/budstikke"
REPLICA = "postgresql+asyncpg://app@db-2.example.dk/budstikke"


def test_without_the_new_settings_nothing_changes() -> None:
    settings = load_settings({"BUDSTIKKE_DATABASE_URL": PRIMARY})
    assert settings.database_replica_url is None
    assert settings.redis_sentinels == ()
    assert settings.redis_sentinel_master == "mymaster"


def test_a_replica_of_a_postgresql_primary_is_accepted() -> None:
    settings = load_settings(
        {"BUDSTIKKE_DATABASE_URL": PRIMARY, "BUDSTIKKE_DATABASE_REPLICA_URL": REPLICA}
    )
    assert settings.database_replica_url == REPLICA


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"BUDSTIKKE_DATABASE_REPLICA_URL": REPLICA}, "DATABASE_URL must name its primary"),
        (
            {"BUDSTIKKE_DATABASE_URL": "sqlite:///x.db", "BUDSTIKKE_DATABASE_REPLICA_URL": REPLICA},
            "must be the PostgreSQL primary, not SQLite",
        ),
        (
            {"BUDSTIKKE_DATABASE_URL": PRIMARY, "BUDSTIKKE_DATABASE_REPLICA_URL": "sqlite:///r.db"},
            "SQLite has no replicas",
        ),
        (
            {"BUDSTIKKE_DATABASE_URL": PRIMARY, "BUDSTIKKE_DATABASE_REPLICA_URL": "mysql://x/y"},
            "BUDSTIKKE_DATABASE_REPLICA_URL='mysql://x/y'",
        ),
    ],
)
def test_a_replica_needs_a_postgresql_primary(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ)


def test_sentinels_parse_as_host_port_pairs() -> None:
    settings = load_settings(
        {
            "BUDSTIKKE_REDIS_URL": "redis://:secret@mymaster/3",
            "BUDSTIKKE_REDIS_SENTINELS": " s1.example.dk:26379, [::1]:26380 ,",
            "BUDSTIKKE_REDIS_SENTINEL_MASTER": "budstikke",
        }
    )
    assert settings.redis_sentinels == (("s1.example.dk", 26379), ("::1", 26380))
    arq = arq_settings(settings)
    assert arq.sentinel is True
    assert arq.host == [("s1.example.dk", 26379), ("::1", 26380)]
    assert (arq.sentinel_master, arq.database, arq.password) == ("budstikke", 3, "secret")
    client = connect_redis(settings)
    assert client is not None
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["db"], kwargs["password"]) == (3, "secret")
    assert client.connection_pool.service_name == "budstikke"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"BUDSTIKKE_REDIS_SENTINELS": "s1:26379"}, "REDIS_URL must be too"),
        (
            {"BUDSTIKKE_REDIS_SENTINELS": "s1:26379", "BUDSTIKKE_REDIS_URL": "unix:///r.sock"},
            "not a unix socket",
        ),
        ({"BUDSTIKKE_REDIS_SENTINELS": "s1", "BUDSTIKKE_REDIS_URL": "redis://m/0"}, "host:port"),
        (
            {"BUDSTIKKE_REDIS_SENTINELS": "s1:99999", "BUDSTIKKE_REDIS_URL": "redis://m/0"},
            "host:port",
        ),
        ({"BUDSTIKKE_REDIS_SENTINEL_MASTER": "my master"}, "master's name"),
    ],
)
def test_bad_sentinel_settings_stop_startup(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ)


def test_without_sentinels_the_url_is_used_as_before() -> None:
    settings = load_settings({"BUDSTIKKE_REDIS_URL": "redis://127.0.0.1:6390/4"})
    arq = arq_settings(settings)
    assert (arq.sentinel, arq.host, arq.port, arq.database) == (False, "127.0.0.1", 6390, 4)
