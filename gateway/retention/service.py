"""The purge: delete the threads past retention with everything that hangs off them.

One run is one transaction for one municipality, bounded to :data:`MAX_THREADS_PER_RUN`
threads (``more`` says there is more: the nightly job runs again until there is not),
and deletes by chunks of :data:`CHUNK` threads so no statement carries an unbounded list.
The audit event (``retention.purge``, counts only) commits with the deletions it
describes, so the log never claims a purge that rolled back, nor misses one that did not.

A thread is past retention when its category's days (:mod:`gateway.retention.policy`)
have gone by since its last activity: its last message, a publication or expiry time
still ahead, a consent's deadline or its latest answer (a withdrawal counts), a daycare
notice's last day. Threads of an institution under legal hold are never selected.

Attachment files are deleted inside the transaction, after their rows: if the commit
then fails, rows point at missing files and the next run deletes them — the failure
leans towards forgetting what is past retention, never towards keeping it. What the
purge keeps on purpose (people, the audit log, webhook history) is in docs/retention.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from gateway import audit
from gateway.config import Settings
from gateway.consents.models import (
    ConsentAnswer,
    ConsentChild,
    ConsentReminderRun,
    ConsentRequest,
    ConsentVersion,
)
from gateway.delivery.models import Delivery
from gateway.errors import InvalidInput, NotFound
from gateway.messaging import attachments
from gateway.messaging.models import Attachment, Message, OutboxItem, Participant, Thread
from gateway.notices.models import DaycareNotice
from gateway.orm import Base, utcnow
from gateway.retention.hold import active_holds
from gateway.retention.policy import Policy, RetentionCategory, policy_of
from gateway.roster.models import Municipality

MAX_THREADS_PER_RUN = 500
CHUNK = 100
# Runs per municipality per call of purge_until_done: 50 000 threads a night at most,
# so one municipality's backlog cannot hold the job up for the others for long.
MAX_RUNS = 100

_RECORDS = (RetentionCategory.DAYCARE_NOTICE.value, RetentionCategory.CONSENT.value)


@dataclass(slots=True)
class PurgeReport:
    """What a run deleted (or, in a dry run, would delete), table by table."""

    municipality_id: uuid.UUID
    dry_run: bool
    threads: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    messages: int = 0
    participants: int = 0
    attachments: int = 0
    files: int = 0
    deliveries: int = 0
    outbox: int = 0
    consent_requests: int = 0
    consent_versions: int = 0
    consent_children: int = 0
    consent_answers: int = 0
    consent_reminder_runs: int = 0
    daycare_notices: int = 0
    held_institutions: int = 0
    kept_by_hold: int = 0  # threads past retention that a legal hold keeps
    more: bool = False  # stopped at the run's bound: run again

    def add(self, run: PurgeReport) -> None:
        """Add a later run's counts; holds and ``more`` are the later run's."""
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(run, name))
        for category, count in run.by_category.items():
            self.by_category[category] = self.by_category.get(category, 0) + count
        self.held_institutions, self.more = run.held_institutions, run.more
        self.kept_by_hold = run.kept_by_hold  # the same threads each run: not a sum

    def counts(self) -> dict[str, Any]:
        """The report as ids-and-counts detail (the audit event, the CLI's JSON)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "municipality_id"}


_SUMMED = (
    "threads",
    "messages",
    "participants",
    "attachments",
    "files",
    "deliveries",
    "outbox",
    "consent_requests",
    "consent_versions",
    "consent_children",
    "consent_answers",
    "consent_reminder_runs",
    "daycare_notices",
)


async def purge(
    session: AsyncSession,
    settings: Settings,
    municipality_id: uuid.UUID,
    now: dt.datetime,
    *,
    dry_run: bool,
    limit: int = MAX_THREADS_PER_RUN,
    by: audit.AuditActor | None = None,
) -> PurgeReport:
    """Delete (``dry_run``: count) what is past retention in one municipality; the counts.

    InvalidInput when the municipality's retention settings are bad: nothing is deleted
    until they are fixed. NotFound for an unknown municipality.
    """
    if now.tzinfo is None:
        raise InvalidInput("give the purge time with a time zone", ["now: naive"])
    if not 1 <= limit <= 10 * MAX_THREADS_PER_RUN:
        raise InvalidInput(
            "the run's bound is out of range", [f"limit: 1 to {10 * MAX_THREADS_PER_RUN}"]
        )
    report = PurgeReport(municipality_id=municipality_id, dry_run=dry_run)
    async with session.begin():
        stored = await session.execute(
            select(Municipality.settings).where(Municipality.id == municipality_id)
        )
        row = stored.first()
        if row is None:
            raise NotFound("no such municipality")
        policy = policy_of(row[0])
        # Locked (not in a dry run) so that a hold set now waits for this run, or this
        # run for it: the purge never deletes from an institution that is being held.
        held = [
            h.institution_id for h in await active_holds(session, municipality_id, lock=not dry_run)
        ]
        report.held_institutions = len(held)
        doomed = await _doomed(
            session, municipality_id, policy=policy, now=now, held=held, limit=limit, report=report
        )
        files: list[Path] = []
        for start in range(0, len(doomed), CHUNK):
            chunk = doomed[start : start + CHUNK]
            files += await _thread_rows(session, settings, municipality_id, chunk, report)
        report.daycare_notices += await _loose_notices(
            session,
            municipality_id,
            policy=policy,
            now=now,
            held=held,
            limit=limit,
            dry_run=dry_run,
        )
        report.files = await anyio.to_thread.run_sync(_files, files, dry_run)
        if not dry_run:
            await audit.record(
                session,
                municipality_id=municipality_id,
                actor=by or audit.AuditActor.system(),
                action="retention.purge",
                detail=report.counts(),
                at=now,
            )
    return report


async def purge_until_done(
    session: AsyncSession,
    settings: Settings,
    municipality_id: uuid.UUID,
    *,
    dry_run: bool,
    by: audit.AuditActor,
    max_runs: int = MAX_RUNS,
) -> PurgeReport:
    """Runs of :func:`purge` until nothing past retention is left (or ``max_runs``); the sum.

    A dry run counts one run's worth: nothing is deleted, so a second run would count
    the same threads again.
    """
    total = PurgeReport(municipality_id=municipality_id, dry_run=dry_run)
    for _ in range(max_runs):
        report = await purge(session, settings, municipality_id, utcnow(), dry_run=dry_run, by=by)
        total.add(report)
        if dry_run or not report.more:
            break
    return total


def _in_category(category: RetentionCategory) -> ColumnElement[bool]:
    """The threads of one retention category (as :func:`policy.thread_category` decides)."""
    if category in (RetentionCategory.DAYCARE_NOTICE, RetentionCategory.CONSENT):
        return Thread.category == category.value
    plain = and_(Thread.category.not_in(_RECORDS), Thread.urgent.is_(True))
    if category is RetentionCategory.URGENT:
        return plain
    kind = "announcement" if category is RetentionCategory.ANNOUNCEMENT else "message"
    return and_(Thread.category.not_in(_RECORDS), Thread.urgent.is_(False), Thread.kind == kind)


def _past(category: RetentionCategory, cutoff: dt.datetime) -> ColumnElement[bool]:
    """Threads of the category whose last activity lies before ``cutoff``."""
    quiet = [
        Thread.last_message_at < cutoff,
        Thread.created_at < cutoff,
        or_(Thread.publish_at.is_(None), Thread.publish_at < cutoff),
        or_(Thread.expire_at.is_(None), Thread.expire_at < cutoff),
    ]
    if category is RetentionCategory.CONSENT:
        quiet.append(
            ~exists().where(
                ConsentRequest.thread_id == Thread.id, ConsentRequest.deadline >= cutoff
            )
        )
        quiet.append(
            ~exists().where(
                ConsentRequest.thread_id == Thread.id,
                ConsentAnswer.request_id == ConsentRequest.id,
                ConsentAnswer.created_at >= cutoff,
            )
        )
    if category is RetentionCategory.DAYCARE_NOTICE:
        quiet.append(
            ~exists().where(
                DaycareNotice.thread_id == Thread.id, DaycareNotice.to_date >= cutoff.date()
            )
        )
    return and_(_in_category(category), *quiet)


def _not_held(column: Any, held: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    # A thread with no institution belongs to no hold: holds are per institution.
    return or_(column.is_(None), column.not_in(held)) if held else true()


async def _doomed(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    *,
    policy: Policy,
    now: dt.datetime,
    held: Sequence[uuid.UUID],
    limit: int,
    report: PurgeReport,
) -> list[uuid.UUID]:
    """The ids of at most ``limit`` threads past retention, oldest activity first."""
    found: list[uuid.UUID] = []
    for category in RetentionCategory:
        past = and_(
            Thread.municipality_id == municipality_id,
            _past(category, now - dt.timedelta(days=policy.days[category])),
        )
        if held:
            report.kept_by_hold += int(
                await session.scalar(
                    select(func.count())
                    .select_from(Thread)
                    .where(past, Thread.institution_id.in_(held))
                )
                or 0
            )
        room = limit - len(found)
        ids = list(
            (
                await session.scalars(
                    select(Thread.id)
                    .where(past, _not_held(Thread.institution_id, held))
                    .order_by(Thread.last_message_at, Thread.id)
                    .limit(room + 1)
                )
            ).all()
        )
        if len(ids) > room:
            report.more, ids = True, ids[:room]
        if ids:
            report.by_category[category.value] = len(ids)
        found += ids
    report.threads = len(found)
    return found


async def _thread_rows(
    session: AsyncSession,
    settings: Settings,
    municipality_id: uuid.UUID,
    chunk: Sequence[uuid.UUID],
    report: PurgeReport,
) -> list[Path]:
    """Delete (or count) one chunk of threads and their rows, children first; their files."""
    dry = report.dry_run
    mine = municipality_id
    messages = select(Message.id).where(
        Message.municipality_id == mine, Message.thread_id.in_(chunk)
    )
    requests = select(ConsentRequest.id).where(
        ConsentRequest.municipality_id == mine, ConsentRequest.thread_id.in_(chunk)
    )
    files = [
        attachments.path_of(settings, mine, attachment_id)
        for attachment_id in (
            await session.scalars(
                select(Attachment.id).where(
                    Attachment.municipality_id == mine, Attachment.message_id.in_(messages)
                )
            )
        ).all()
    ]
    report.deliveries += await _rows(session, Delivery, Delivery.thread_id.in_(chunk), mine, dry)
    # Outbox rows name the message they are for (no foreign key): a done row is history.
    report.outbox += await _rows(session, OutboxItem, OutboxItem.item_id.in_(messages), mine, dry)
    report.attachments += await _rows(
        session, Attachment, Attachment.message_id.in_(messages), mine, dry
    )
    report.consent_answers += await _rows(
        session, ConsentAnswer, ConsentAnswer.request_id.in_(requests), mine, dry
    )
    report.consent_children += await _rows(
        session, ConsentChild, ConsentChild.request_id.in_(requests), mine, dry
    )
    report.consent_reminder_runs += await _rows(
        session, ConsentReminderRun, ConsentReminderRun.request_id.in_(requests), mine, dry
    )
    report.consent_versions += await _rows(
        session, ConsentVersion, ConsentVersion.request_id.in_(requests), mine, dry
    )
    report.consent_requests += await _rows(
        session, ConsentRequest, ConsentRequest.thread_id.in_(chunk), mine, dry
    )
    report.daycare_notices += await _rows(
        session, DaycareNotice, DaycareNotice.thread_id.in_(chunk), mine, dry
    )
    report.participants += await _rows(
        session, Participant, Participant.thread_id.in_(chunk), mine, dry
    )
    report.messages += await _rows(session, Message, Message.thread_id.in_(chunk), mine, dry)
    await _rows(session, Thread, Thread.id.in_(chunk), mine, dry)
    return files


async def _loose_notices(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    *,
    policy: Policy,
    now: dt.datetime,
    held: Sequence[uuid.UUID],
    limit: int,
    dry_run: bool,
) -> int:
    """Daycare notices without a thread (none reached staff): by their own last day."""
    cutoff = now - dt.timedelta(days=policy.days[RetentionCategory.DAYCARE_NOTICE])
    ids = select(DaycareNotice.id).where(
        DaycareNotice.municipality_id == municipality_id,
        DaycareNotice.thread_id.is_(None),
        DaycareNotice.to_date < cutoff.date(),
        DaycareNotice.created_at < cutoff,
        _not_held(DaycareNotice.institution_id, held),
    )
    chosen = list((await session.scalars(ids.limit(limit))).all())
    if not chosen:
        return 0
    return await _rows(
        session, DaycareNotice, DaycareNotice.id.in_(chosen), municipality_id, dry_run
    )


async def _rows(
    session: AsyncSession,
    model: type[Base],
    where: ColumnElement[bool],
    municipality_id: uuid.UUID,
    dry_run: bool,
) -> int:
    """Delete the model's rows of the municipality that match; how many (dry run: count)."""
    tenant = model.__table__.c.municipality_id == municipality_id
    if dry_run:
        counted: Select[int] = select(func.count()).select_from(model).where(tenant, where)
        return int(await session.scalar(counted) or 0)
    result = await session.execute(
        delete(model).where(tenant, where).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _files(paths: list[Path], dry_run: bool) -> int:
    """Remove the files (dry run: count those present); how many there were."""
    present = 0
    for path in paths:
        if not path.exists():
            continue
        present += 1
        if not dry_run:
            path.unlink(missing_ok=True)
    return present
