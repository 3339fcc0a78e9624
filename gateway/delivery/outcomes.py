"""Recording what became of deliveries, in bulk: states, retries, disabled addresses.

A channel answers per envelope (``Delivered``, ``Retry``, ``Rejected``); a push delivery
may have several envelopes (one per browser) and counts as delivered when any browser's
push service took it. Retries back off exponentially from the channel's own delay and
give up at ``delivery_give_up_seconds`` after planning; a rejected address or
subscription is switched off at once (DESIGN, rule 5).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Delivered, Outcome, Rejected, Retry
from gateway import webhooks
from gateway.config import Settings
from gateway.db import bulk_update
from gateway.delivery import subscriptions
from gateway.delivery.models import Delivery, DeliveryChannel, DeliveryState
from gateway.delivery.notices import Loaded
from gateway.roster.models import ContactKind, ContactPoint

MAX_BACKOFF_SECONDS = 3600.0
REASON_MAX = 200


@dataclass
class Tally:
    """How many deliveries of a chunk ended in which state."""

    states: dict[str, int] = field(default_factory=dict)
    failed: list[tuple[uuid.UUID, uuid.UUID, str, str]] = field(default_factory=list)

    def add(self, state: str) -> None:
        self.states[state] = self.states.get(state, 0) + 1

    def as_dict(self) -> dict[str, int]:
        return dict(self.states)


def _row(delivery: Delivery, now: dt.datetime, **values: Any) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "updated_at": now,
        "claimed_by": None,
        "claimed_until": None,
        **values,
    }


async def settle(
    session: AsyncSession, items: Sequence[tuple[Loaded, str, str]], now: dt.datetime, tally: Tally
) -> None:
    """Close deliveries that will not be sent (superseded or skipped) with their reason."""
    rows = [_row(item.delivery, now, state=state, reason=reason) for item, state, reason in items]
    for _, state, _ in items:
        tally.add(state)
    await bulk_update(session, Delivery.__table__, rows)  # type: ignore[arg-type]


def _retry(
    settings: Settings, delivery: Delivery, answer: Retry, now: dt.datetime
) -> dict[str, Any]:
    attempts = delivery.attempts + 1
    if (now - delivery.created_at).total_seconds() >= settings.delivery_give_up_seconds:
        return _row(
            delivery,
            now,
            state=DeliveryState.FAILED.value,
            reason=f"gave up: {answer.reason}"[:REASON_MAX],
            attempts=attempts,
        )
    delay = min(max(answer.after_seconds, 60.0 * 2 ** (attempts - 1)), MAX_BACKOFF_SECONDS)
    delay = max(delay, answer.after_seconds)
    return _row(
        delivery,
        now,
        state=DeliveryState.QUEUED.value,
        reason=answer.reason[:REASON_MAX],
        attempts=attempts,
        not_before=now + dt.timedelta(seconds=delay),
    )


async def record(
    session: AsyncSession,
    settings: Settings,
    owners: Sequence[tuple[Loaded, uuid.UUID | None]],
    answers: Sequence[Outcome],
    *,
    started: dt.datetime,
    now: dt.datetime,
    tally: Tally,
) -> None:
    """Store the channel's answers for a batch (``owners[i]`` sent ``answers[i]``)."""
    failed_before = len(tally.failed)
    per_delivery: dict[uuid.UUID, tuple[Loaded, list[tuple[uuid.UUID | None, Outcome]]]] = {}
    for (item, subscription), answer in zip(owners, answers, strict=True):
        per_delivery.setdefault(item.delivery.id, (item, []))[1].append((subscription, answer))
    rows: list[dict[str, Any]] = []
    dead_subscriptions: list[uuid.UUID] = []
    used_subscriptions: list[uuid.UUID] = []
    dead_addresses: list[tuple[uuid.UUID, str, str]] = []
    for item, results in per_delivery.values():
        delivery = item.delivery
        email = delivery.channel == DeliveryChannel.EMAIL.value
        took = [sub for sub, answer in results if isinstance(answer, Delivered)]
        retries = [answer for _, answer in results if isinstance(answer, Retry)]
        refusals = [(sub, answer) for sub, answer in results if isinstance(answer, Rejected)]
        dead_subscriptions += [s for s, a in refusals if a.disable and s is not None]
        used_subscriptions += [s for s in took if s is not None]
        if took:
            state = DeliveryState.SENT.value if email else DeliveryState.DELIVERED.value
            detail = next(a for _, a in results if isinstance(a, Delivered)).detail
            rows.append(
                _row(
                    delivery,
                    now,
                    state=state,
                    reason=(detail or None) if email else f"{len(took)} browser(s)",
                    sent_at=now,
                    attempts=delivery.attempts + 1,
                    address=item.email if email else None,
                )
            )
        elif retries:
            rows.append(_retry(settings, delivery, retries[0], now))
        else:
            answer = refusals[0][1]
            bounced = email and answer.disable
            if bounced and item.email is not None:
                dead_addresses.append((delivery.person_id, item.email, answer.reason))
            rows.append(
                _row(
                    delivery,
                    now,
                    state=DeliveryState.BOUNCED.value if bounced else DeliveryState.REJECTED.value,
                    reason=answer.reason[:REASON_MAX],
                    attempts=delivery.attempts + 1,
                    address=item.email if email else None,
                )
            )
    for row in rows:
        tally.add(row["state"])
        if row["state"] in {"failed", "rejected", "bounced"}:
            found = per_delivery[row["id"]][0].delivery
            tally.failed.append((found.id, found.message_id, found.channel, row["reason"] or ""))
    await bulk_update(session, Delivery.__table__, rows)  # type: ignore[arg-type]
    municipality_id = owners[0][0].delivery.municipality_id if owners else None
    for delivery_id, message_id, channel, reason in tally.failed[failed_before:]:
        assert municipality_id is not None
        await webhooks.emit(
            session,
            municipality_id,
            "delivery.failed",
            {
                "delivery_id": delivery_id,
                "message_id": message_id,
                "channel": channel,
                "reason": reason,
            },
            now=now,
        )
    if municipality_id is not None and dead_subscriptions:
        await subscriptions.disable(
            session, municipality_id, dead_subscriptions, "rejected by the push service", now
        )
    if municipality_id is not None and used_subscriptions:
        await subscriptions.touch(session, municipality_id, used_subscriptions, now)
    for person_id, address, reason in dead_addresses:
        await session.execute(
            update(ContactPoint)
            .where(
                ContactPoint.municipality_id == municipality_id,
                ContactPoint.person_id == person_id,
                ContactPoint.kind == ContactKind.EMAIL.value,
                ContactPoint.address == address,
            )
            .values(disabled_at=now, disabled_reason=reason[:REASON_MAX])
        )
