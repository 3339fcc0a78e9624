"""What bulk mode removes: the stored rows of the batch's institutions it does not list.

A group, affiliation or membership of an institution in the batch that the batch does
not list is deactivated, and so is a person whose every active affiliation is with those
institutions (or who has none); a deactivated person's links go inactive with them.
"""

from __future__ import annotations

import uuid

from gateway.roster.decisions import SyncDecisions
from gateway.roster.records import Mode


def deactivate_absent(sync: SyncDecisions) -> None:
    """Deactivate, for each kind the batch gives in bulk mode, what it no longer lists."""
    scope = _scope(sync)
    if sync.mode("groups") == Mode.BULK:
        for row in sync.state.groups.rows.values():
            if row["institution_id"] in scope and row["source_id"] not in sync.group_changes.seen:
                sync.group_changes.deactivate(row)
    if sync.mode("people") == Mode.BULK:
        _deactivate_absent_people(sync, scope)
    if sync.mode("affiliations") == Mode.BULK:
        for key, row in sync.state.affiliations.rows.items():
            if row["institution_id"] in scope and key not in sync.affiliation_changes.seen:
                sync.affiliation_changes.deactivate(row)
    if sync.mode("people") == Mode.BULK:
        listed = {sync.state.people.rows[s]["id"] for s in sync.people_changes.seen}
        for key, row in sync.state.guardianships.rows.items():
            touches = row["child_id"] in listed or row["guardian_id"] in listed
            if touches and key not in sync.guardianship_changes.seen:
                sync.guardianship_changes.deactivate(row)
    if sync.mode("memberships") == Mode.BULK:
        scoped_groups = {
            row["id"] for row in sync.state.groups.rows.values() if row["institution_id"] in scope
        }
        for key, row in sync.state.memberships.rows.items():
            if row["group_id"] in scoped_groups and key not in sync.membership_changes.seen:
                sync.membership_changes.deactivate(row)
    _cascade(sync)


def _scope(sync: SyncDecisions) -> set[uuid.UUID]:
    """The institutions whose roster this batch describes."""
    sources = {record.source_id for record in sync.batch.institutions}
    if not sources:
        sources = {r.institution for r in sync.batch.groups} | {
            r.institution for r in sync.batch.affiliations
        }
    rows = sync.state.institutions.rows
    return {rows[s]["id"] for s in sources if s in rows}


def _deactivate_absent_people(sync: SyncDecisions, scope: set[uuid.UUID]) -> None:
    elsewhere = {
        row["person_id"]
        for row in sync.state.affiliations.rows.values()
        if row["active"] and row["institution_id"] not in scope
    }
    for source_id, row in sync.state.people.rows.items():
        if source_id not in sync.people_changes.seen and row["id"] not in elsewhere:
            sync.people_changes.deactivate(row)


def _cascade(sync: SyncDecisions) -> None:
    """A deactivated person's links go inactive with them."""
    gone = {
        person_id
        for person_id, update in sync.people_changes.updates.items()
        if update.get("active") is False
    }
    if not gone:
        return
    for changes, columns in (
        (sync.affiliation_changes, ("person_id",)),
        (sync.guardianship_changes, ("child_id", "guardian_id")),
        (sync.membership_changes, ("person_id",)),
    ):
        for row in list(changes.snapshot.rows.values()):
            if row["active"] and any(row[c] in gone for c in columns):
                changes.deactivate(row)
