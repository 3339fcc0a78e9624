"""The audit log's one table: who did what to which thing, when; never the thing itself."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.orm import Base, JSONType, UTCDateTime, new_id, utcnow


class ActorKind(enum.StrEnum):
    """Who acted: a signed-in person, a system's key, the gateway itself, an operator's CLI."""

    PERSON = "person"
    API_KEY = "api_key"
    SYSTEM = "system"
    CLI = "cli"


class AuditEvent(Base):
    """One event of the append-only audit log (see docs/audit.md).

    ``actor_id`` and ``target_id`` carry no foreign keys on purpose: they point at
    people, keys, threads or import runs, and erasing a person must not be blocked by,
    nor cascade into, the record that they were read. ``detail`` holds ids and counts
    only (checked by :func:`gateway.audit.service.record`). The database refuses
    UPDATE and DELETE (triggers in migration 0006).
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        # Tenant first, like every query of the log; the id is a time-ordered UUIDv7.
        PrimaryKeyConstraint("municipality_id", "id"),
        Index(None, "municipality_id", "at", "id"),
        CheckConstraint("actor_kind IN ('person', 'api_key', 'system', 'cli')", name="actor_kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(8))
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(40))
    target_kind: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[uuid.UUID | None] = mapped_column()
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))  # an IPv6 address in text
