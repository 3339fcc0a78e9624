"""Apply a :class:`RosterBatch` to one municipality's roster, in bulk and idempotently.

The sync loads the municipality's roster once (:mod:`gateway.roster.state`), decides
every create, update and deactivation in memory, and writes them in bulk. Applying the
same batch twice changes nothing the second time. It runs inside the caller's
transaction: a caller that rolls back (a dry run, a fatal error) leaves no trace.

Bulk mode replaces the roster *of the institutions in the batch*: a group, affiliation or
membership of such an institution that the batch does not list is deactivated, and so is
a person whose every active affiliation is with those institutions (or who has none).
Institutions themselves are only deactivated when a record says so (``tobedeleted``),
because one municipality often gets schools and daycare from different systems.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.errors import ImportFailed
from gateway.orm import new_id, utcnow
from gateway.roster.changes import Changes
from gateway.roster.models import ContactKind, ImportRun, MemberRole, Municipality, PersonKind
from gateway.roster.records import Counts, Mode, RosterBatch, SyncReport
from gateway.roster.state import RosterState, Row, Scope, load_state

Progress = Callable[[str, int, int], None]


async def sync_roster(
    session: AsyncSession,
    batch: RosterBatch,
    *,
    source: str,
    default_time_zone: str,
    municipality_code: str | None = None,
    dry_run: bool = False,
    on_progress: Progress | None = None,
    refused: Sequence[str] = (),
    actor: audit.AuditActor = audit.AuditActor.system(),  # noqa: B008 - frozen
    audit_action: audit.Action = "roster.import",
) -> SyncReport:
    """Apply ``batch``; return what changed and which records were refused.

    ``refused`` lists what the source itself refused before the sync (``"origin:
    reason"``); they lead the report's ``rejected`` and count in the ImportRun.
    ``actor`` and ``audit_action`` name the run in the audit log (one event per run,
    with counts; a caller that rolls back takes the event with it).
    """
    started = utcnow()
    municipality = await _municipality(session, batch, municipality_code)
    state = await load_state(session, municipality.id, _delta_scope(batch))
    sync = _Sync(batch, state, municipality.id, default_time_zone, started)
    sync.report.rejected.extend(refused)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("institutions", sync.institutions),
        ("groups", sync.groups),
        ("people", sync.people),
        ("affiliations", sync.affiliations),
        ("guardianships", sync.guardianships),
        ("memberships", sync.memberships),
        ("deactivations", sync.deactivations),
    ]
    for number, (name, step) in enumerate(steps):
        if on_progress:
            on_progress(name, number, len(steps) + 1)
        step()
    if on_progress:
        on_progress("writing", len(steps), len(steps) + 1)
    await sync.write(session)
    await _refresh_statistics(session, sync.report)
    sync.report.dry_run = dry_run
    run = ImportRun(
        id=new_id(),
        municipality_id=municipality.id,
        source=source[:500],
        modes={kind: mode.value for kind, mode in batch.modes.items()},
        counts={kind: {**_as_dict(c)} for kind, c in sync.report.counts.items()},
        rejected=len(sync.report.rejected),
        started_at=started,
        finished_at=utcnow(),
    )
    session.add(run)
    await audit.record(
        session,
        municipality_id=municipality.id,
        actor=actor,
        action=audit_action,
        target_kind="import_run",
        target_id=run.id,
        detail=_audit_detail(sync.report),
    )
    await session.flush()
    return sync.report


def _audit_detail(report: SyncReport) -> dict[str, object]:
    """Counts only: what changed per kind (zeros left out) and how many were refused."""
    changed = {
        f"{kind}.{name}": value
        for kind, counts in report.counts.items()
        for name, value in _as_dict(counts).items()
        if value and name != "unchanged"
    }
    return {"changed": changed, "rejected": len(report.rejected)}


_TABLES_OF_KIND = {
    "institutions": ("institutions",),
    "groups": ("groups",),
    "people": ("people", "contact_points"),
    "affiliations": ("affiliations",),
    "guardianships": ("guardianships",),
    "memberships": ("memberships",),
}


async def _refresh_statistics(session: AsyncSession, report: SyncReport) -> None:
    """ANALYZE, on PostgreSQL, the roster tables a sync wrote to.

    A freshly loaded table has no statistics until autovacuum gets to it; meanwhile the
    planner takes every table for one row and picks nested loops over the municipality
    index, which turned a 10-person audience query into most of a minute. ANALYZE
    samples a bounded number of rows, so it stays cheap on a large roster.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for kind, counts in report.counts.items():
        if counts.created + counts.updated + counts.deactivated:
            for table in _TABLES_OF_KIND[kind]:
                await session.execute(text(f"ANALYZE {table}"))


def _delta_scope(batch: RosterBatch) -> Scope | None:
    """What a batch that is delta in every kind can touch; None when any kind is bulk.

    Bulk mode must see every stored row of its institutions to know what vanished.
    """
    if not batch.modes or any(mode is Mode.BULK for mode in batch.modes.values()):
        return None
    people = {r.source_id for r in batch.people} | {r.person for r in batch.affiliations}
    people |= {r.person for r in batch.memberships}
    for link in batch.guardianships:
        people |= {link.child, link.guardian}
    groups = {r.source_id for r in batch.groups} | {r.group for r in batch.memberships}
    return Scope(people=frozenset(people), groups=frozenset(groups))


def _as_dict(counts: Counts) -> dict[str, int]:
    return {
        name: getattr(counts, name) for name in ("created", "updated", "deactivated", "unchanged")
    }


async def _municipality(
    session: AsyncSession, batch: RosterBatch, code: str | None
) -> Municipality:
    code = code or (batch.municipality.code if batch.municipality else None)
    if not code:
        raise ImportFailed("no municipality: add a district org, or pass --municipality CODE")
    found = await session.scalar(select(Municipality).where(Municipality.code == code))
    name = batch.municipality.name if batch.municipality else code
    if found is None:
        found = Municipality(
            id=new_id(),
            code=code,
            name=name,
            source_id=batch.municipality.source_id if batch.municipality else None,
            settings={},
        )
        session.add(found)
        await session.flush()
    elif batch.municipality and found.name != name:
        found.name = name
    return found


class _Sync:
    """The decisions of one sync; each step handles one kind of record."""

    def __init__(
        self,
        batch: RosterBatch,
        state: RosterState,
        municipality_id: uuid.UUID,
        default_time_zone: str,
        now: dt.datetime,
    ) -> None:
        self.batch = batch
        self.state = state
        self.report = SyncReport()
        self.default_time_zone = default_time_zone
        counts = self.report.counts

        def changes(kind: str, snapshot_name: str, *, track: bool = False) -> Changes:
            return Changes(
                getattr(state, snapshot_name),
                counts[kind],
                municipality_id,
                now,
                track_deactivated_at=track,
            )

        self.institution_changes = changes("institutions", "institutions")
        self.group_changes = changes("groups", "groups")
        self.people_changes = changes("people", "people", track=True)
        self.affiliation_changes = changes("affiliations", "affiliations")
        self.guardianship_changes = changes("guardianships", "guardianships")
        self.membership_changes = changes("memberships", "memberships")
        # Addresses are counted with the people they belong to.
        self.email_changes = Changes(state.emails, Counts(), municipality_id, now)

    def _mode(self, kind: str) -> Mode | None:
        return self.batch.modes.get(kind)

    # -- one step per kind -------------------------------------------------------------

    def institutions(self) -> None:
        for record in self.batch.institutions:
            self.institution_changes.upsert(
                {"source_id": record.source_id},
                {
                    "kind": record.kind.value,
                    "name": record.name,
                    "identifier": record.identifier,
                    "time_zone": record.time_zone or self.default_time_zone,
                    "active": record.active,
                },
            )

    def groups(self) -> None:
        for record in self.batch.groups:
            institution = self.state.institutions.rows.get(record.institution)
            if institution is None:
                self.report.reject(record.origin, f"unknown institution {record.institution!r}")
                continue
            self.group_changes.upsert(
                {"source_id": record.source_id},
                {
                    "institution_id": institution["id"],
                    "kind": record.kind.value,
                    "name": record.name,
                    "grades": record.grades,
                    "details": dict(record.details),
                    "active": record.active,
                },
            )

    def people(self) -> None:
        emails_by_person = _index(self.state.emails.rows.values(), "person_id")
        for record in self.batch.people:
            person_id = self.people_changes.upsert(
                {"source_id": record.source_id},
                {
                    "kind": record.kind.value,
                    "given_name": record.given_name,
                    "family_name": record.family_name,
                    "protected": record.protected,
                    "alias": record.alias,
                    "locale": record.locale,
                    "birth_date": record.birth_date,
                    "grades": record.grades,
                    "uni_login": record.uni_login,
                    "username": record.username,
                    "active": record.active,
                },
            )
            if person_id is None or not record.active:
                continue
            if self._sync_emails(person_id, record.emails, emails_by_person.get(person_id, [])):
                self.people_changes.touch(self.state.people.rows[record.source_id])

    def _sync_emails(self, person_id: uuid.UUID, wanted: Iterable[str], stored: list[Row]) -> bool:
        changed = False
        wanted_set = set(wanted)
        for address in sorted(wanted_set):
            before = self.email_changes.counts.unchanged
            self.email_changes.upsert(
                {"person_id": person_id, "address": address, "kind": ContactKind.EMAIL.value},
                {"origin": "roster", "active": True},
            )
            changed |= self.email_changes.counts.unchanged == before
        for row in stored:
            if row["origin"] == "roster" and row["address"] not in wanted_set:
                changed |= self.email_changes.deactivate(row)
        return changed

    def affiliations(self) -> None:
        for record in self.batch.affiliations:
            person = self._person(record.origin, record.person)
            institution = self.state.institutions.rows.get(record.institution)
            if institution is None:
                self.report.reject(record.origin, f"unknown institution {record.institution!r}")
                continue
            if person is None:
                continue
            self.affiliation_changes.upsert(
                {
                    "person_id": person["id"],
                    "institution_id": institution["id"],
                    "role": record.role,
                },
                {
                    "is_primary": record.primary,
                    "begin_date": record.begin_date,
                    "end_date": record.end_date,
                    "active": record.active,
                },
            )

    def guardianships(self) -> None:
        for record in self.batch.guardianships:
            child = self._person(record.origin, record.child)
            guardian = self._person(record.origin, record.guardian)
            if child is None or guardian is None:
                continue
            if child["kind"] != PersonKind.CHILD or guardian["kind"] == PersonKind.CHILD:
                self.report.reject(
                    record.origin,
                    f"{record.guardian!r} cannot be a guardian of {record.child!r} "
                    f"({guardian['kind']} → {child['kind']})",
                )
                continue
            self.guardianship_changes.upsert(
                {"child_id": child["id"], "guardian_id": guardian["id"]},
                {"custody": record.custody, "relation": record.relation, "active": record.active},
            )

    def memberships(self) -> None:
        for record in self.batch.memberships:
            group = self.state.groups.rows.get(record.group)
            person = self._person(record.origin, record.person)
            if group is None:
                self.report.reject(record.origin, f"unknown group {record.group!r}")
                continue
            if person is None:
                continue
            is_child_role = record.role == MemberRole.CHILD
            if is_child_role != (person["kind"] == PersonKind.CHILD) or (
                person["kind"] == PersonKind.GUARDIAN
            ):
                self.report.reject(
                    record.origin, f"a {person['kind']} cannot have the role {record.role.value}"
                )
                continue
            self.membership_changes.upsert(
                {"group_id": group["id"], "person_id": person["id"], "role": record.role.value},
                {
                    "source_id": record.source_id,
                    "is_primary": record.primary,
                    "begin_date": record.begin_date,
                    "end_date": record.end_date,
                    "active": record.active,
                },
            )

    def _person(self, origin: str, source_id: str) -> Row | None:
        person = self.state.people.rows.get(source_id)
        if person is None:
            self.report.reject(origin, f"unknown person {source_id!r}")
        return person

    # -- what bulk mode removes --------------------------------------------------------

    def _scope(self) -> set[uuid.UUID]:
        """The institutions whose roster this batch describes."""
        sources = {record.source_id for record in self.batch.institutions}
        if not sources:
            sources = {r.institution for r in self.batch.groups} | {
                r.institution for r in self.batch.affiliations
            }
        rows = self.state.institutions.rows
        return {rows[s]["id"] for s in sources if s in rows}

    def deactivations(self) -> None:
        scope = self._scope()
        if self._mode("groups") == Mode.BULK:
            for row in self.state.groups.rows.values():
                if (
                    row["institution_id"] in scope
                    and row["source_id"] not in self.group_changes.seen
                ):
                    self.group_changes.deactivate(row)
        if self._mode("people") == Mode.BULK:
            self._deactivate_absent_people(scope)
        if self._mode("affiliations") == Mode.BULK:
            for key, row in self.state.affiliations.rows.items():
                if row["institution_id"] in scope and key not in self.affiliation_changes.seen:
                    self.affiliation_changes.deactivate(row)
        if self._mode("people") == Mode.BULK:
            listed = {self.state.people.rows[s]["id"] for s in self.people_changes.seen}
            for key, row in self.state.guardianships.rows.items():
                touches = row["child_id"] in listed or row["guardian_id"] in listed
                if touches and key not in self.guardianship_changes.seen:
                    self.guardianship_changes.deactivate(row)
        if self._mode("memberships") == Mode.BULK:
            scoped_groups = {
                row["id"]
                for row in self.state.groups.rows.values()
                if row["institution_id"] in scope
            }
            for key, row in self.state.memberships.rows.items():
                if row["group_id"] in scoped_groups and key not in self.membership_changes.seen:
                    self.membership_changes.deactivate(row)
        self._cascade()

    def _deactivate_absent_people(self, scope: set[uuid.UUID]) -> None:
        elsewhere = {
            row["person_id"]
            for row in self.state.affiliations.rows.values()
            if row["active"] and row["institution_id"] not in scope
        }
        for source_id, row in self.state.people.rows.items():
            if source_id not in self.people_changes.seen and row["id"] not in elsewhere:
                self.people_changes.deactivate(row)

    def _cascade(self) -> None:
        """A deactivated person's links go inactive with them."""
        gone = {
            person_id
            for person_id, update in self.people_changes.updates.items()
            if update.get("active") is False
        }
        if not gone:
            return
        for changes, columns in (
            (self.affiliation_changes, ("person_id",)),
            (self.guardianship_changes, ("child_id", "guardian_id")),
            (self.membership_changes, ("person_id",)),
        ):
            for row in list(changes.snapshot.rows.values()):
                if row["active"] and any(row[c] in gone for c in columns):
                    changes.deactivate(row)

    async def write(self, session: AsyncSession) -> None:
        for changes in (
            self.institution_changes,
            self.group_changes,
            self.people_changes,
            self.affiliation_changes,
            self.guardianship_changes,
            self.membership_changes,
            self.email_changes,
        ):
            await changes.write(session)


def _index(rows: Iterable[Row], column: str) -> dict[uuid.UUID, list[Row]]:
    index: dict[uuid.UUID, list[Row]] = defaultdict(list)
    for row in rows:
        index[row[column]].append(row)
    return index
