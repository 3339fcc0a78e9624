"""``deliver``: send one chunk of deliveries over one channel, deciding late.

The job claims its rows (only those still queued and reserved for it, or whose lease
ran out), loads them in three queries, re-checks each — recalled, expired, read,
muted, preference now off, no address or browser left — renders, and sends.

The sendable rows are grouped by destination (the mail domain, the push services'
origins) and the groups are sent side by side, each in batches whose outcomes are
recorded as soon as that batch ends: a slow mail domain or a hanging push service holds
up only its own group, never the rows for another destination in the same chunk (the
channels bound their connections per destination too). A worker killed mid-chunk resends
at most one batch per destination (at-least-once; the stable Message-ID and push Topic
let clients collapse that rare duplicate).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import structlog
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import Channel, Envelope
from gateway import metrics
from gateway.config import Settings
from gateway.delivery import notices, outcomes
from gateway.delivery.models import Delivery, DeliveryChannel, DeliveryState
from gateway.delivery.notices import Loaded
from gateway.delivery.render import Renderer
from gateway.orm import utcnow
from gateway.preferences import rules
from gateway.preferences.models import Mode

log = structlog.get_logger(__name__)

SEND_BATCH = 100
# Destination groups send side by side; this bounds how many of them use a database
# connection at once (lease renewal, recording), so a chunk to many domains cannot drain
# the engine's pool.
DB_CONCURRENCY = 4


@dataclass
class Runtime:
    """What a worker holds for delivering: settings, sessions, channels, the renderer."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    channels: dict[str, Channel]
    renderer: Renderer
    off: dict[str, str] = field(default_factory=dict)  # channel -> why it is not configured


async def claim(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    job_id: str,
    until: dt.datetime,
    now: dt.datetime,
) -> list[uuid.UUID]:
    """Take the rows that are still queued and ours (or free); their ids."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(ids),
            Delivery.state == DeliveryState.QUEUED.value,
            Delivery.not_before <= now,
            or_(
                Delivery.claimed_by == job_id,
                Delivery.claimed_until.is_(None),
                Delivery.claimed_until < now,
            ),
        )
        .values(claimed_by=job_id, claimed_until=until)
        .returning(Delivery.id)
    )
    return list(result.scalars().all())


def decide(item: Loaded, configured: bool) -> tuple[str, str] | None:
    """(state, reason) when the delivery must not be sent; None to send it."""
    notice = item.notice
    if item.recalled:
        return DeliveryState.SUPERSEDED.value, "recalled"
    if item.expired:
        return DeliveryState.SUPERSEDED.value, "expired"
    if item.delivery.round > 0:
        # A consent reminder (instant, or a line of a digest: kind digest, round > 0) is moot
        # once nothing is left to answer ("answered", "changed", "closed";
        # gateway.consents.asked), not when the thread was merely read.
        if item.no_longer_asked is not None:
            return DeliveryState.SUPERSEDED.value, item.no_longer_asked
    elif item.read:
        return DeliveryState.SUPERSEDED.value, "read"
    if item.muted:
        return DeliveryState.SKIPPED.value, "thread muted"
    mode = rules.effective_mode(
        notice.category, notice.channel, item.chosen_mode, item.institution_defaults
    )
    if mode is Mode.OFF:
        return DeliveryState.SKIPPED.value, "preference off"
    if not configured:
        return DeliveryState.SKIPPED.value, "channel not configured"
    if notice.channel == DeliveryChannel.EMAIL.value and item.email is None:
        return DeliveryState.SKIPPED.value, "no email address"
    if notice.channel == DeliveryChannel.WEBPUSH.value and not item.targets:
        return DeliveryState.SKIPPED.value, "no push subscription"
    return None


async def deliver(
    runtime: Runtime, channel: str, ids: Sequence[uuid.UUID], job_id: str
) -> outcomes.Tally:
    """Send the chunk ``ids`` over ``channel``; what became of it."""
    settings = runtime.settings
    now = utcnow()
    until = now + dt.timedelta(seconds=settings.delivery_lease_seconds)
    async with runtime.sessions() as session, session.begin():
        claimed = await claim(session, ids, job_id, until, now)
        loaded = await notices.load(session, settings, claimed, now)
    tally = outcomes.Tally()
    adapter = runtime.channels.get(channel)
    sendable: list[Loaded] = []
    settled: list[tuple[Loaded, str, str]] = []
    for item in loaded:
        verdict = decide(item, adapter is not None)
        if verdict is None:
            sendable.append(item)
        else:
            settled.append((item, *verdict))
    if settled:
        async with runtime.sessions() as session, session.begin():
            await outcomes.settle(session, settled, now, tally)
    if sendable:
        assert adapter is not None
        gate = asyncio.Semaphore(DB_CONCURRENCY)
        try:
            async with asyncio.TaskGroup() as group:
                for items in destinations(sendable).values():
                    lease = _Lease(job_id, until)
                    group.create_task(
                        _send_group(runtime, adapter, items, lease=lease, tally=tally, gate=gate)
                    )
        except ExceptionGroup as errors:
            # The job fails as before, with the first error, not a group of them.
            raise errors.exceptions[0] from errors
    log.info("delivered chunk", channel=channel, job_id=job_id, **tally.as_dict())
    return tally


def destinations(items: Sequence[Loaded]) -> dict[tuple[str, ...], list[Loaded]]:
    """The items per destination: the recipient's mail domain, or their push origins."""
    found: dict[tuple[str, ...], list[Loaded]] = {}
    for item in items:
        if item.notice.channel == DeliveryChannel.EMAIL.value:
            key: tuple[str, ...] = ((item.email or "").rpartition("@")[2].lower(),)
        else:
            key = tuple(sorted({_origin(target.endpoint) for target in item.targets}))
        found.setdefault(key, []).append(item)
    return found


def _origin(endpoint: str) -> str:
    try:
        return urlsplit(endpoint).netloc.lower()
    except ValueError:
        return endpoint  # the channel rejects it; it only needs a group here


@dataclass
class _Lease:
    """How long one destination group's rows are surely still this job's."""

    job_id: str
    until: dt.datetime


async def _send_group(
    runtime: Runtime,
    adapter: Channel,
    items: list[Loaded],
    *,
    lease: _Lease,
    tally: outcomes.Tally,
    gate: asyncio.Semaphore,
) -> None:
    """Send one destination's items batch by batch, recording each batch when it ends."""
    for start in range(0, len(items), SEND_BATCH):
        batch = items[start : start + SEND_BATCH]
        if _renew_due(runtime.settings, lease):
            async with gate:
                batch = await _still_ours(runtime, batch, lease)
        if batch:
            await _send(runtime, adapter, batch, tally, gate)


def _renew_due(settings: Settings, lease: _Lease) -> bool:
    """Whether less than half the lease is left.

    While the lease runs no other job can claim the rows (``claim`` takes only free,
    expired or same-job rows), so renewing before every batch would be one UPDATE per
    batch for nothing; a slow destination still renews long before the lease ends.
    """
    left = (lease.until - utcnow()).total_seconds()
    return left < settings.delivery_lease_seconds / 2


async def _still_ours(runtime: Runtime, batch: list[Loaded], lease: _Lease) -> list[Loaded]:
    """Renew the lease on a batch before sending it; drop rows another job took over."""
    now = utcnow()
    until = now + dt.timedelta(seconds=runtime.settings.delivery_lease_seconds)
    async with runtime.sessions() as session, session.begin():
        ours = set(await claim(session, [i.delivery.id for i in batch], lease.job_id, until, now))
    lease.until = until
    return [item for item in batch if item.delivery.id in ours]


async def _send(
    runtime: Runtime,
    adapter: Channel,
    batch: list[Loaded],
    tally: outcomes.Tally,
    gate: asyncio.Semaphore,
) -> None:
    envelopes: list[Envelope] = []
    owners: list[tuple[Loaded, uuid.UUID | None]] = []
    for item in batch:
        if item.notice.channel == DeliveryChannel.EMAIL.value:
            assert item.email is not None
            envelopes.append(runtime.renderer.email(item.notice, item.email))
            owners.append((item, None))
        else:
            for target in item.targets:
                envelopes.append(runtime.renderer.push(item.notice, target))
                owners.append((item, target.subscription_id))
    started = utcnow()
    answers = await adapter.send(envelopes)
    finished = utcnow()
    metrics.record_outcomes(
        adapter.name,
        [type(answer).__name__.lower() for answer in answers],
        [(finished - item.delivery.not_before).total_seconds() for item, _ in owners],
    )
    async with gate, runtime.sessions() as session, session.begin():
        await outcomes.record(
            session,
            runtime.settings,
            owners,
            answers,
            started=started,
            now=finished,
            tally=tally,
        )
