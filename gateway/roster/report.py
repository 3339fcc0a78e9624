"""Run an import from the command line and print its report."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gateway.config import Settings
from gateway.db import create_engine
from gateway.roster.importer import ImportReport, import_oneroster
from gateway.roster.records import KINDS

MAX_REJECTS_SHOWN = 200


def run_import(
    settings: Settings,
    path: Path,
    municipality_code: str | None,
    dry_run: bool,
    progress: Any | None,
) -> ImportReport:
    """Import ``path`` into the configured database, showing progress if given."""

    async def go() -> ImportReport:
        engine = create_engine(settings.database_url)
        try:
            return await import_oneroster(
                engine,
                path,
                municipality_code=municipality_code,
                dry_run=dry_run,
                max_file_bytes=settings.import_max_file_bytes,
                default_time_zone=settings.default_time_zone,
                on_read_progress=progress,
                on_sync_progress=progress,
            )
        finally:
            await engine.dispose()

    if progress is None:
        return asyncio.run(go())
    with progress:
        return asyncio.run(go())


def print_import_report(console: Console, report: ImportReport) -> None:
    """Counts per kind, the rate, and every rejected row as ``file:line: reason``."""
    title = "dry run: nothing was changed" if report.sync.dry_run else "imported"
    table = Table(title=f"OneRoster {report.version} — {title}")
    for column in ("", "created", "updated", "deactivated", "unchanged"):
        table.add_column(column, justify="right" if column else "left")
    for kind in KINDS:
        counts = report.sync.counts[kind]
        table.add_row(
            kind,
            str(counts.created),
            str(counts.updated),
            str(counts.deactivated),
            str(counts.unchanged),
        )
    console.print(table)
    console.print(
        f"{report.rows:,} rows in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s); "
        f"{len(report.rejected)} rejected"
    )
    for notice in report.notices:
        console.print(f"note: {notice}", style="cyan", markup=False, highlight=False)
    for line in report.rejected[:MAX_REJECTS_SHOWN]:
        console.print(f"  {line}", style="yellow", markup=False, highlight=False)
    if len(report.rejected) > MAX_REJECTS_SHOWN:
        console.print(f"  … and {len(report.rejected) - MAX_REJECTS_SHOWN} more")
