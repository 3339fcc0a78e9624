"""The database side: SQLite and PostgreSQL copies, table listing, revisions and client tools."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from gateway import migrate
from gateway.backup.archive import Engine
from gateway.db import create_engine
from gateway.errors import ConfigError, InvalidInput, Unavailable


def engine_of(database_url: str) -> Engine:
    backend = make_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"backups know SQLite and PostgreSQL, not {backend}")
    return cast("Engine", backend)


def _dump(database_url: str, engine: Engine, target: Path) -> str | None:
    """Copy the database to ``target``; the Alembic revision of that copy."""
    if engine == "sqlite":
        return _dump_sqlite(_sqlite_path(database_url), target)
    run = _libpq(database_url)
    _run([_tool("pg_dump"), "--format=custom", f"--file={target}", *run.args], run.env)
    # Read the revision from the dump itself: it is the same snapshot as the data.
    listing = _run(
        [_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(target)],
        run.env,
    )
    lines = listing.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and number + 1 < len(lines):
            found = lines[number + 1].strip()
            return None if found == "\\." else found
    return None


def _dump_sqlite(source_path: Path, target: Path) -> str | None:
    if not source_path.is_file():
        raise ConfigError(f"the database file {source_path} does not exist")
    # The online backup API copies a consistent snapshot while the gateway keeps writing.
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        # One self-contained file: no -wal beside it to forget.
        copy.execute("PRAGMA journal_mode=DELETE")
        return _sqlite_revision(copy)
    finally:
        copy.close()
        source.close()


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else str(row[0])


def _tables(database_url: str, engine: Engine) -> list[str]:
    if engine == "sqlite":
        path = _sqlite_path(database_url)
        if not path.exists():
            return []
        connection = sqlite3.connect(path)
        try:
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
        finally:
            connection.close()
        return sorted(str(row[0]) for row in rows)
    query = (
        "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        " WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
    )
    return [str(name) for name in _postgres_query(database_url, query)]


def _postgres_query(database_url: str, query: str) -> list[object]:
    async def run() -> list[object]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return list((await connection.execute(text(query))).scalars())
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (OSError, DBAPIError) as exc:
        raise Unavailable(f"cannot reach the database: {exc}") from exc


def _current_revision(database_url: str, engine: Engine) -> str | None:
    if engine == "postgresql":
        rows = _postgres_query(database_url, "SELECT version_num FROM alembic_version")
        return str(rows[0]) if rows else None
    connection = sqlite3.connect(_sqlite_path(database_url))
    try:
        return _sqlite_revision(connection)
    finally:
        connection.close()


def _check_known(revision: str | None, database_url: str) -> None:
    if revision is None:
        return
    scripts = ScriptDirectory.from_config(migrate.alembic_config(database_url))
    try:
        scripts.get_revision(revision)
    except CommandError as exc:
        raise InvalidInput(
            f"the archive is at schema revision {revision}, which this release does not know; "
            "restore it with the release that made it, or a newer one"
        ) from exc


def _load(dump: Path, database_url: str, engine: Engine) -> None:
    if engine == "postgresql":
        run = _libpq(database_url)
        # One transaction: a restore that fails half-way leaves the database empty.
        command = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
        _run([*command, "--single-transaction", *run.args, str(dump)], run.env)
        return
    target = _sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    try:
        shutil.copyfile(dump, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


# -- PostgreSQL client tools -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Libpq:
    args: tuple[str, ...]
    env: dict[str, str]


def _libpq(database_url: str) -> _Libpq:
    """Connection options for pg_dump/pg_restore; the password goes in the environment."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    host = url.query.get("host") or url.host
    ssl = url.query.get("sslmode") or url.query.get("ssl")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = ssl
    args = [f"--dbname={url.database or 'postgres'}", "--no-password"]
    if isinstance(host, str):
        args.append(f"--host={host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    return _Libpq(tuple(args), env)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(
            f"{name} is not installed (or not on PATH): install the PostgreSQL client tools "
            "at the server's major version or newer (Debian: apt-get install postgresql-client)"
        )
    return found


def _run(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        tool = Path(command[0]).name
        raise Unavailable(f"{tool} failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise ConfigError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)
