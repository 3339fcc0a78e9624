"""Every ORM model, imported in one place so that metadata is complete (Alembic, tests)."""

from __future__ import annotations

from gateway.audience.models import PersonBlock
from gateway.audit.models import AuditEvent
from gateway.auth.models import ApiKey
from gateway.consents.models import (
    ConsentAnswer,
    ConsentChild,
    ConsentReminderRun,
    ConsentRequest,
    ConsentVersion,
)
from gateway.delivery.models import Delivery, InboundMail, PushSubscription
from gateway.messaging.models import (
    Attachment,
    AutoReply,
    IdempotencyKey,
    Message,
    OutboxItem,
    Participant,
    Thread,
)
from gateway.notices.models import DaycareNotice
from gateway.orm import Base
from gateway.preferences.models import Preference, Schedule
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
from gateway.webhooks.models import WebhookEndpoint, WebhookEvent

__all__ = (
    "Affiliation",
    "ApiKey",
    "Attachment",
    "AuditEvent",
    "AutoReply",
    "Base",
    "ConsentAnswer",
    "ConsentChild",
    "ConsentReminderRun",
    "ConsentRequest",
    "ConsentVersion",
    "ContactPoint",
    "DaycareNotice",
    "Delivery",
    "Group",
    "Guardianship",
    "IdempotencyKey",
    "ImportRun",
    "InboundMail",
    "Institution",
    "Membership",
    "Message",
    "Municipality",
    "OutboxItem",
    "Participant",
    "Person",
    "PersonBlock",
    "Preference",
    "PushSubscription",
    "Schedule",
    "Thread",
    "WebhookEndpoint",
    "WebhookEvent",
)
