"""The decisions of one roster sync: what to create, update or deactivate, per kind.

:class:`SyncDecisions` compares a :class:`RosterBatch` with the stored roster
(:mod:`gateway.roster.state`) in memory, one step per kind of record, and collects the
changes (:mod:`gateway.roster.changes`) that :meth:`SyncDecisions.write` writes in bulk.
What bulk mode removes is decided in :mod:`gateway.roster.removals`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.roster.changes import Changes
from gateway.roster.models import ContactKind, MemberRole, PersonKind
from gateway.roster.records import Counts, Mode, RosterBatch, SyncReport
from gateway.roster.state import RosterState, Row


class SyncDecisions:
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

    def mode(self, kind: str) -> Mode | None:
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
