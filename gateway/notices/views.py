"""Notices as a caller may see them: who is named how, and which fields they get.

- Staff are entitled to real names: children, guardians and colleagues.
- A guardian sees their own name and, with custody, their child's real name; a
  protected person otherwise appears by alias (protection may be aimed at that very
  parent, as in ``GET /v1/me``).
- A guardian without custody sees notices that others sent without their ``note`` and
  ``picked_up_by``: they are told that the child is sick or off (forældreansvarsloven
  §23 gives them that right to information), not the household's own words or who
  collects the child.
- ``thread_id`` is given to the notice's sender and to staff: they are in that thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.messaging.actors import Actor
from gateway.messaging.views import PersonRef
from gateway.notices.models import DaycareNotice, NoticeKind
from gateway.notices.schemas import Acknowledgement, ChildName, NoticeRead
from gateway.roster.models import Person, PersonKind

PROTECTED_FALLBACK = "Beskyttet person"


@dataclass(frozen=True, slots=True)
class _Named:
    kind: str
    real: str
    protected: bool
    alias: str | None

    def shown(self, entitled: bool) -> str:
        if self.protected and not entitled:
            return self.alias or PROTECTED_FALLBACK
        return self.real


def name_for_guardian(child: Person, custody: bool) -> str:
    """A child's name as one of its guardians may see it (see the module's rules)."""
    real = f"{child.given_name} {child.family_name}".strip()
    if child.protected and not custody:
        return child.alias or PROTECTED_FALLBACK
    return real


async def reads(
    session: AsyncSession,
    viewer: Actor,
    notices: Sequence[DaycareNotice],
    *,
    custody: Mapping[uuid.UUID, bool] | None = None,
) -> list[NoticeRead]:
    """The notices as ``viewer`` sees them; ``custody`` maps a guardian's children to it."""
    custody = custody or {}
    ids: set[uuid.UUID] = set()
    for n in notices:
        ids.update(p for p in (n.child_id, n.created_by, n.acknowledged_by) if p is not None)
    names = await _names(session, viewer.municipality_id, ids)
    return [_read(n, viewer, names, custody) for n in notices]


def _read(
    n: DaycareNotice,
    viewer: Actor,
    names: Mapping[uuid.UUID, _Named],
    custody: Mapping[uuid.UUID, bool],
) -> NoticeRead:
    staff = viewer.staff
    has_custody = custody.get(n.child_id, False)
    own = n.created_by == viewer.person_id

    def ref(person_id: uuid.UUID) -> PersonRef:
        named = names[person_id]
        entitled = staff or person_id == viewer.person_id
        if named.kind == PersonKind.CHILD.value:
            entitled = entitled or has_custody
        return PersonRef(id=person_id, name=named.shown(entitled), kind=named.kind)

    full = staff or own or has_custody
    acknowledged = None
    if n.acknowledged_by is not None and n.acknowledged_at is not None:
        acknowledged = Acknowledgement(by=ref(n.acknowledged_by), at=n.acknowledged_at)
    return NoticeRead(
        id=n.id,
        child=ChildName(id=n.child_id, name=ref(n.child_id).name),
        institution_id=n.institution_id,
        kind=NoticeKind(n.kind),
        from_date=n.from_date,
        to_date=n.to_date,
        picked_up_by=n.picked_up_by if full else None,
        pickup_time=n.pickup_time,
        note=n.note if full else None,
        sent_by=ref(n.created_by),
        created_at=n.created_at,
        thread_id=n.thread_id if staff or own else None,
        acknowledged=acknowledged,
        withdrawn_at=n.withdrawn_at,
    )


async def _names(
    session: AsyncSession, municipality_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, _Named]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(
            Person.id,
            Person.kind,
            Person.given_name,
            Person.family_name,
            Person.protected,
            Person.alias,
        ).where(Person.municipality_id == municipality_id, Person.id.in_(wanted))
    )
    return {
        person_id: _Named(kind, f"{given} {family}".strip(), bool(protected), alias)
        for person_id, kind, given, family, protected, alias in rows
    }
