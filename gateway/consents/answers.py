"""Answering and withdrawing: appending to the record, all items of a call or none.

:func:`give` and :func:`withdraw` take answers into the record for any channel (the
API calls them with ``channel=api``; an email link answers one child at a time through
:mod:`gateway.consents.links` with the same checks). They run in the caller's
transaction and check, per item, that the person may answer for that child today
(:func:`gateway.consents.state.answerers`); one bad item stores nothing and the error
lists every bad item by its index. Each stored row queues a ``consent.answered``
webhook (ids only) in the same transaction.

Timing: answers are taken until the deadline (later: :class:`~gateway.errors.Conflict`,
409, "the deadline passed at …; answers are closed"). Until then an answer may be
changed — each change is a new row. A *consent* may be withdrawn at any time, also
after the deadline (GDPR art. 7(3): as easy as giving it); a *permission* only until
the deadline. Repeating one's answer adds no row unless someone answered in between.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import webhooks
from gateway.config import Settings
from gateway.consents import service, state, viewing
from gateway.consents.models import (
    WITHDRAWN,
    AnswerChannel,
    ConsentAnswer,
    ConsentKind,
    ConsentRequest,
)
from gateway.consents.schemas import AnswersIn, AnswersRecorded, WithdrawIn
from gateway.db import bulk_insert
from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.messaging import access, threads
from gateway.messaging.actors import Actor
from gateway.orm import new_id, utcnow

NOT_ASKED = "this request does not ask you about child {child}"
TWICE = "child {child} is named twice; give one answer per child in a call"
# A guardian with custody today who was not one when the request was posted.
NOT_AMONG = "you were not among the guardians asked when this request was posted"


@dataclass(frozen=True, slots=True)
class Item:
    """One answer to store: for which child, which option (or ``withdrawn``)."""

    child_id: uuid.UUID
    option: str


def closed_message(request: ConsentRequest) -> str:
    return f"the deadline passed at {request.deadline.isoformat()}; answers are closed"


async def give(
    session: AsyncSession,
    request: ConsentRequest,
    person_id: uuid.UUID,
    items: Sequence[Item],
    *,
    channel: AnswerChannel,
    now: dt.datetime,
    today: dt.date,
) -> int:
    """Store the person's answers (option keys); how many rows were added.

    Conflict after the deadline; InvalidInput listing every item that is not theirs to
    give (not their child, no custody, too young, unknown option, a child twice).
    """
    if viewing.is_closed(request, now):
        raise Conflict(closed_message(request))
    if await service.recalled(session, request):
        raise Conflict(viewing.RECALLED.text)
    keys = [option["key"] for option in request.options]

    def check(option: str) -> str | None:
        if option == WITHDRAWN:
            return "to withdraw, use POST /v1/consents/{id}/withdraw"
        if option not in keys:
            return f"option {option!r} is not one of {', '.join(keys)}"
        return None

    return await _append(
        session,
        request,
        person_id,
        items,
        channel=channel,
        now=now,
        day=today,
        field="answers",
        check=check,
    )


async def withdraw(
    session: AsyncSession,
    request: ConsentRequest,
    person_id: uuid.UUID,
    child_ids: Sequence[uuid.UUID],
    *,
    channel: AnswerChannel,
    now: dt.datetime,
    today: dt.date,
) -> int:
    """Withdraw for these children (it counts as ``no``); how many rows were added.

    A consent: at any time. A permission: until the deadline (Conflict after it).
    """
    if request.kind == ConsentKind.PERMISSION.value and viewing.is_closed(request, now):
        raise Conflict(
            f"the deadline passed at {request.deadline.isoformat()}; a permission can be "
            "changed only until then"
        )
    items = [Item(child, WITHDRAWN) for child in child_ids]
    return await _append(
        session,
        request,
        person_id,
        items,
        channel=channel,
        now=now,
        day=today,
        field="child_ids",
    )


async def _append(
    session: AsyncSession,
    request: ConsentRequest,
    person_id: uuid.UUID,
    items: Sequence[Item],
    *,
    channel: AnswerChannel,
    now: dt.datetime,
    day: dt.date,
    field: str,
    check: Callable[[str], str | None] = lambda _: None,
) -> int:
    in_scope = set(await state.children_of(session, request))
    named = [item.child_id for item in items]
    who = await state.answerers(session, request, [c for c in named if c in in_scope], day)
    links = await viewing.links_of(session, request, person_id, in_scope.intersection(named))
    errors: list[str] = []
    seen: set[uuid.UUID] = set()
    for index, item in enumerate(items):
        child = item.child_id
        problems = [check(item.option)]
        if child in seen:
            problems.append(TWICE.format(child=child))
        seen.add(child)
        if child not in links:
            problems.append(NOT_ASKED.format(child=child))
        elif person_id not in who.get(child, frozenset()):
            problems.append(viewing.not_answerer(request, person_id, child).text)
        errors.extend(f"{field}[{index}]: {problem}" for problem in problems if problem)
    if errors:
        raise InvalidInput("nothing was stored: some answers cannot be given", errors)
    newest = await newest_rows(session, request, seen)
    rows = [
        {
            "id": new_id(),
            "municipality_id": request.municipality_id,
            "request_id": request.id,
            "version": request.version,
            "child_id": item.child_id,
            "answered_by": person_id,
            "option": item.option,
            "channel": channel.value,
            "created_at": now,
        }
        for item in items
        # The same answer again, with nobody answering in between, changes nothing (a
        # double click, a retried call). After another guardian's answer it is news:
        # under ``any`` the newest answer decides.
        if newest.get(item.child_id) != (person_id, item.option)
    ]
    await bulk_insert(session, ConsentAnswer.__table__, rows)  # type: ignore[arg-type]
    for row in rows:
        await webhooks.emit(
            session,
            request.municipality_id,
            "consent.answered",
            {
                "consent_id": request.id,
                "thread_id": request.thread_id,
                "answer_id": row["id"],
                "child_id": row["child_id"],
                "version": row["version"],
                "option": row["option"],
                "channel": row["channel"],
            },
            institution_id=request.institution_id,
            now=now,
        )
    return len(rows)


async def newest_rows(
    session: AsyncSession, request: ConsentRequest, children: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    """child -> (who, option) of the newest row in the record for the current version."""
    if not children:
        return {}
    rows = await session.execute(
        select(ConsentAnswer.child_id, ConsentAnswer.answered_by, ConsentAnswer.option)
        .where(
            ConsentAnswer.municipality_id == request.municipality_id,
            ConsentAnswer.request_id == request.id,
            ConsentAnswer.version == request.version,
            ConsentAnswer.child_id.in_(list(children)),
        )
        .order_by(ConsentAnswer.created_at, ConsentAnswer.id)
    )
    return {child: (person, option) for child, person, option in rows}


async def _answerable(session: AsyncSession, actor: Actor, consent_id: uuid.UUID) -> ConsentRequest:
    """The request, for someone in its thread; a guardian left out of it hears why."""
    request = await service.find(session, actor, consent_id, share=True)
    try:
        await access.entry(session, actor, request.thread_id)
    except NotFound:
        children = await state.children_of(session, request)
        links = await viewing.links_of(session, request, actor.person_id, children)
        if any(links.values()):
            raise Forbidden(NOT_AMONG) from None
        if links:
            # A parent without custody of the children asked about: they know the
            # children, so the reason tells them nothing new.
            raise Forbidden(viewing.NO_CUSTODY.text) from None
        raise NotFound("no such consent request") from None
    return request


async def answer(
    session: AsyncSession,
    actor: Actor,
    consent_id: uuid.UUID,
    data: AnswersIn,
    *,
    settings: Settings,
) -> AnswersRecorded:
    """``POST /v1/consents/{id}/answers``: store the caller's answers, show their children."""
    items = [Item(a.child_id, a.option) for a in data.answers]
    return await _recorded(session, actor, consent_id, settings, items=items)


async def withdraw_for(
    session: AsyncSession,
    actor: Actor,
    consent_id: uuid.UUID,
    data: WithdrawIn,
    *,
    settings: Settings,
) -> AnswersRecorded:
    """``POST /v1/consents/{id}/withdraw``."""
    return await _recorded(session, actor, consent_id, settings, withdrawing=data.child_ids)


async def _recorded(
    session: AsyncSession,
    actor: Actor,
    consent_id: uuid.UUID,
    settings: Settings,
    *,
    items: Sequence[Item] = (),
    withdrawing: Sequence[uuid.UUID] = (),
) -> AnswersRecorded:
    now = utcnow()
    day = threads.today(settings, now)
    async with session.begin():
        request = await _answerable(session, actor, consent_id)
        if withdrawing:
            recorded = await withdraw(
                session,
                request,
                actor.person_id,
                withdrawing,
                channel=AnswerChannel.API,
                now=now,
                today=day,
            )
        else:
            recorded = await give(
                session,
                request,
                actor.person_id,
                items,
                channel=AnswerChannel.API,
                now=now,
                today=day,
            )
        views, _ = await viewing.child_views(session, request, actor, now, day)
    return AnswersRecorded(
        consent_id=request.id, version=request.version, recorded=recorded, children=views
    )
