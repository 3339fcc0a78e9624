"""A consent request as one person sees it: the question, and per child what they may do.

A guardian sees only the children of the request they are linked to; a pupil only
themself; staff (in the thread: the one who asked) every child. Names follow the people
service's convention: a protected child's real name is shown to staff, to the child and
to guardians with custody; to anyone else the alias. A child's ``status`` is shown only
to those who may answer for it and to staff, since it is made of other guardians'
answers; ``why_not`` never names or describes anyone else.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.consents import service, state
from gateway.consents.models import (
    WITHDRAWN,
    ConsentAnswer,
    ConsentKind,
    ConsentRequest,
    ConsentVersion,
)
from gateway.consents.schemas import ChildView, ConsentRead, MyAnswer, OptionRead, ResultsSummary
from gateway.messaging import access
from gateway.messaging.actors import Actor
from gateway.messaging.reading import attachments_of
from gateway.messaging.threads import today
from gateway.messaging.views import PersonRef
from gateway.orm import utcnow
from gateway.roster.models import Guardianship, Person

PROTECTED = "Beskyttet person"


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    text: str


STAFF = Reason("staff", "staff do not answer; the child's guardians with custody do")
NO_CUSTODY = Reason(
    "no_custody", "you do not have custody of this child; only guardians with custody answer"
)
GUARDIANS_ANSWER = Reason("pupils_do_not_answer", "your guardians answer for you")


def too_young(age: int) -> Reason:
    return Reason(
        "too_young",
        f"pupils answer for themselves from age {age}; until then your guardians answer",
    )


RECALLED = Reason("recalled", "the school recalled this request; answers are closed")


def closed_at(deadline: dt.datetime) -> Reason:
    return Reason("closed", f"the deadline passed at {deadline.isoformat()}; answers are closed")


def is_closed(request: ConsentRequest, now: dt.datetime) -> bool:
    return now >= request.deadline


async def links_of(
    session: AsyncSession,
    request: ConsentRequest,
    person_id: uuid.UUID,
    children: Collection[uuid.UUID],
) -> dict[uuid.UUID, bool]:
    """child -> whether ``person_id`` has custody, for the children of ``children`` they are
    linked to: as an active guardian (with custody or not), or as the child itself."""
    if not children:
        return {}
    rows = await session.execute(
        select(Guardianship.child_id, Guardianship.custody).where(
            Guardianship.municipality_id == request.municipality_id,
            Guardianship.guardian_id == person_id,
            Guardianship.active.is_(True),
            Guardianship.child_id.in_(list(children)),
        )
    )
    found: dict[uuid.UUID, bool] = {}
    for child, custody in rows:
        found[child] = found.get(child, False) or bool(custody)
    if person_id in children:
        found[person_id] = True
    return found


async def names(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    ids: Collection[uuid.UUID],
    *,
    entitled: Collection[uuid.UUID] | None,
) -> dict[uuid.UUID, PersonRef]:
    """People by id; protected ones by alias unless in ``entitled`` (None: everyone is)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(
            Person.id,
            Person.kind,
            Person.given_name,
            Person.family_name,
            Person.protected,
            Person.alias,
        ).where(Person.municipality_id == municipality_id, Person.id.in_(list(ids)))
    )
    refs: dict[uuid.UUID, PersonRef] = {}
    for person_id, kind, given, family, protected, alias in rows:
        shown = f"{given} {family}".strip()
        if protected and entitled is not None and person_id not in entitled:
            shown = alias or PROTECTED
        refs[person_id] = PersonRef(id=person_id, name=shown, kind=kind)
    return refs


async def my_answers(
    session: AsyncSession, request: ConsentRequest, person_id: uuid.UUID
) -> tuple[dict[uuid.UUID, MyAnswer], set[uuid.UUID]]:
    """The person's newest answer per child under the current wording, and the children
    they answered only under an earlier one."""
    rows = await session.execute(
        select(
            ConsentAnswer.child_id,
            ConsentAnswer.version,
            ConsentAnswer.option,
            ConsentAnswer.created_at,
            ConsentAnswer.channel,
        )
        .where(
            ConsentAnswer.municipality_id == request.municipality_id,
            ConsentAnswer.request_id == request.id,
            ConsentAnswer.answered_by == person_id,
        )
        .order_by(ConsentAnswer.created_at, ConsentAnswer.id)
    )
    current: dict[uuid.UUID, MyAnswer] = {}
    earlier: set[uuid.UUID] = set()
    for child, version, option, at, channel in rows:
        if version == request.version:
            current[child] = MyAnswer(option=option, answered_at=at, channel=channel)
        else:
            earlier.add(child)
    return current, earlier - set(current)


def not_answerer(request: ConsentRequest, person_id: uuid.UUID, child: uuid.UUID) -> Reason:
    """Why someone linked to ``child`` may not answer for it (never about anyone else)."""
    if person_id == child:
        if request.pupils_from_age is None:
            return GUARDIANS_ANSWER
        return too_young(request.pupils_from_age)
    return NO_CUSTODY


def _reason(
    request: ConsentRequest,
    viewer: Actor,
    child: uuid.UUID,
    answerer: bool,
    *,
    passed: bool,
    recalled: bool,
) -> Reason | None:
    if viewer.staff:
        return STAFF
    if answerer:
        if passed:
            return closed_at(request.deadline)
        return RECALLED if recalled else None
    return not_answerer(request, viewer.person_id, child)


async def child_views(
    session: AsyncSession,
    request: ConsentRequest,
    viewer: Actor,
    now: dt.datetime,
    day: dt.date,
) -> tuple[list[ChildView], list[state.ChildState]]:
    """The caller's children of the request (every child for staff), and all states."""
    states = await state.states(session, request, now, day)
    by_child = {s.child_id: s for s in states}
    if viewer.staff:
        links = {child: False for child in by_child}
        entitled: Collection[uuid.UUID] | None = None
    else:
        links = await links_of(session, request, viewer.person_id, list(by_child))
        entitled = {child for child, custody in links.items() if custody}
    refs = await names(session, request.municipality_id, list(links), entitled=entitled)
    mine, earlier = await my_answers(session, request, viewer.person_id)
    passed = is_closed(request, now)
    recalled = await service.recalled(session, request)
    may_withdraw = request.kind == ConsentKind.CONSENT.value or not passed
    views: list[ChildView] = []
    for child in links:
        child_state = by_child[child]
        answerer = viewer.person_id in child_state.answerers
        reason = _reason(request, viewer, child, answerer, passed=passed, recalled=recalled)
        answer = mine.get(child)
        views.append(
            ChildView(
                child=refs[child],
                can_answer=answerer and not (passed or recalled),
                can_withdraw=answerer
                and may_withdraw
                and answer is not None
                and answer.option != WITHDRAWN,
                why_not=reason.text if reason else None,
                why_not_code=reason.code if reason else None,
                status=child_state.status if answerer or viewer.staff else None,
                my_answer=answer,
                asked_again=child in earlier,
            )
        )
    views.sort(key=lambda view: (view.child.name, view.child.id))
    return views, states


def counts(request: ConsentRequest, states: Collection[state.ChildState]) -> dict[str, int]:
    """Children per status: every option, ``no`` (withdrawals), pending, conflicting, expired."""
    keys = [option["key"] for option in request.options]
    found = dict.fromkeys([*keys, state.NO, state.PENDING, state.CONFLICTING, state.EXPIRED], 0)
    for child_state in states:
        found[child_state.status] = found.get(child_state.status, 0) + 1
    return found


async def read(
    session: AsyncSession, actor: Actor, consent_id: uuid.UUID, *, settings: Settings
) -> ConsentRead:
    """The request as the caller may see it; NotFound unless they are in its thread."""
    now = utcnow()
    async with session.begin():
        request, thread, version = await service.load(session, actor, consent_id)
        views, states = await child_views(session, request, actor, now, today(settings, now))
        creator = await access.people(
            session, actor.municipality_id, [request.created_by], viewer=actor
        )
        first = await _first_message(session, request)
        files = await attachments_of(session, actor.municipality_id, [first])
        recalled = await service.recalled(session, request)
    return ConsentRead(
        id=request.id,
        thread_id=thread.id,
        kind=request.kind,
        title=version.title,
        # A recalled question is gone for its readers, as a recalled message is.
        question="" if recalled else version.question,
        question_html="" if recalled else version.question_html,
        version=request.version,
        options=[OptionRead(key=o["key"], label=o["label"]) for o in request.options],
        answer_rule=request.answer_rule,
        deadline=request.deadline,
        closed=recalled or is_closed(request, now),
        recalled=recalled,
        created_by=creator[request.created_by],
        created_at=request.created_at,
        attachments=files.get(first, []),
        children=views,
        summary=ResultsSummary(children=len(states), counts=counts(request, states))
        if actor.staff
        else None,
    )


async def _first_message(session: AsyncSession, request: ConsentRequest) -> uuid.UUID:
    """The first version's message: attachments are given when the request is posted."""
    found = await session.scalar(
        select(ConsentVersion.message_id).where(
            ConsentVersion.municipality_id == request.municipality_id,
            ConsentVersion.request_id == request.id,
            ConsentVersion.version == 1,
        )
    )
    assert found is not None
    return found
