"""Preview an audience before sending: counts by kind, and the children it leaves out.

"Left out" means a child in the audience none of whose guardians can be reached: no
active guardian the audience would include (custodial ones, unless it says
``include_non_custodial``), or none of them with an active email address. A child is in
the audience when it is a recipient, or when its guardians are asked for (a child with
no guardian at all is the first one to point out).

The preview shows names, never contact details. Staff and systems are entitled to a
protected child's name; anyone else would see the alias. The same sending policy as
:func:`~gateway.audience.policy.check_send` applies (without the recipient limit), so a
preview never shows someone the caller could not address.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.audience.policy import check_reach, check_scope
from gateway.audience.resolver import AudienceStatement, resolve, resolve_count
from gateway.audience.schemas import (
    Audience,
    AudienceCounts,
    AudiencePreview,
    UnreachableChild,
    UnreachableReason,
)
from gateway.auth.principals import Permission, PersonPrincipal, Principal
from gateway.errors import Forbidden
from gateway.roster.models import ContactKind, ContactPoint, Guardianship, Person, PersonKind

# A whole institution can leave out many children; the list says how many in all.
UNREACHABLE_SHOWN = 500
STAFF_ONLY = "audience previews are for staff and for systems with the 'send' permission"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks for a preview: a person, or a system key (``person_id`` ``None``).

    ``institution_ids`` is a system key's scope; empty means the whole municipality.
    """

    municipality_id: uuid.UUID
    person_id: uuid.UUID | None = None
    staff: bool = False
    institution_ids: frozenset[uuid.UUID] = frozenset()

    @property
    def sees_real_names(self) -> bool:
        """Staff and systems may see protected children's names; others see aliases."""
        return self.person_id is None or self.staff


def viewer_of(principal: Principal) -> Viewer:
    """The viewer a principal previews as; Forbidden for non-staff and keys without send."""
    if isinstance(principal, PersonPrincipal):
        if principal.kind != PersonKind.STAFF:
            raise Forbidden(STAFF_ONLY)
        return Viewer(
            municipality_id=principal.municipality_id, person_id=principal.person_id, staff=True
        )
    if Permission.SEND not in principal.permissions:
        raise Forbidden(STAFF_ONLY)
    return Viewer(
        municipality_id=principal.municipality_id, institution_ids=principal.institution_ids
    )


async def preview_audience(
    session: AsyncSession, *, viewer: Viewer, audience: Audience, today: dt.date
) -> AudiencePreview:
    """Counts and left-out children of ``audience``, as ``viewer`` may see them."""
    municipality_id = viewer.municipality_id
    if viewer.person_id is None and not viewer.institution_ids:
        # A municipality-wide key may address anyone: counting is enough.
        counts = await resolve_count(
            session, municipality_id=municipality_id, audience=audience, today=today
        )
    else:
        recipients = await resolve(
            session, municipality_id=municipality_id, audience=audience, today=today
        )
        if viewer.person_id is not None:
            await check_reach(
                session,
                sender_id=viewer.person_id,
                municipality_id=municipality_id,
                audience=audience,
                recipients=recipients,
                today=today,
            )
        else:
            await check_scope(
                session,
                municipality_id=municipality_id,
                institution_ids=viewer.institution_ids,
                audience=audience,
                recipients=recipients,
                today=today,
            )
        # The sender is no recipient of their own thread.
        others = [r for r in recipients if r.person_id != viewer.person_id]
        counts = AudienceCounts.of(dict(Counter(r.kind for r in others)))
    statement = AudienceStatement(municipality_id=municipality_id, audience=audience, today=today)
    shown, total = await unreachable_children(session, statement, real_names=viewer.sees_real_names)
    return AudiencePreview(counts=counts, unreachable_children=shown, unreachable_total=total)


async def unreachable_children(
    session: AsyncSession,
    statement: AudienceStatement,
    *,
    real_names: bool,
    limit: int = UNREACHABLE_SHOWN,
) -> tuple[list[UnreachableChild], int]:
    """The audience's children no guardian of whom can be reached (at most ``limit``), and
    how many there are; one query."""
    links = statement.links
    guardian = aliased(Person)
    ties = (
        links.guardianships(custody_only=not statement.audience.include_non_custodial)
        .join(guardian, guardian.id == Guardianship.guardian_id)
        .where(
            guardian.municipality_id == links.municipality_id,
            guardian.active.is_(True),
            guardian.kind == PersonKind.GUARDIAN.value,
        )
    )
    emailed = ties.join(
        ContactPoint,
        and_(
            ContactPoint.person_id == Guardianship.guardian_id,
            ContactPoint.municipality_id == links.municipality_id,
            ContactPoint.kind == ContactKind.EMAIL.value,
            ContactPoint.active.is_(True),
            ContactPoint.disabled_at.is_(None),
        ),
    ).with_only_columns(Guardianship.child_id)
    guarded = ties.with_only_columns(Guardianship.child_id)
    query = select(
        Person.id,
        Person.given_name,
        Person.family_name,
        Person.protected,
        Person.alias,
        Person.id.in_(guarded).label("guarded"),
    ).where(Person.id.in_(statement.children_in_audience()), Person.id.not_in(emailed))
    found = [
        UnreachableChild(
            id=row.id,
            name=_name(row, real_names=real_names),
            reason=UnreachableReason.NO_EMAIL if row.guarded else UnreachableReason.NO_GUARDIAN,
        )
        for row in await session.execute(query)
    ]
    found.sort(key=lambda child: (child.name.casefold(), child.id))
    return found[:limit], len(found)


def _name(row: Any, *, real_names: bool) -> str:
    if row.protected and not real_names:
        return str(row.alias)
    return f"{row.given_name} {row.family_name}".strip()
