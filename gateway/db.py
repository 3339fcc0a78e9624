"""Engine and session factory, and the few helpers that differ by dialect."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, event, insert, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

# SQLite and asyncpg both take far more bound parameters than this; a bounded chunk
# keeps memory flat on a 100 000-child import.
BULK_CHUNK_ROWS = 2_000


def async_url(url: str) -> str:
    """The URL with an async driver (asyncpg, aiosqlite) when none is named."""
    parsed = make_url(url)
    driver = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
    if parsed.drivername in driver:
        parsed = parsed.set(drivername=driver[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine with the settings this gateway relies on for each dialect."""
    url = make_url(async_url(database_url))
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets the API read while the worker or an import writes; foreign keys are off
    # by default in SQLite and we rely on them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def bulk_insert(
    conn: AsyncConnection | AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert many rows in chunks of multi-row INSERTs; return how many were written."""
    for chunk in chunks(rows, BULK_CHUNK_ROWS):
        await conn.execute(insert(table), list(chunk))
    return len(rows)


async def bulk_update(
    conn: AsyncConnection | AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Update many rows by primary key ``id`` as executemany; return how many."""
    by_shape: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        by_shape.setdefault(tuple(sorted(k for k in row if k != "id")), []).append(row)
    for shape, group in by_shape.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({name: bindparam("b_" + name) for name in shape})
        )
        for chunk in chunks(group, BULK_CHUNK_ROWS):
            params = [{"b_" + key: value for key, value in row.items()} for row in chunk]
            await conn.execute(statement, params)
    return len(rows)


async def ping(engine: AsyncEngine) -> None:
    """Run a trivial query; raise if the database cannot be reached."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def dialect_name(engine: AsyncEngine | AsyncConnection) -> str:
    """``postgresql`` or ``sqlite``."""
    return engine.dialect.name


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
