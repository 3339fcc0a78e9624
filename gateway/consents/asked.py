"""What each person is still asked about in a consent request, for a chunk of deliveries.

The delivery worker decides late with it: a consent reminder is moot once the person
has nothing left to answer (:func:`no_longer_asked`), and a consent mail's answer links
(:mod:`gateway.consents.links`) list only the children still open for that person. The
rules are those of :mod:`gateway.consents.state`; this module only asks them for many
people at once, in a few queries per chunk.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.consents import state
from gateway.consents.models import ConsentChild, ConsentRequest, ConsentVersion
from gateway.dialect import among
from gateway.messaging.models import Participant
from gateway.messaging.threads import today

ANSWERED = "answered"
CLOSED = "closed"
CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class Asked:
    """What one person is still asked about in one request (for reminders and links)."""

    request: ConsentRequest
    message_id: uuid.UUID  # the current version's message: what links and reminders ask
    children: frozenset[uuid.UUID]  # the children this person is still asked to answer for
    closed: bool  # the deadline has passed


async def still_asked(
    session: AsyncSession,
    settings: Settings,
    municipality_id: uuid.UUID,
    pairs: Collection[tuple[uuid.UUID, uuid.UUID]],
    now: dt.datetime,
) -> dict[tuple[uuid.UUID, uuid.UUID], Asked]:
    """(thread, person) -> what the person is still asked about, for consent threads.

    For a chunk of deliveries at once: one query for the requests and the people's
    inbox entries (whose ``regarding`` names their children in scope), one for which of
    those children (or the people themselves, for pupils) the requests ask about, and
    per request the answerers of those children and the counting answers
    (:mod:`gateway.consents.state`). Pairs of threads that are no consent request are
    left out.
    """
    if not pairs:
        return {}
    threads = list({thread for thread, _ in pairs})
    people = list({person for _, person in pairs})
    rows = (
        await session.execute(
            select(
                ConsentRequest,
                ConsentVersion.message_id,
                Participant.person_id,
                Participant.regarding,
            )
            .join(
                Participant,
                and_(
                    Participant.municipality_id == ConsentRequest.municipality_id,
                    Participant.thread_id == ConsentRequest.thread_id,
                ),
            )
            .join(
                ConsentVersion,
                and_(
                    ConsentVersion.municipality_id == ConsentRequest.municipality_id,
                    ConsentVersion.request_id == ConsentRequest.id,
                    ConsentVersion.version == ConsentRequest.version,
                ),
            )
            .where(
                ConsentRequest.municipality_id == municipality_id,
                among(ConsentRequest.thread_id, threads, session),
                among(Participant.person_id, people, session),
            )
        )
    ).all()
    wanted = set(pairs)
    requests: dict[uuid.UUID, ConsentRequest] = {}
    current: dict[uuid.UUID, uuid.UUID] = {}
    candidates: dict[tuple[uuid.UUID, uuid.UUID], set[uuid.UUID]] = {}
    for request, message_id, person, regarding in rows:
        if (request.thread_id, person) not in wanted:
            continue
        requests[request.id] = request
        current[request.id] = message_id
        mine = {uuid.UUID(str(child)) for child in regarding or ()}
        mine.add(person)  # a pupil who answers for themself
        candidates[(request.id, person)] = mine
    if not requests:
        return {}
    in_scope = await _asked_about(session, municipality_id, requests, candidates)
    found: dict[tuple[uuid.UUID, uuid.UUID], Asked] = {}
    day = today(settings, now)
    for request_id, request in requests.items():
        children = in_scope.get(request_id, set())
        waiting = await _waiting_per_child(session, request, children, now, day)
        for (of_request, person), mine in candidates.items():
            if of_request != request_id:
                continue
            still = frozenset(c for c in mine & children if person in waiting.get(c, ()))
            found[(request.thread_id, person)] = Asked(
                request=request,
                message_id=current[request_id],
                children=still,
                closed=now >= request.deadline,
            )
    return found


async def _asked_about(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    requests: dict[uuid.UUID, Any],
    candidates: dict[tuple[uuid.UUID, uuid.UUID], set[uuid.UUID]],
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """request -> which of the candidate children it asks about (one query)."""
    everyone = set().union(*candidates.values())
    rows = await session.execute(
        select(ConsentChild.request_id, ConsentChild.child_id).where(
            ConsentChild.municipality_id == municipality_id,
            among(ConsentChild.request_id, list(requests), session),
            among(ConsentChild.child_id, list(everyone), session),
        )
    )
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for request_id, child_id in rows:
        found.setdefault(request_id, set()).add(child_id)
    return found


async def _waiting_per_child(
    session: AsyncSession,
    request: ConsentRequest,
    children: Collection[uuid.UUID],
    now: dt.datetime,
    today: dt.date,
) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """child -> who is still asked about it, by the rules of :mod:`gateway.consents.state`."""
    if not children:
        return {}
    who = await state.answerers(session, request, children, today)
    answers = await state.counting_answers(session, request)
    closed = now >= request.deadline
    found: dict[uuid.UUID, frozenset[uuid.UUID]] = {}
    for child in children:
        allowed = who.get(child, frozenset())
        mine = {p: o for p, o in answers.get(child, {}).items() if p in allowed}
        child_state = state.ChildState(
            child_id=child,
            status=state.status_of(request.answer_rule, allowed, mine, closed),
            answerers=allowed,
            answers=mine,
        )
        found[child] = child_state.waiting_for(request.answer_rule)
    return found


def no_longer_asked(found: Asked | None, message_id: uuid.UUID) -> str | None:
    """Why a reminder of ``message_id`` is moot now (``closed``/``changed``/``answered``).

    ``changed``: the question changed after the reminder was planned; the new version's
    notice asked everyone concerned again, and the next round reminds about it.
    """
    if found is None:
        return None  # not a consent request we know: nothing to decide here
    if found.closed:
        return CLOSED
    if message_id != found.message_id:
        return CHANGED
    if not found.children:
        return ANSWERED
    return None
