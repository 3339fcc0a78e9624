"""The append-only audit log: reads of sensitive data, exports, imports, setting and key changes."""

from gateway.audit.models import ActorKind, AuditEvent
from gateway.audit.service import ACTIONS, Action, AuditActor, AuditFilter, query, read, record

__all__ = (
    "ACTIONS",
    "Action",
    "ActorKind",
    "AuditActor",
    "AuditEvent",
    "AuditFilter",
    "query",
    "read",
    "record",
)
