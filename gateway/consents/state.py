"""Where a consent request stands: who may answer for which child, and what counts.

The rules, in one place:

- For a child, the *answerers* are the guardians with custody of that child today, and
  the child itself when the request lets pupils answer from an age (``pupils_from_age``)
  and the child has reached it. Non-custodial parents, foster parents without custody
  and relatives are never answerers.
- Only answers to the current version count; of those, each answerer's newest row is
  their answer. A withdrawal counts as ``no``.
- Rule ``any``: the newest answer of any answerer decides. Rule ``all``: the same option
  from every answerer decides; two different answers are ``conflicting``; otherwise the
  child is ``pending``. Pending after the deadline is ``expired``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.consents.models import (
    WITHDRAWN,
    AnswerRule,
    ConsentAnswer,
    ConsentChild,
    ConsentRequest,
)
from gateway.roster.models import ERASED_SOURCE_PREFIX, Guardianship, Person

PENDING = "pending"
CONFLICTING = "conflicting"
EXPIRED = "expired"
NO = "no"


@dataclass(frozen=True, slots=True)
class ChildState:
    """One child's answerers, their counting answers and the resulting status."""

    child_id: uuid.UUID
    status: str  # an option key, "pending", "conflicting" or "expired"
    answerers: frozenset[uuid.UUID]
    answers: dict[uuid.UUID, str] = field(default_factory=dict)  # answerer -> option

    def waiting_for(self, rule: str) -> frozenset[uuid.UUID]:
        """Who is still asked about this child (nobody once it is decided)."""
        if self.status not in {PENDING, EXPIRED}:
            return frozenset()
        if rule == AnswerRule.ANY.value:
            return self.answerers
        return self.answerers - set(self.answers)


def _age(birth: dt.date | None, today: dt.date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


async def children_of(session: AsyncSession, request: ConsentRequest) -> list[uuid.UUID]:
    """The children the request asks about."""
    return list(
        (
            await session.scalars(
                select(ConsentChild.child_id)
                .where(
                    ConsentChild.municipality_id == request.municipality_id,
                    ConsentChild.request_id == request.id,
                )
                .order_by(ConsentChild.child_id)
            )
        ).all()
    )


async def answerers(
    session: AsyncSession,
    request: ConsentRequest,
    child_ids: Collection[uuid.UUID],
    today: dt.date,
) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """Who may answer for each child today (two queries for all of them)."""
    found: dict[uuid.UUID, set[uuid.UUID]] = {child: set() for child in child_ids}
    if not found:
        return {}
    rows = await session.execute(
        select(Guardianship.child_id, Guardianship.guardian_id)
        .join(Person, Person.id == Guardianship.guardian_id)
        .where(
            Guardianship.municipality_id == request.municipality_id,
            Guardianship.child_id.in_(list(found)),
            Guardianship.custody.is_(True),
            Guardianship.active.is_(True),
            Person.active.is_(True),
        )
    )
    for child, guardian in rows:
        found[child].add(guardian)
    if request.pupils_from_age is not None:
        births = await session.execute(
            select(Person.id, Person.birth_date).where(
                Person.municipality_id == request.municipality_id,
                Person.id.in_(list(found)),
                Person.active.is_(True),
            )
        )
        for child, birth in births:
            age = _age(birth, today)
            if age is not None and age >= request.pupils_from_age:
                found[child].add(child)
    return {child: frozenset(people) for child, people in found.items()}


async def counting_answers(
    session: AsyncSession, request: ConsentRequest
) -> dict[uuid.UUID, dict[uuid.UUID, str]]:
    """child -> answerer -> their newest option for the current version (one query)."""
    rows = await session.execute(
        select(ConsentAnswer.child_id, ConsentAnswer.answered_by, ConsentAnswer.option)
        .where(
            ConsentAnswer.municipality_id == request.municipality_id,
            ConsentAnswer.request_id == request.id,
            ConsentAnswer.version == request.version,
        )
        .order_by(ConsentAnswer.created_at, ConsentAnswer.id)
    )
    found: dict[uuid.UUID, dict[uuid.UUID, str]] = {}
    for child, person, option in rows:
        mine = found.setdefault(child, {})
        mine.pop(person, None)  # keep the dict in order of each answerer's newest answer
        mine[person] = NO if option == WITHDRAWN else option
    return found


def status_of(
    rule: str, answerers: frozenset[uuid.UUID], answers: dict[uuid.UUID, str], closed: bool
) -> str:
    """A child's status from its answerers' counting answers (see the module docstring)."""
    counted = {person: option for person, option in answers.items() if person in answerers}
    if rule == AnswerRule.ANY.value:
        if counted:
            return list(counted.values())[-1]  # the newest answer decides
    else:
        given = set(counted.values())
        if len(given) > 1:
            return CONFLICTING
        if answerers and set(counted) >= answerers:
            return given.pop()
    return EXPIRED if closed else PENDING


async def states(
    session: AsyncSession, request: ConsentRequest, now: dt.datetime, today: dt.date
) -> list[ChildState]:
    """Every child's state (four queries for the whole request)."""
    children = await children_of(session, request)
    who = await answerers(session, request, children, today)
    answers = await counting_answers(session, request)
    erased = await erased_answerers(session, request, answers)
    closed = now >= request.deadline
    result: list[ChildState] = []
    for child in children:
        mine = answers.get(child, {})
        # An erased guardian's answer stays the record it was (docs/data-control.md).
        allowed = who.get(child, frozenset()) | (erased & mine.keys())
        result.append(
            ChildState(
                child_id=child,
                status=status_of(request.answer_rule, allowed, mine, closed),
                answerers=allowed,
                answers={p: o for p, o in mine.items() if p in allowed},
            )
        )
    return result


async def erased_answerers(
    session: AsyncSession,
    request: ConsentRequest,
    answers: dict[uuid.UUID, dict[uuid.UUID, str]],
) -> frozenset[uuid.UUID]:
    """Those among the answerers who have since been erased (they no longer have custody
    in the roster, but what they answered while they did still counts)."""
    people = {person for per_child in answers.values() for person in per_child}
    if not people:
        return frozenset()
    rows = await session.scalars(
        select(Person.id).where(
            Person.municipality_id == request.municipality_id,
            Person.id.in_(people),
            Person.source_id.startswith(ERASED_SOURCE_PREFIX),
        )
    )
    return frozenset(rows)


async def waiting(
    session: AsyncSession, request: ConsentRequest, now: dt.datetime, today: dt.date
) -> set[uuid.UUID]:
    """Everyone who is still asked about at least one child (reminders go to them)."""
    found: set[uuid.UUID] = set()
    for state in await states(session, request, now, today):
        found |= state.waiting_for(request.answer_rule)
    return found
