"""The nightly retention job: purge what is past retention in every municipality.

It calls :func:`gateway.retention.service.purge_until_done` once per municipality. A
municipality whose retention settings are bad is skipped with an error in the log (the
purge refuses to guess what it meant to keep) and the others still run.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select

from gateway.audit import AuditActor
from gateway.errors import InvalidInput
from gateway.retention.service import purge_until_done
from gateway.roster.models import Municipality

log = structlog.get_logger(__name__)


async def purge_retention(ctx: dict[str, Any]) -> int:
    """Nightly: delete the threads past retention everywhere; how many were deleted."""
    sessions = ctx["sessions"]
    async with sessions() as session, session.begin():
        municipalities = (
            await session.execute(
                select(Municipality.id, Municipality.code).order_by(Municipality.code)
            )
        ).all()
    deleted = 0
    for municipality_id, code in municipalities:
        try:
            async with sessions() as session:
                report = await purge_until_done(
                    session, ctx["settings"], municipality_id, dry_run=False, by=AuditActor.system()
                )
        except InvalidInput as exc:
            log.error(
                "retention purge skipped", municipality=code, detail=exc.detail, errors=exc.errors
            )
            continue
        deleted += report.threads
        log.info(
            "retention purge",
            municipality=code,
            threads=report.threads,
            kept_by_hold=report.kept_by_hold,
            more=report.more,
        )
    return deleted
