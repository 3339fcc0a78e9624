"""The children a consent request asks about, and the people who are asked.

A consent is about children: its audience names them (a group, a year or an institution
in the role ``children``, or children by id; ``guardians_of`` children says the same
thing). Who is asked follows from the children and the rules in
:mod:`gateway.consents.state` — the guardians with custody, and pupils from the
request's age — never from the audience's roles, so the audience cannot reach anyone
else: a target in another role, or a ``people`` target naming an adult, is refused with
422 naming that target.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.resolver import resolve
from gateway.audience.schemas import (
    Audience,
    GroupAudience,
    GuardiansOf,
    InstitutionAudience,
    People,
    Recipient,
    Roles,
    Target,
    YearAudience,
)
from gateway.errors import InvalidInput, LimitExceeded
from gateway.roster.models import PersonKind

# A whole large school fits; past this, split the request by institution.
MAX_CHILDREN = 5_000
CHILDREN_ONLY = (
    'roles must be ["children"]: a consent asks about children, and their guardians '
    "with custody answer"
)


def _children_target(index: int, target: Target, errors: list[str]) -> Target:
    """The target as a reach of children only (``guardians_of`` becomes ``people``)."""
    where = f"audience.targets[{index}]"
    match target:
        case GroupAudience() | InstitutionAudience() | YearAudience():
            if list(target.roles) != [Roles.CHILDREN]:
                errors.append(f"{where}: {CHILDREN_ONLY}")
            return target
        case GuardiansOf():
            return People(people=list(target.children))
        case _:
            return target


def _check_options(audience: Audience, errors: list[str]) -> None:
    if audience.include_non_custodial:
        errors.append(
            "audience.include_non_custodial: only guardians with custody answer a consent; "
            "leave it out"
        )
    if audience.regarding:
        errors.append(
            "audience.regarding: a consent regards each guardian's own children in it; leave it out"
        )


def children_audience(audience: Audience) -> Audience:
    """The audience reduced to its children; InvalidInput naming every target that is not."""
    errors: list[str] = []
    _check_options(audience, errors)
    targets = [_children_target(i, t, errors) for i, t in enumerate(audience.targets)]
    if errors:
        raise InvalidInput("a consent's audience names children only", errors)
    return Audience(targets=targets)


async def resolve_children(
    session: AsyncSession, municipality_id: uuid.UUID, audience: Audience, today: dt.date
) -> list[uuid.UUID]:
    """The active children ``audience`` (from :func:`children_audience`) names, by id.

    A ``people`` target that names anyone but an active child of the municipality is
    refused, naming the target and the id (the caller gave both).
    """
    found = await resolve(session, municipality_id=municipality_id, audience=audience, today=today)
    children = [r.person_id for r in found if r.kind == PersonKind.CHILD.value]
    known = set(children)
    errors = [
        f"audience.targets[{index}]: {person} is not an active child of this municipality"
        for index, target in enumerate(audience.targets)
        if isinstance(target, People)
        for person in target.people
        if person not in known
    ]
    if errors:
        raise InvalidInput("a consent's audience names children only", errors)
    if not children:
        raise InvalidInput(
            "the audience reaches no children", ["audience: names no active child today"]
        )
    if len(children) > MAX_CHILDREN:
        raise LimitExceeded(
            f"a consent request may ask about at most {MAX_CHILDREN} children; this audience "
            f"has {len(children)} (split it by institution)",
            limit="consent_max_children",
        )
    return children


def recipients_of(
    answerers: Mapping[uuid.UUID, frozenset[uuid.UUID]], exclude: uuid.UUID
) -> list[Recipient]:
    """Each answerer once, regarding the children they answer for (pupils: themself)."""
    regarding: defaultdict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for child, people in answerers.items():
        for person in people:
            regarding[person].add(child)
    return [
        Recipient(
            person_id=person,
            kind=PersonKind.CHILD.value if person in answerers else PersonKind.GUARDIAN.value,
            regarding=tuple(sorted(children)),
        )
        for person, children in sorted(regarding.items())
        if person != exclude
    ]
