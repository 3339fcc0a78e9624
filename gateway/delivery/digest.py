"""Digests: at each person's digest time, one mail listing what is still unread.

Deliveries planned as ``digest`` wait (``deferred``) until their digest time. When it
comes, the due rows are claimed and loaded like any chunk; read, recalled or expired
items drop out (``superseded``); what is left becomes one mail per person — nothing
left, no mail. A push digest is one push for the newest unread item; the rest of that
person's push digest rows are covered by it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Envelope, Outcome
from gateway.delivery import notices, outcomes
from gateway.delivery.deliver import Runtime, decide
from gateway.delivery.models import Delivery, DeliveryChannel, DeliveryKind, DeliveryState
from gateway.delivery.notice import Digest, DigestItem
from gateway.delivery.notices import Loaded
from gateway.orm import utcnow

log = structlog.get_logger(__name__)

DIGEST_BATCH = 5000


async def _claim_due(
    session: AsyncSession, now: dt.datetime, job_id: str, until: dt.datetime
) -> list[uuid.UUID]:
    due = (
        select(Delivery.id)
        .where(
            Delivery.state == DeliveryState.DEFERRED.value,
            Delivery.kind == DeliveryKind.DIGEST.value,
            Delivery.not_before <= now,
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
        )
        .order_by(Delivery.not_before)
        .limit(DIGEST_BATCH)
    )
    ids = list((await session.scalars(due)).all())
    if ids:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(claimed_by=job_id, claimed_until=until)
        )
    return ids


def digest_of(runtime: Runtime, items: list[Loaded]) -> Digest:
    """One person's digest from their unread items, oldest first."""
    first = items[0].notice
    ordered = sorted(items, key=lambda item: item.notice.created_at)
    return Digest(
        key=ordered[-1].delivery.id,
        municipality_id=first.municipality_id,
        person_id=first.person_id,
        locale=first.locale,
        time_zone=first.time_zone,
        recipient_name=first.recipient_name,
        branding=first.branding,
        items=tuple(
            DigestItem(
                thread_id=item.notice.thread_id,
                sensitive=item.notice.sensitive,
                subject=item.notice.subject,
                sender_name=item.notice.sender_name,
                created_at=item.notice.created_at,
                thread_url=item.notice.thread_url,
            )
            for item in ordered
        ),
        inbox_url=f"{runtime.settings.base_url}/inbox",
    )


async def send_due(runtime: Runtime, now: dt.datetime) -> int:
    """Send every digest that is due; how many mails and pushes went out."""
    job_id = f"digest:{int(now.timestamp() * 1000)}"
    until = now + dt.timedelta(seconds=runtime.settings.delivery_lease_seconds)
    async with runtime.sessions() as session, session.begin():
        ids = await _claim_due(session, now, job_id, until)
        loaded = await notices.load(session, runtime.settings, ids, now)
    if not loaded:
        return 0
    tally = outcomes.Tally()
    groups: dict[tuple[uuid.UUID, str], list[Loaded]] = defaultdict(list)
    settled: list[tuple[Loaded, str, str]] = []
    for item in loaded:
        verdict = decide(item, item.notice.channel in runtime.channels)
        if verdict is None:
            groups[(item.notice.person_id, item.notice.channel)].append(item)
        else:
            settled.append((item, *verdict))
    if settled:
        async with runtime.sessions() as session, session.begin():
            await outcomes.settle(session, settled, now, tally)
    sent = 0
    for (_, channel), items in groups.items():
        await _send_one(runtime, channel, items, tally)
        sent += 1
    log.info("digests sent", count=sent, **tally.as_dict())
    return sent


async def _send_one(
    runtime: Runtime, channel: str, items: list[Loaded], tally: outcomes.Tally
) -> None:
    adapter = runtime.channels[channel]
    owners: list[tuple[Loaded, uuid.UUID | None]] = []
    envelopes: list[Envelope] = []
    if channel == DeliveryChannel.EMAIL.value:
        address = items[0].email
        assert address is not None
        envelopes.append(runtime.renderer.digest(digest_of(runtime, items), address))
        owners = [(item, None) for item in items]
        answers: list[Outcome] = list(await adapter.send(envelopes))
        answers = [answers[0]] * len(items)
    else:
        newest = max(items, key=lambda item: item.notice.created_at)
        envelopes = [runtime.renderer.push(newest.notice, t) for t in newest.targets]
        raw = list(await adapter.send(envelopes))
        # Every row of this digest shares the answers of the one push that covers them.
        owners = [(item, t.subscription_id) for item in items for t in newest.targets]
        answers = raw * len(items)
    started = utcnow()
    async with runtime.sessions() as session, session.begin():
        await outcomes.record(
            session, runtime.settings, owners, answers, started=started, now=utcnow(), tally=tally
        )
