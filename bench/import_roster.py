#!/usr/bin/env python3
"""Roster import benchmark: `budstikke import oneroster` against raw ceilings, same run.

    .venv/bin/python bench/import_roster.py [--children 10000] [--engine sqlite|postgresql]

It writes the demo municipality with ``--children`` children, then measures, on the same
machine in the same run:

- baseline *read*: the standard library's ``csv`` reading every file (the floor of any
  CSV import), against the OneRoster reader (validation, references, mapping);
- baseline *write*: the same number of rows as the import writes, inserted raw (asyncpg
  ``COPY`` on PostgreSQL, one ``executemany`` on SQLite) into a table of the same width,
  against the whole import (read + decide + write);
- the re-import of the same files (nothing changes).

It prints one line per figure with the ratio to its baseline and writes
``bench/results/import_roster.json``. PostgreSQL comes from ``BUDSTIKKE_TEST_POSTGRES_URL``
or an embedded ``pgserver``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from harness import Result, fresh_postgres, import_demo, postgres_admin_url

from gateway import migrate
from gateway.db import create_engine
from gateway.roster.demo import write_demo_data
from gateway.roster.oneroster import read_oneroster


def _raw_csv_rows(folder: Path) -> int:
    rows = 0
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as file:
            rows += sum(1 for _ in csv.reader(file)) - 1
    return rows


async def _raw_write(database_url: str, rows: int) -> float:
    """Seconds to insert ``rows`` rows of 10 columns with the driver alone."""
    records = [
        (uuid.uuid4(), uuid.uuid4(), f"s-{i}", "child", "Given", "Family", False, "da", True, i)
        for i in range(rows)
    ]
    columns = "id uuid, m uuid, s text, k text, g text, f text, p bool, l text, a bool, n int"
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1] + ".raw"
        conn = sqlite3.connect(path)
        conn.execute(f"CREATE TABLE raw ({columns.replace('uuid', 'text')})")
        started = time.perf_counter()
        conn.executemany(
            "INSERT INTO raw VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(a.hex, b.hex, *rest) for a, b, *rest in records],
        )
        conn.commit()
        seconds = time.perf_counter() - started
        conn.close()
        return seconds
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    url = make_url(database_url)
    conn2 = await asyncpg.connect(
        user=url.username or "postgres",
        host=url.query.get("host") or url.host or "127.0.0.1",
        port=url.port or 5432,
        database=url.database,
    )
    await conn2.execute(f"CREATE TABLE raw ({columns})")
    started = time.perf_counter()
    await conn2.copy_records_to_table("raw", records=records)
    seconds = time.perf_counter() - started
    await conn2.close()
    return seconds


async def _import(database_url: str, folder: Path) -> tuple[float, int]:
    engine = create_engine(database_url)
    try:
        report = await import_demo(engine, folder)
    finally:
        await engine.dispose()
    written = sum(c.created + c.updated + c.deactivated for c in report.sync.counts.values())
    return report.seconds, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "demo"
        write_demo_data(folder, children=args.children, seed=1)
        server = None
        if args.engine == "sqlite":
            database_url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
        else:
            admin, server = postgres_admin_url(work)
            database_url = asyncio.run(fresh_postgres(admin, "budstikke_bench_import"))
        migrate.upgrade(database_url)

        started = time.perf_counter()
        csv_rows = _raw_csv_rows(folder)
        raw_read = time.perf_counter() - started
        started = time.perf_counter()
        read_oneroster(
            folder,
            municipality_code=None,
            max_file_bytes=1 << 32,
            default_time_zone="Europe/Copenhagen",
        )
        reader = time.perf_counter() - started

        first, written = asyncio.run(_import(database_url, folder))
        again, _ = asyncio.run(_import(database_url, folder))
        raw_write = asyncio.run(_raw_write(database_url, written))
        if server is not None:
            server.cleanup()

    figures = {
        "children": args.children,
        "engine": args.engine,
        "csv_rows": csv_rows,
        "rows_written": written,
        "raw_csv_read_s": raw_read,
        "oneroster_read_s": reader,
        "raw_write_s": raw_write,
        "import_s": first,
        "reimport_s": again,
    }
    result = Result(
        "import_roster",
        size={"children": args.children, "engine": args.engine, "csv rows": csv_rows},
        details=figures,
    )
    result.figure(
        "read (OneRoster reader)",
        value=csv_rows / reader,
        unit="rows/s",
        baseline=csv_rows / raw_read,
        baseline_name="stdlib csv",
    )
    result.figure(
        "import (read, decide, write)",
        value=written / first,
        unit="rows written/s",
        baseline=written / raw_write,
        baseline_name="raw driver write",
        note=f"{first:.2f} s, {csv_rows / first:,.0f} csv rows/s",
    )
    result.absolute("re-import, nothing changes", value=again, unit="s")
    result.write(f"_{args.engine}")


if __name__ == "__main__":
    main()
