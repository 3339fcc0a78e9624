"""Every ORM model, imported in one place so that metadata is complete (Alembic, tests)."""

from __future__ import annotations

from gateway.audience.models import PersonBlock
from gateway.auth.models import ApiKey
from gateway.messaging.models import (
    Attachment,
    AutoReply,
    IdempotencyKey,
    Message,
    OutboxItem,
    Participant,
    Thread,
)
from gateway.orm import Base
from gateway.roster.models import (
    Affiliation,
    ContactPoint,
    Group,
    Guardianship,
    ImportRun,
    Institution,
    Membership,
    Municipality,
    Person,
)

__all__ = (
    "Affiliation",
    "ApiKey",
    "Attachment",
    "AutoReply",
    "Base",
    "ContactPoint",
    "Group",
    "Guardianship",
    "IdempotencyKey",
    "ImportRun",
    "Institution",
    "Membership",
    "Message",
    "Municipality",
    "OutboxItem",
    "Participant",
    "Person",
    "PersonBlock",
    "Thread",
)
