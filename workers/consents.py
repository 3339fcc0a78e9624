"""Consent jobs: the reminder rounds that are due.

The job takes no payload; it calls :func:`gateway.consents.reminders.send_due`, which
finds the due rounds in one query and is safe to run on several workers at once.
"""

from __future__ import annotations

from typing import Any

from gateway.consents import reminders
from gateway.orm import utcnow


async def send_consent_reminders(ctx: dict[str, Any]) -> int:
    """Every minute: plan the reminders of every round that is due; how many were planned."""
    done = await reminders.send_due(ctx["sessions"], ctx["settings"], ctx["queue"], utcnow())
    return done.planned
