"""The writes a sync has decided on for one table, gathered so they go out in bulk."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import bulk_insert, bulk_update
from gateway.orm import new_id
from gateway.roster.records import Counts
from gateway.roster.state import Row, Snapshot


@dataclass
class Changes:
    """Creates and updates for one table, decided against its snapshot.

    Updates are merged per row id, so that a row changed and later deactivated in the
    same sync is written once with its final values.
    """

    snapshot: Snapshot
    counts: Counts
    municipality_id: uuid.UUID
    now: dt.datetime
    track_deactivated_at: bool = False
    creates: list[Row] = field(default_factory=list)
    updates: dict[uuid.UUID, Row] = field(default_factory=dict)
    seen: set[Hashable] = field(default_factory=set)
    created_ids: set[uuid.UUID] = field(default_factory=set)
    unchanged_ids: set[uuid.UUID] = field(default_factory=set)

    def upsert(self, key: Row, values: Row) -> uuid.UUID | None:
        """Create or update the row with this natural key; its id, or None if absent.

        A record that asks for an inactive row that was never stored writes nothing.
        """
        natural = self.snapshot.key_of(key)
        self.seen.add(natural)
        existing = self.snapshot.rows.get(natural)
        if existing is None:
            if not values.get("active", True):
                return None
            row: Row = {
                "id": new_id(),
                "municipality_id": self.municipality_id,
                **key,
                **values,
                "created_at": self.now,
                "updated_at": self.now,
            }
            self.creates.append(row)
            self.created_ids.add(row["id"])
            self.snapshot.add(row)
            self.counts.created += 1
            created_id: uuid.UUID = row["id"]
            return created_id
        if not values.get("active", True):
            # A deletion carries only what identifies the row; keep the stored fields
            # (a deleted person keeps their name in old threads).
            if not self.deactivate(existing):
                self.counts.unchanged += 1
            existing_id: uuid.UUID = existing["id"]
            return existing_id
        changed = {name: value for name, value in values.items() if existing.get(name) != value}
        if not changed:
            self.counts.unchanged += 1
            self.unchanged_ids.add(existing["id"])
        elif changed.get("active") is False:
            self.counts.deactivated += 1
        else:
            self.counts.updated += 1
        self._update(existing, changed)
        kept_id: uuid.UUID = existing["id"]
        return kept_id

    def deactivate(self, row: Row) -> bool:
        """Deactivate a stored row the batch no longer lists; whether it was active."""
        if not row.get("active", True):
            return False
        self.counts.deactivated += 1
        self._update(row, {"active": False})
        return True

    def touch(self, row: Row) -> None:
        """Count a row as updated by a change elsewhere (e.g. a person's addresses)."""
        if row["id"] in self.unchanged_ids:
            self.unchanged_ids.discard(row["id"])
            self.counts.unchanged -= 1
            self.counts.updated += 1

    def _update(self, row: Row, changed: Row) -> None:
        if not changed:
            return
        row.update(changed)
        if row["id"] in self.created_ids:
            return  # created in this sync: the insert carries the new values
        pending = self.updates.setdefault(row["id"], {"id": row["id"]})
        pending.update(changed)
        pending["updated_at"] = self.now
        if self.track_deactivated_at and "active" in changed:
            pending["deactivated_at"] = None if changed["active"] else self.now

    async def write(self, session: AsyncSession) -> None:
        """Send the creates and updates to the database in bulk."""
        if self.track_deactivated_at:
            for row in self.creates:
                row.setdefault("deactivated_at", None)
        await bulk_insert(session, self.snapshot.shape.table, self.creates)
        await bulk_update(session, self.snapshot.shape.table, list(self.updates.values()))
