"""What a bounce does: a hard one ends the delivery and turns the address off; a soft one retries.

A permanent failure (``Action: failed``, ``Status: 5.x.x``) marks the delivery
``bounced`` with the status as reason and disables the person's email contact point
for that address, so nothing more is sent to it until the roster or the person gives a
new one. A temporary failure (``failed`` with ``4.x.x``: the relay gave up for a reason
that may pass) puts the delivery back in the queue after a back-off, unless it is older
than ``BUDSTIKKE_DELIVERY_GIVE_UP_SECONDS``; then it is ``failed``. ``delayed`` reports
change nothing: the relay is still trying, and sending again would deliver twice.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.delivery.dsn import RecipientStatus, Report
from gateway.delivery.models import Delivery, DeliveryChannel, DeliveryState
from gateway.roster.models import ContactKind, ContactPoint

RETRY_BASE_SECONDS = 600
RETRY_MAX_SECONDS = 6 * 3600
# A hard bounce settles these; a read or already settled delivery keeps its state.
BOUNCEABLE = frozenset(
    {
        DeliveryState.QUEUED.value,
        DeliveryState.DEFERRED.value,
        DeliveryState.SENT.value,
        DeliveryState.FAILED.value,
    }
)


def backoff(attempts: int) -> dt.timedelta:
    """How long a soft-bounced delivery waits: doubling from ten minutes, at most six hours."""
    return dt.timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** min(attempts, 10), RETRY_MAX_SECONDS))


def pick(report: Report, address: str | None) -> RecipientStatus:
    """The report's line about ``address``, else its first failure, else its first line."""
    wanted = (address or "").lower()
    for status in report.recipients:
        if wanted and wanted in (status.final_recipient, status.original_recipient):
            return status
    failures = [status for status in report.recipients if status.action == "failed"]
    return (failures or list(report.recipients))[0]


async def apply(
    session: AsyncSession,
    settings: Settings,
    delivery_id: uuid.UUID,
    report: Report,
    *,
    now: dt.datetime,
) -> tuple[Delivery | None, str]:
    """Change the delivery (and address) as the report says; the delivery and what was done.

    Runs inside the caller's transaction. The action is one of ``bounced``, ``requeued``,
    ``failed``, ``noted`` (nothing to change) or ``unknown`` (no such email delivery).
    """
    delivery = await session.scalar(
        select(Delivery)
        .where(Delivery.id == delivery_id, Delivery.channel == DeliveryChannel.EMAIL.value)
        .with_for_update()
    )
    if delivery is None:
        return None, "unknown"
    status = pick(report, delivery.address)
    if status.permanent:
        await _bounce(session, delivery, status, now)
        return delivery, "bounced"
    if status.temporary and delivery.state == DeliveryState.SENT.value:
        give_up = delivery.created_at + dt.timedelta(seconds=settings.delivery_give_up_seconds)
        if now >= give_up:
            _settle(delivery, DeliveryState.FAILED, status.reason, now)
            return delivery, "failed"
        _settle(delivery, DeliveryState.QUEUED, status.reason, now)
        delivery.not_before = min(now + backoff(delivery.attempts), give_up)
        _release(delivery)
        return delivery, "requeued"
    return delivery, "noted"


async def _bounce(
    session: AsyncSession, delivery: Delivery, status: RecipientStatus, now: dt.datetime
) -> None:
    if delivery.state in BOUNCEABLE:
        _settle(delivery, DeliveryState.BOUNCED, status.reason, now)
        _release(delivery)
    address = (delivery.address or status.final_recipient or "").lower()
    if not address:
        return
    await session.execute(
        update(ContactPoint)
        .where(
            ContactPoint.municipality_id == delivery.municipality_id,
            ContactPoint.person_id == delivery.person_id,
            ContactPoint.kind == ContactKind.EMAIL.value,
            func.lower(ContactPoint.address) == address,
            ContactPoint.disabled_at.is_(None),
        )
        .values(disabled_at=now, disabled_reason=status.reason[:200])
        .execution_options(synchronize_session=False)
    )


def _settle(delivery: Delivery, state: DeliveryState, reason: str, now: dt.datetime) -> None:
    delivery.state = state.value
    delivery.reason = reason[:200]
    delivery.updated_at = now


def _release(delivery: Delivery) -> None:
    # A deliver job holding the row must not act on it any more.
    delivery.claimed_by = None
    delivery.claimed_until = None
