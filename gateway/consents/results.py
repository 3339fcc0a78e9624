"""What staff see of a request: per-child results, and the append-only record.

Both are for staff in the request's thread (the one who asked). Staff are entitled to
protected children's and guardians' real names; contact details appear nowhere. The
statuses come from :mod:`gateway.consents.state` — nothing here re-decides what counts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.consents import service, state, viewing
from gateway.consents.models import ConsentAnswer, ConsentRequest, ConsentVersion
from gateway.consents.schemas import (
    AnswererResult,
    ChildResult,
    RecordEntry,
    RecordPage,
    ResultsRead,
)
from gateway.errors import InvalidInput
from gateway.messaging.actors import Actor
from gateway.messaging.inbox import decode_cursor, encode_cursor
from gateway.messaging.threads import today
from gateway.orm import utcnow
from gateway.roster.models import Guardianship

SELF = "self"  # a pupil answering for themself
UNKNOWN = "unknown"  # no guardianship on file any more
MAX_RECORD_PAGE = 500
DECIDED = frozenset({state.PENDING, state.EXPIRED})


async def relations(
    session: AsyncSession,
    request: ConsentRequest,
    pairs: Collection[tuple[uuid.UUID, uuid.UUID]],
) -> dict[tuple[uuid.UUID, uuid.UUID], str]:
    """(child, person) -> how the person is related to the child (links past ones too)."""
    found: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
    wanted = {(child, person) for child, person in pairs if child != person}
    for child, person in pairs:
        if child == person:
            found[(child, person)] = SELF
    if wanted:
        rows = await session.execute(
            select(Guardianship.child_id, Guardianship.guardian_id, Guardianship.relation).where(
                Guardianship.municipality_id == request.municipality_id,
                Guardianship.child_id.in_({child for child, _ in wanted}),
                Guardianship.guardian_id.in_({person for _, person in wanted}),
            )
        )
        for child, person, relation in rows:
            if (child, person) in wanted:
                found[(child, person)] = relation
    return found


async def answer_times(
    session: AsyncSession, request: ConsentRequest
) -> dict[tuple[uuid.UUID, uuid.UUID], dt.datetime]:
    """(child, person) -> when the person last answered for the child (current version)."""
    rows = await session.execute(
        select(ConsentAnswer.child_id, ConsentAnswer.answered_by, ConsentAnswer.created_at).where(
            ConsentAnswer.municipality_id == request.municipality_id,
            ConsentAnswer.request_id == request.id,
            ConsentAnswer.version == request.version,
        )
    )
    found: dict[tuple[uuid.UUID, uuid.UUID], dt.datetime] = {}
    for child, person, at in rows:
        key = (child, person)
        found[key] = max(found.get(key, at), at)
    return found


async def build(
    session: AsyncSession,
    request: ConsentRequest,
    version: ConsentVersion,
    now: dt.datetime,
    day: dt.date,
) -> ResultsRead:
    """The results of one request (six queries, whatever its size)."""
    states = await state.states(session, request, now, day)
    times = await answer_times(session, request)
    pairs = [(s.child_id, person) for s in states for person in s.answerers]
    related = await relations(session, request, pairs)
    people = {s.child_id for s in states} | {person for _, person in pairs}
    refs = await viewing.names(session, request.municipality_id, people, entitled=None)
    children: list[ChildResult] = []
    for child_state in states:
        child = child_state.child_id
        answerers = [
            AnswererResult(
                person=refs[person],
                relation=related.get((child, person), UNKNOWN),
                option=child_state.answers.get(person),
                answered_at=times.get((child, person)) if person in child_state.answers else None,
            )
            for person in child_state.answerers
        ]
        answerers.sort(key=lambda a: (a.relation, a.person.name, a.person.id))
        counted = [a.answered_at for a in answerers if a.answered_at is not None]
        decided = child_state.status not in DECIDED and counted
        children.append(
            ChildResult(
                child=refs[child],
                status=child_state.status,
                answered_at=max(counted) if decided else None,
                answerers=answerers,
            )
        )
    children.sort(key=lambda c: (c.child.name, c.child.id))
    return ResultsRead(
        consent_id=request.id,
        title=version.title,
        version=request.version,
        kind=request.kind,
        answer_rule=request.answer_rule,
        deadline=request.deadline,
        closed=viewing.is_closed(request, now),
        counts=viewing.counts(request, states),
        children=children,
    )


async def results(
    session: AsyncSession, actor: Actor, consent_id: uuid.UUID, *, settings: Settings
) -> ResultsRead:
    """``GET /v1/consents/{id}/results``."""
    found, _ = await results_and_zone(session, actor, consent_id, settings=settings)
    return found


async def results_and_zone(
    session: AsyncSession, actor: Actor, consent_id: uuid.UUID, *, settings: Settings
) -> tuple[ResultsRead, str]:
    """The results and the time zone of the request's institution (for exports)."""
    now = utcnow()
    async with session.begin():
        request, _, version = await service.load(session, actor, consent_id)
        service.require_staff(actor)
        zone = await service.time_zone(session, request, settings)
        return await build(session, request, version, now, today(settings, now)), zone


async def record(
    session: AsyncSession,
    actor: Actor,
    consent_id: uuid.UUID,
    *,
    cursor: str | None = None,
    limit: int = 100,
) -> RecordPage:
    """``GET /v1/consents/{id}/record``: every answer, change and withdrawal, oldest first."""
    if not 1 <= limit <= MAX_RECORD_PAGE:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_RECORD_PAGE}", ["limit: out of range"]
        )
    async with session.begin():
        request, _, _ = await service.load(session, actor, consent_id)
        service.require_staff(actor)
        query = (
            select(ConsentAnswer)
            .where(
                ConsentAnswer.municipality_id == request.municipality_id,
                ConsentAnswer.request_id == request.id,
            )
            .order_by(ConsentAnswer.created_at, ConsentAnswer.id)
            .limit(limit + 1)
        )
        if cursor is not None:
            at, after = decode_cursor(cursor)
            query = query.where(
                or_(
                    ConsentAnswer.created_at > at,
                    and_(ConsentAnswer.created_at == at, ConsentAnswer.id > after),
                )
            )
        rows = list((await session.scalars(query)).all())
        page, more = rows[:limit], len(rows) > limit
        pairs = {(row.child_id, row.answered_by) for row in page}
        related = await relations(session, request, pairs)
        people = {person for pair in pairs for person in pair}
        refs = await viewing.names(session, request.municipality_id, people, entitled=None)
    items = [
        RecordEntry(
            id=row.id,
            at=row.created_at,
            child=refs[row.child_id],
            answered_by=refs[row.answered_by],
            relation=related.get((row.child_id, row.answered_by), UNKNOWN),
            version=row.version,
            option=row.option,
            channel=row.channel,
        )
        for row in page
    ]
    last = page[-1] if page and more else None
    return RecordPage(
        items=items,
        next_cursor=encode_cursor(last.created_at, last.id) if last is not None else None,
    )
