"""Apply a :class:`RosterBatch` to one municipality's roster, in bulk and idempotently.

The sync loads the municipality's roster once (:mod:`gateway.roster.state`), decides
every create, update and deactivation in memory, and writes them in bulk. Applying the
same batch twice changes nothing the second time. It runs inside the caller's
transaction: a caller that rolls back (a dry run, a fatal error) leaves no trace.

Bulk mode replaces the roster *of the institutions in the batch*: a group, affiliation or
membership of such an institution that the batch does not list is deactivated, and so is
a person whose every active affiliation is with those institutions (or who has none).
Institutions themselves are only deactivated when a record says so (``tobedeleted``),
because one municipality often gets schools and daycare from different systems.

The steps live apart: :mod:`gateway.roster.decisions` decides per kind,
:mod:`gateway.roster.removals` what bulk mode removes, and
:mod:`gateway.roster.import_runs` records the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.errors import ImportFailed
from gateway.orm import new_id, utcnow
from gateway.roster.decisions import SyncDecisions
from gateway.roster.import_runs import record_run
from gateway.roster.models import Municipality
from gateway.roster.records import Mode, RosterBatch, SyncReport
from gateway.roster.removals import deactivate_absent
from gateway.roster.state import Scope, load_state

Progress = Callable[[str, int, int], None]


async def sync_roster(
    session: AsyncSession,
    batch: RosterBatch,
    *,
    source: str,
    default_time_zone: str,
    municipality_code: str | None = None,
    dry_run: bool = False,
    on_progress: Progress | None = None,
    refused: Sequence[str] = (),
    actor: audit.AuditActor = audit.AuditActor.system(),  # noqa: B008 - frozen
    audit_action: audit.Action = "roster.import",
) -> SyncReport:
    """Apply ``batch``; return what changed and which records were refused.

    ``refused`` lists what the source itself refused before the sync (``"origin:
    reason"``); they lead the report's ``rejected`` and count in the ImportRun.
    ``actor`` and ``audit_action`` name the run in the audit log (one event per run,
    with counts; a caller that rolls back takes the event with it).
    """
    started = utcnow()
    municipality = await _municipality(session, batch, municipality_code)
    state = await load_state(session, municipality.id, _delta_scope(batch))
    sync = SyncDecisions(batch, state, municipality.id, default_time_zone, started)
    sync.report.rejected.extend(refused)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("institutions", sync.institutions),
        ("groups", sync.groups),
        ("people", sync.people),
        ("affiliations", sync.affiliations),
        ("guardianships", sync.guardianships),
        ("memberships", sync.memberships),
        ("deactivations", partial(deactivate_absent, sync)),
    ]
    for number, (name, step) in enumerate(steps):
        if on_progress:
            on_progress(name, number, len(steps) + 1)
        step()
    if on_progress:
        on_progress("writing", len(steps), len(steps) + 1)
    await sync.write(session)
    await _refresh_statistics(session, sync.report)
    sync.report.dry_run = dry_run
    await record_run(
        session,
        municipality_id=municipality.id,
        batch=batch,
        report=sync.report,
        source=source,
        started=started,
        actor=actor,
        audit_action=audit_action,
    )
    await session.flush()
    return sync.report


_TABLES_OF_KIND = {
    "institutions": ("institutions",),
    "groups": ("groups",),
    "people": ("people", "contact_points"),
    "affiliations": ("affiliations",),
    "guardianships": ("guardianships",),
    "memberships": ("memberships",),
}


async def _refresh_statistics(session: AsyncSession, report: SyncReport) -> None:
    """ANALYZE, on PostgreSQL, the roster tables a sync wrote to.

    A freshly loaded table has no statistics until autovacuum gets to it; meanwhile the
    planner takes every table for one row and picks nested loops over the municipality
    index, which turned a 10-person audience query into most of a minute. ANALYZE
    samples a bounded number of rows, so it stays cheap on a large roster.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for kind, counts in report.counts.items():
        if counts.created + counts.updated + counts.deactivated:
            for table in _TABLES_OF_KIND[kind]:
                await session.execute(text(f"ANALYZE {table}"))


def _delta_scope(batch: RosterBatch) -> Scope | None:
    """What a batch that is delta in every kind can touch; None when any kind is bulk.

    Bulk mode must see every stored row of its institutions to know what vanished.
    """
    if not batch.modes or any(mode is Mode.BULK for mode in batch.modes.values()):
        return None
    people = {r.source_id for r in batch.people} | {r.person for r in batch.affiliations}
    people |= {r.person for r in batch.memberships}
    for link in batch.guardianships:
        people |= {link.child, link.guardian}
    groups = {r.source_id for r in batch.groups} | {r.group for r in batch.memberships}
    return Scope(people=frozenset(people), groups=frozenset(groups))


async def _municipality(
    session: AsyncSession, batch: RosterBatch, code: str | None
) -> Municipality:
    code = code or (batch.municipality.code if batch.municipality else None)
    if not code:
        raise ImportFailed("no municipality: add a district org, or pass --municipality CODE")
    found = await session.scalar(select(Municipality).where(Municipality.code == code))
    name = batch.municipality.name if batch.municipality else code
    if found is None:
        found = Municipality(
            id=new_id(),
            code=code,
            name=name,
            source_id=batch.municipality.source_id if batch.municipality else None,
            settings={},
        )
        session.add(found)
        await session.flush()
    elif batch.municipality and found.name != name:
        found.name = name
    return found
