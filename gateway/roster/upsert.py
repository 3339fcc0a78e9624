"""REST roster upserts: items of one kind become a delta batch for the roster sync.

An upsert never deactivates what it does not name (every kind is applied in delta
mode); ``active: false`` deactivates. Items are checked the way the import checks rows:
duplicates and impossible references are refused one by one as ``items[N]: reason`` and
the rest is applied, in one transaction. When every item is refused nothing is written
and :class:`~gateway.errors.InvalidInput` carries the reasons.

A key scoped to some institutions may write only inside them: groups, affiliations and
memberships of those institutions, guardianships of their children, and people who are
new or affiliated there. Anything else is refused as "outside this key's institutions",
without saying where it is.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Hashable, Sequence
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gateway.audit import AuditActor
from gateway.auth.principals import SystemPrincipal
from gateway.db import chunks
from gateway.errors import Conflict, Forbidden, InvalidInput, LimitExceeded
from gateway.roster.models import Affiliation, Group, Institution, Municipality, Person
from gateway.roster.records import (
    AffiliationRecord,
    GroupRecord,
    GuardianshipRecord,
    InstitutionRecord,
    MembershipRecord,
    Mode,
    PersonRecord,
    RosterBatch,
    SyncReport,
)
from gateway.roster.schemas import (
    AffiliationPut,
    GroupPut,
    GuardianshipPut,
    InstitutionPut,
    ItemPut,
    MembershipPut,
    PersonPut,
)
from gateway.roster.sync import sync_roster

Kind = Literal["institutions", "groups", "people", "affiliations", "guardianships", "memberships"]
Record = (
    InstitutionRecord
    | GroupRecord
    | PersonRecord
    | AffiliationRecord
    | GuardianshipRecord
    | MembershipRecord
)

MAX_ITEMS_SETTING = "BUDSTIKKE_ROSTER_PUT_MAX_ITEMS"
OUTSIDE = "outside this key's institutions"
_LOOKUP_CHUNK = 1_000  # well under every driver's bound-parameter limit
_ORIGIN = re.compile(r"^items\[(\d+)\]")


async def upsert_roster(
    session: AsyncSession,
    principal: SystemPrincipal,
    kind: Kind,
    items: Sequence[ItemPut],
    *,
    max_items: int,
    default_time_zone: str,
) -> SyncReport:
    """Apply ``items`` of one kind for this key's municipality; the sync's report."""
    if len(items) > max_items:
        raise LimitExceeded(
            f"{len(items)} items in one request; at most {max_items} (send several requests)",
            limit=MAX_ITEMS_SETTING,
        )
    if kind == "institutions" and not principal.municipality_wide:
        raise Forbidden("institutions can be written only with a municipality-wide key")
    records = [_record(f"items[{index}]", item) for index, item in enumerate(items)]
    refused = _duplicates(kind, items)
    try:
        async with session.begin():
            await _lock_roster(session, principal.municipality_id)
            await _Checks(session, principal, refused).run(kind, items)
            batch = RosterBatch(modes={kind: Mode.DELTA})
            setattr(batch, kind, [r for n, r in enumerate(records) if n not in refused])
            report = await sync_roster(
                session,
                batch,
                source=principal.source,
                default_time_zone=default_time_zone,
                municipality_code=principal.municipality_code,
                refused=[f"items[{index}]: {reason}" for index, reason in refused.items()],
                actor=AuditActor.api_key(principal.key_id),
                audit_action="roster.upsert",
            )
            report.rejected.sort(key=_item_number)
            if len({_item_number(line) for line in report.rejected}) == len(items):
                # Raised inside the transaction, so nothing is kept, not even the run.
                raise InvalidInput("no item was accepted; nothing was changed", report.rejected)
    except IntegrityError as exc:
        # Only a writer that does not take the roster lock (see _lock_roster) gets here.
        raise Conflict("the roster changed while this request was applied; send it again") from exc
    return report


async def _lock_roster(session: AsyncSession, municipality_id: uuid.UUID) -> None:
    """Make concurrent upserts of one municipality take turns.

    The sync decides against a snapshot it reads first; two at once would both create
    the same new person. A no-op UPDATE of the municipality row is the one statement
    that locks on both engines: a row lock on PostgreSQL, the write lock on SQLite
    (whose driver begins the transaction only at the first write).
    """
    await session.execute(
        update(Municipality)
        .where(Municipality.id == municipality_id)
        .values(updated_at=Municipality.updated_at)
        .execution_options(synchronize_session=False)
    )


def _item_number(line: str) -> int:
    match = _ORIGIN.match(line)
    return int(match.group(1)) if match else -1


# -- items to records ------------------------------------------------------------------


def _record(origin: str, item: ItemPut) -> Record:
    match item:
        case InstitutionPut():
            return InstitutionRecord(
                origin=origin,
                source_id=item.source_id,
                kind=item.kind,
                name=item.name,
                identifier=item.identifier,
                time_zone=item.time_zone,
                active=item.active,
            )
        case GroupPut():
            return GroupRecord(
                origin=origin,
                source_id=item.source_id,
                institution=item.institution,
                kind=item.kind,
                name=item.name,
                grades=",".join(item.grades) or None,
                active=item.active,
            )
        case PersonPut():
            return PersonRecord(
                origin=origin,
                source_id=item.source_id,
                kind=item.kind,
                given_name=item.given_name,
                family_name=item.family_name,
                protected=item.protected,
                alias=item.alias,
                locale=item.locale,
                birth_date=item.birth_date,
                grades=",".join(item.grades) or None,
                uni_login=item.uni_login,
                username=item.username,
                emails=tuple(item.emails),
                active=item.active,
            )
        case AffiliationPut():
            return AffiliationRecord(
                origin=origin,
                person=item.person,
                institution=item.institution,
                role=item.role.value,
                primary=item.primary,
                begin_date=item.begin_date,
                end_date=item.end_date,
                active=item.active,
            )
        case GuardianshipPut():
            return GuardianshipRecord(
                origin=origin,
                child=item.child,
                guardian=item.guardian,
                custody=item.custody,
                relation=item.relation.value,
                active=item.active,
            )
        case MembershipPut():
            return MembershipRecord(
                origin=origin,
                group=item.group,
                person=item.person,
                role=item.role,
                source_id=item.source_id,
                primary=item.primary,
                begin_date=item.begin_date,
                end_date=item.end_date,
                active=item.active,
            )
    raise TypeError(f"not a roster item: {type(item).__name__}")  # pragma: no cover


_NATURAL_KEYS: dict[str, Callable[[Any], Hashable]] = {
    "institutions": lambda item: item.source_id,
    "groups": lambda item: item.source_id,
    "people": lambda item: item.source_id,
    "affiliations": lambda item: (item.person, item.institution, item.role),
    "guardianships": lambda item: (item.child, item.guardian),
    "memberships": lambda item: (item.group, item.person, item.role),
}


def _duplicates(kind: Kind, items: Sequence[ItemPut]) -> dict[int, str]:
    """Later items naming what an earlier one did: applying both would not be idempotent."""
    first: dict[Hashable, int] = {}
    refused: dict[int, str] = {}
    key_of = _NATURAL_KEYS[kind]
    for index, item in enumerate(items):
        earlier = first.setdefault(key_of(item), index)
        if earlier != index:
            refused[index] = f"duplicate of items[{earlier}]"
    return refused


# -- checks against what is stored -----------------------------------------------------


class _Checks:
    """Refusals that need the stored roster: scope, and roles that fit the person."""

    def __init__(
        self, session: AsyncSession, principal: SystemPrincipal, refused: dict[int, str]
    ) -> None:
        self.session = session
        self.principal = principal
        self.municipality_id = principal.municipality_id
        self.scope = principal.institution_ids
        self.refused = refused

    def refuse(self, index: int, reason: str) -> None:
        self.refused.setdefault(index, reason)

    async def run(self, kind: Kind, items: Sequence[Any]) -> None:
        scoped = not self.principal.municipality_wide
        if kind == "groups" and scoped:
            await self._groups(items)
        elif kind == "people" and scoped:
            await self._people(items)
        elif kind == "affiliations":
            await self._affiliations(items, scoped=scoped)
        elif kind == "guardianships" and scoped:
            await self._guardianships(items)
        elif kind == "memberships" and scoped:
            await self._memberships(items)

    async def _groups(self, items: Sequence[GroupPut]) -> None:
        institutions = await self._ids(Institution.source_id, Institution.id, items, "institution")
        stored = await self._lookup(
            Group.source_id, Group.institution_id, {item.source_id for item in items}
        )
        for index, item in enumerate(items):
            target = institutions.get(item.institution)
            # Unknown institutions are the sync's to report; a group may not move out either.
            moving_from = stored.get(item.source_id)
            if (target is not None and target not in self.scope) or (
                moving_from is not None and moving_from not in self.scope
            ):
                self.refuse(index, OUTSIDE)

    async def _people(self, items: Sequence[PersonPut]) -> None:
        stored = await self._ids(Person.source_id, Person.id, items, "source_id")
        inside = await self._affiliated_in_scope(set(stored.values()))
        for index, item in enumerate(items):
            person_id = stored.get(item.source_id)
            if person_id is not None and person_id not in inside:
                self.refuse(index, OUTSIDE)

    async def _affiliations(self, items: Sequence[AffiliationPut], *, scoped: bool) -> None:
        kinds = await self._ids(Person.source_id, Person.kind, items, "person")
        institutions = await self._ids(Institution.source_id, Institution.id, items, "institution")
        for index, item in enumerate(items):
            target = institutions.get(item.institution)
            kind = kinds.get(item.person)
            if scoped and target is not None and target not in self.scope:
                self.refuse(index, OUTSIDE)
            elif kind is not None and kind != item.role.person_kind:
                self.refuse(index, f"a {kind} cannot have the role {item.role.value!r}")

    async def _guardianships(self, items: Sequence[GuardianshipPut]) -> None:
        children = await self._ids(Person.source_id, Person.id, items, "child")
        inside = await self._affiliated_in_scope(set(children.values()))
        for index, item in enumerate(items):
            child_id = children.get(item.child)
            if child_id is not None and child_id not in inside:
                self.refuse(index, OUTSIDE)

    async def _memberships(self, items: Sequence[MembershipPut]) -> None:
        groups = await self._ids(Group.source_id, Group.institution_id, items, "group")
        for index, item in enumerate(items):
            institution_id = groups.get(item.group)
            if institution_id is not None and institution_id not in self.scope:
                self.refuse(index, OUTSIDE)

    async def _ids(
        self,
        key: InstrumentedAttribute[Any],
        value: InstrumentedAttribute[Any],
        items: Sequence[Any],
        field: str,
    ) -> dict[str, Any]:
        return await self._lookup(key, value, {getattr(item, field) for item in items})

    async def _lookup(
        self,
        key: InstrumentedAttribute[Any],
        value: InstrumentedAttribute[Any],
        wanted: Collection[Any],
    ) -> dict[Any, Any]:
        """``key → value`` for this municipality's rows whose ``key`` is wanted."""
        tenant = key.class_.municipality_id
        found: dict[Any, Any] = {}
        for chunk in chunks(sorted(wanted), _LOOKUP_CHUNK):
            rows = await self.session.execute(
                select(key, value).where(tenant == self.municipality_id, key.in_(chunk))
            )
            found.update((row[0], row[1]) for row in rows)
        return found

    async def _affiliated_in_scope(self, person_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Those people with an active affiliation to one of the key's institutions."""
        inside: set[uuid.UUID] = set()
        for chunk in chunks(sorted(person_ids), _LOOKUP_CHUNK):
            rows = await self.session.scalars(
                select(Affiliation.person_id).where(
                    Affiliation.municipality_id == self.municipality_id,
                    Affiliation.active.is_(True),
                    Affiliation.institution_id.in_(self.scope),
                    Affiliation.person_id.in_(chunk),
                )
            )
            inside.update(rows)
        return inside
