"""Engine and session factory, and the few helpers that differ by dialect."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import JSON, Table, bindparam, event, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
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
BULK_COPY_ROWS = 20_000


def async_url(url: str) -> str:
    """The URL with an async driver (asyncpg, aiosqlite) when none is named."""
    parsed = make_url(url)
    driver = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
    if parsed.drivername in driver:
        parsed = parsed.set(drivername=driver[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


# A replica's sessions cannot write, even where its URL names the primary by mistake.
READ_ONLY: Mapping[str, str] = {"default_transaction_read_only": "on"}
# With a replica, a commit on the primary returns once the synchronous standbys have
# applied it, so a read on them right after sees it. Without synchronous standbys
# (`synchronous_standby_names` empty) PostgreSQL treats this as plain `on`: no wait.
READ_YOUR_WRITES: Mapping[str, str] = {"synchronous_commit": "remote_apply"}


def create_engine(
    database_url: str,
    *,
    pool_size: int = 10,
    server_settings: Mapping[str, str] | None = None,
) -> AsyncEngine:
    """An async engine with the settings this gateway relies on for each dialect.

    ``server_settings`` are PostgreSQL session settings every connection starts with.
    """
    url = make_url(async_url(database_url))
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"server_settings": dict(server_settings)} if server_settings else {}
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping per checkout: on asyncpg it is BEGIN, a statement and ROLLBACK, three
        # round trips, which were a third of an inbox request's CPU. A connection that
        # died (a database restart) fails the one request that meets it, as a 503, and
        # SQLAlchemy then replaces every pooled connection; recycling bounds their age.
        pool_recycle=1800,
        connect_args=connect_args,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets the API read while the worker or an import writes; foreign keys are off
    # by default in SQLite and we rely on them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache: index pages of a large roster import stay in memory.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def bulk_insert(
    conn: AsyncConnection | AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert many rows fast; return how many were written.

    PostgreSQL gets a binary ``COPY`` (asyncpg), SQLite one prepared ``executemany``.
    Both bypass SQLAlchemy's per-row statement compilation, which costs more than the
    insert itself at roster scale; column types still convert values as they would.
    Every row must carry the same keys.
    """
    if not rows:
        return 0
    connection = conn if isinstance(conn, AsyncConnection) else await conn.connection()
    rows = _with_defaults(table, rows)
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    dialect = connection.dialect
    if dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        convert = [_copy_converter(column) for column in columns]
        for chunk in chunks(rows, BULK_COPY_ROWS):
            records = [
                tuple(f(row[n]) if f else row[n] for f, n in zip(convert, names, strict=True))
                for row in chunk
            ]
            try:
                await driver.copy_records_to_table(table.name, records=records, columns=names)
            except asyncpg.IntegrityConstraintViolationError as exc:
                # The same error SQLAlchemy raises for an INSERT, so callers catch one thing.
                raise IntegrityError(f"COPY {table.name}", None, exc) from exc
        return len(rows)
    processors = [
        _remembering(column.type.dialect_impl(dialect).bind_processor(dialect))
        for column in columns
    ]
    quote = dialect.identifier_preparer.quote
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    for chunk in chunks(rows, BULK_CHUNK_ROWS):
        params = [
            tuple(p(row[n]) if p else row[n] for p, n in zip(processors, names, strict=True))
            for row in chunk
        ]
        await connection.exec_driver_sql(statement, params)
    return len(rows)


def _remembering(process: Any) -> Any:
    """Skip converting a value that is the very object converted last time.

    A bulk insert repeats the same municipality id and timestamp in every row; converting
    each once per chunk instead of once per row is a large share of the insert's cost.
    """
    if process is None:
        return None
    last: list[Any] = [object(), None]

    def convert(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return convert


def _with_defaults(table: Table, rows: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """Fill in the Python-side column defaults an ORM insert would have applied."""
    missing = [
        column
        for column in table.c
        if column.name not in rows[0] and column.default is not None and not column.primary_key
    ]
    if not missing:
        return rows
    makers: list[tuple[str, Any]] = []
    for column in missing:
        default: Any = column.default
        if default.is_callable:
            makers.append((column.name, lambda d=default: d.arg(None)))
        elif default.is_scalar:
            makers.append((column.name, lambda d=default: d.arg))
    return [{**row, **{name: make() for name, make in makers}} for row in rows]


def _copy_converter(column: Any) -> Any:
    # asyncpg's COPY takes native values, except JSON, which it wants as text.
    if isinstance(column.type, JSON):
        return lambda value: None if value is None else json.dumps(value)
    return None


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


async def replica_lag_seconds(engine: AsyncEngine) -> float:
    """How far a standby's data is behind its primary, in seconds (0 when caught up).

    A standby that has replayed all it received is current, however long ago the
    last transaction was; otherwise the lag is the age of the last one it replayed.
    Raises if the server is not in recovery (the URL names a primary).
    """
    async with engine.connect() as conn:
        row = (await conn.execute(text(_LAG_SQL))).one()
    if not row.in_recovery:
        raise RuntimeError("the replica URL names a server that is not a standby")
    return float(row.lag or 0.0)


_LAG_SQL = """
SELECT pg_is_in_recovery() AS in_recovery,
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
            THEN 0
            ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
       END AS lag
"""


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
