"""The record of one roster sync: its :class:`ImportRun` row and its audit event."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.orm import new_id, utcnow
from gateway.roster.models import ImportRun
from gateway.roster.records import Counts, RosterBatch, SyncReport


async def record_run(
    session: AsyncSession,
    *,
    municipality_id: uuid.UUID,
    batch: RosterBatch,
    report: SyncReport,
    source: str,
    started: dt.datetime,
    actor: audit.AuditActor,
    audit_action: audit.Action,
) -> ImportRun:
    """Add the ImportRun of a sync that ends now, and its audit event (one per run)."""
    run = ImportRun(
        id=new_id(),
        municipality_id=municipality_id,
        source=source[:500],
        modes={kind: mode.value for kind, mode in batch.modes.items()},
        counts={kind: {**_as_dict(c)} for kind, c in report.counts.items()},
        rejected=len(report.rejected),
        started_at=started,
        finished_at=utcnow(),
    )
    session.add(run)
    await audit.record(
        session,
        municipality_id=municipality_id,
        actor=actor,
        action=audit_action,
        target_kind="import_run",
        target_id=run.id,
        detail=_audit_detail(report),
    )
    return run


def _audit_detail(report: SyncReport) -> dict[str, object]:
    """Counts only: what changed per kind (zeros left out) and how many were refused."""
    changed = {
        f"{kind}.{name}": value
        for kind, counts in report.counts.items()
        for name, value in _as_dict(counts).items()
        if value and name != "unchanged"
    }
    return {"changed": changed, "rejected": len(report.rejected)}


def _as_dict(counts: Counts) -> dict[str, int]:
    return {
        name: getattr(counts, name) for name in ("created", "updated", "deactivated", "unchanged")
    }
