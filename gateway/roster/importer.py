"""Import a OneRoster CSV set: read the files, then sync the batch in one transaction."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit import AuditActor
from gateway.db import session_factory
from gateway.roster.oneroster import read_oneroster
from gateway.roster.records import SyncReport
from gateway.roster.sync import Progress, sync_roster


class ImportReport(msgspec.Struct, kw_only=True):
    """What an import read, changed and refused, and how fast it went."""

    version: str
    files: dict[str, int]
    sync: SyncReport
    rejected: list[str]
    notices: list[str]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.files.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


async def import_oneroster(
    engine: AsyncEngine,
    path: Path,
    *,
    municipality_code: str | None,
    dry_run: bool,
    max_file_bytes: int,
    default_time_zone: str,
    on_read_progress: Progress | None = None,
    on_sync_progress: Progress | None = None,
) -> ImportReport:
    """Import the set at ``path``; with ``dry_run`` nothing is kept.

    A fatal problem raises :class:`~gateway.errors.ImportFailed` before anything is
    written; row problems are reported and the rest is applied.
    """
    started = time.perf_counter()
    read = read_oneroster(
        path,
        municipality_code=municipality_code,
        max_file_bytes=max_file_bytes,
        default_time_zone=default_time_zone,
        on_progress=on_read_progress,
    )
    async with session_factory(engine)() as session:
        transaction = await session.begin()
        try:
            report = await sync_roster(
                session,
                read.batch,
                source=str(path),
                default_time_zone=default_time_zone,
                municipality_code=municipality_code,
                dry_run=dry_run,
                on_progress=on_sync_progress,
                refused=read.rejected,
                actor=AuditActor.cli(),
            )
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
    return ImportReport(
        version=read.version,
        files=read.files,
        sync=report,
        rejected=report.rejected,
        notices=read.notices,
        seconds=time.perf_counter() - started,
    )
