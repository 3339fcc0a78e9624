"""What ``GET /v1/audit`` and ``budstikke audit --json`` return (msgspec, out only)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from gateway.audit.models import ActorKind


class AuditEventRead(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One event: who (kind and id), did what, to which thing, when; ids and counts only."""

    id: uuid.UUID
    at: dt.datetime
    actor_kind: ActorKind
    actor_id: uuid.UUID | None
    action: str
    target_kind: str | None
    target_id: uuid.UUID | None
    detail: dict[str, Any]
    ip: str | None


class AuditPage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[AuditEventRead]
    next_cursor: str | None = None
