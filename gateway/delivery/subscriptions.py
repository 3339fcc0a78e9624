"""Web push subscriptions: registering browsers, and what delivery asks of them.

A subscription is keyed by (municipality, endpoint): the endpoint names one browser
profile at one push service, so registering it again — after a key refresh, or when
someone else signs in on a shared computer — updates that row and moves it to the
caller. ``created_at`` is when the browser last registered it.

A person keeps at most :data:`MAX_PER_PERSON` active subscriptions. Registering one
more disables the least recently active (last push or last registration): the
newest is the browser the person is holding, while old ones are mostly profiles that
no longer exist. Refusing instead would leave the person without push on the
device in front of them until they found and deleted a stale one.

Delivery reads targets for many people in one query (:func:`active_targets`), and
disables or touches subscriptions in one UPDATE per call. A nightly job disables
subscriptions that took no push and were not registered again for
``push_subscription_expire_days``, and deletes those disabled that long ago (an endpoint
and its keys are personal data; nothing needs them once they are dead).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections import defaultdict
from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import CursorResult, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.vapid import load_private_key, public_key_b64
from gateway.auth.principals import PersonPrincipal
from gateway.config import Settings
from gateway.delivery.models import PushSubscription
from gateway.delivery.notice import PushTarget
from gateway.delivery.push_checks import check_endpoint, check_keys, origin_of
from gateway.delivery.subscription_schemas import (
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionRead,
)
from gateway.dialect import among, upsert
from gateway.errors import InvalidInput, NotFound
from gateway.orm import new_id, utcnow

MAX_PER_PERSON = 20
KEPT_USER_AGENT = 300  # the column's size
EVICTED = f"replaced: the person registered more than {MAX_PER_PERSON} browsers"


def _rows(result: Any) -> int:
    return int(cast("CursorResult[Any]", result).rowcount or 0)


async def register(
    session: AsyncSession,
    principal: PersonPrincipal,
    data: SubscriptionCreate,
    *,
    now: dt.datetime | None = None,
) -> SubscriptionCreated:
    """Store (or refresh, or take over) the caller's browser subscription."""
    errors: list[str] = []
    check_endpoint(data.endpoint, errors)
    keys = check_keys(data.keys, errors)
    if errors or keys is None:
        raise InvalidInput("the push subscription cannot be used", errors)
    now = now or utcnow()
    fresh = new_id()
    statement = upsert(PushSubscription, session).values(
        id=fresh,
        municipality_id=principal.municipality_id,
        person_id=principal.person_id,
        endpoint=data.endpoint,
        p256dh=keys.p256dh,
        auth=keys.auth,
        user_agent=(data.user_agent or "")[:KEPT_USER_AGENT] or None,
        created_at=now,
    )
    new = statement.excluded
    returning = statement.on_conflict_do_update(
        index_elements=["municipality_id", "endpoint"],
        set_={
            "person_id": new.person_id,
            "p256dh": new.p256dh,
            "auth": new.auth,
            "user_agent": new.user_agent,
            "created_at": new.created_at,
            # Another person's last push on a shared browser is not the new owner's business.
            "last_used_at": _kept_if_same_owner(new.person_id),
            "disabled_at": None,
            "disabled_reason": None,
        },
    ).returning(PushSubscription.id)
    async with session.begin():
        stored = (await session.execute(returning)).scalar_one()
        await _evict_beyond_limit(session, principal, now)
    return SubscriptionCreated(id=stored, created=stored == fresh)


def _kept_if_same_owner(new_owner: Any) -> Any:
    return case(
        (PushSubscription.person_id == new_owner, PushSubscription.last_used_at), else_=None
    )


async def _evict_beyond_limit(
    session: AsyncSession, principal: PersonPrincipal, now: dt.datetime
) -> None:
    rows = (
        await session.execute(
            select(
                PushSubscription.id, PushSubscription.created_at, PushSubscription.last_used_at
            ).where(
                PushSubscription.municipality_id == principal.municipality_id,
                PushSubscription.person_id == principal.person_id,
                PushSubscription.disabled_at.is_(None),
            )
        )
    ).all()
    if len(rows) <= MAX_PER_PERSON:
        return
    by_activity = sorted(rows, key=lambda row: (_active_at(row[1], row[2]), row[0]), reverse=True)
    stale = [row[0] for row in by_activity[MAX_PER_PERSON:]]
    await disable(session, principal.municipality_id, stale, EVICTED, now)


def _active_at(created_at: dt.datetime, last_used_at: dt.datetime | None) -> dt.datetime:
    return max(created_at, last_used_at) if last_used_at is not None else created_at


async def remove(
    session: AsyncSession, principal: PersonPrincipal, subscription_id: uuid.UUID
) -> None:
    """Delete one of the caller's subscriptions; NotFound for anyone else's."""
    async with session.begin():
        result = await session.execute(
            delete(PushSubscription).where(
                PushSubscription.municipality_id == principal.municipality_id,
                PushSubscription.person_id == principal.person_id,
                PushSubscription.id == subscription_id,
            )
        )
    if _rows(result) == 0:
        raise NotFound("no such push subscription")


async def list_subscriptions(session: AsyncSession, principal: PersonPrincipal) -> SubscriptionList:
    """The caller's subscriptions, newest first, disabled ones included."""
    async with session.begin():
        rows = await session.scalars(
            select(PushSubscription)
            .where(
                PushSubscription.municipality_id == principal.municipality_id,
                PushSubscription.person_id == principal.person_id,
            )
            .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        )
        return SubscriptionList(
            items=[
                SubscriptionRead(
                    id=row.id,
                    origin=origin_of(row.endpoint),
                    user_agent=row.user_agent,
                    created_at=row.created_at,
                    last_used_at=row.last_used_at,
                    disabled=row.disabled_at is not None,
                )
                for row in rows
            ]
        )


async def active_targets(
    session: AsyncSession, municipality_id: uuid.UUID, person_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[PushTarget]]:
    """Every active subscription of these people, by person; one query for any number."""
    if not person_ids:
        return {}
    rows = await session.execute(
        select(
            PushSubscription.person_id,
            PushSubscription.id,
            PushSubscription.endpoint,
            PushSubscription.p256dh,
            PushSubscription.auth,
        )
        .where(
            PushSubscription.municipality_id == municipality_id,
            among(PushSubscription.person_id, person_ids, session),
            PushSubscription.disabled_at.is_(None),
        )
        .order_by(PushSubscription.person_id, PushSubscription.created_at, PushSubscription.id)
    )
    targets: dict[uuid.UUID, list[PushTarget]] = defaultdict(list)
    for person_id, subscription_id, endpoint, p256dh, auth in rows:
        targets[person_id].append(
            PushTarget(subscription_id=subscription_id, endpoint=endpoint, p256dh=p256dh, auth=auth)
        )
    return dict(targets)


async def disable(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    subscription_ids: Collection[uuid.UUID],
    reason: str,
    now: dt.datetime,
) -> int:
    """Stop pushing to these subscriptions (e.g. the push service said 404/410); how many.

    One UPDATE in the caller's transaction; already disabled ones keep their first reason.
    """
    if not subscription_ids:
        return 0
    result = await session.execute(
        update(PushSubscription)
        .where(
            PushSubscription.municipality_id == municipality_id,
            among(PushSubscription.id, subscription_ids, session),
            PushSubscription.disabled_at.is_(None),
        )
        .values(disabled_at=now, disabled_reason=reason[:200])
        .execution_options(synchronize_session=False)
    )
    return _rows(result)


async def touch(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    subscription_ids: Collection[uuid.UUID],
    now: dt.datetime,
) -> int:
    """Record that a push service took a push for these subscriptions; one UPDATE."""
    if not subscription_ids:
        return 0
    result = await session.execute(
        update(PushSubscription)
        .where(
            PushSubscription.municipality_id == municipality_id,
            among(PushSubscription.id, subscription_ids, session),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rows(result)


async def expire_unused(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    """Disable subscriptions idle for ``push_subscription_expire_days``; how many.

    Idle: no push taken and no registration since the cutoff (``last_used_at`` and
    ``created_at`` both older). A browser that registers again on its next visit is
    active again at once.
    """
    cutoff = now - dt.timedelta(days=settings.push_subscription_expire_days)
    result = await session.execute(
        update(PushSubscription)
        .where(
            PushSubscription.disabled_at.is_(None),
            PushSubscription.created_at < cutoff,
            or_(PushSubscription.last_used_at.is_(None), PushSubscription.last_used_at < cutoff),
        )
        .values(
            disabled_at=now,
            disabled_reason=f"expired: unused for {settings.push_subscription_expire_days} days",
        )
        .execution_options(synchronize_session=False)
    )
    return _rows(result)


async def purge_disabled(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    """Delete subscriptions disabled more than ``push_subscription_expire_days`` ago."""
    cutoff = now - dt.timedelta(days=settings.push_subscription_expire_days)
    result = await session.execute(
        delete(PushSubscription)
        .where(PushSubscription.disabled_at.is_not(None), PushSubscription.disabled_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return _rows(result)


def vapid_public_key(settings: Settings) -> str:
    """The gateway's ``applicationServerKey``; NotFound when web push is not configured."""
    if settings.vapid_private_key is None or settings.vapid_subject is None:
        raise NotFound("web push is not configured")
    return _public_key(settings.vapid_private_key)


@functools.lru_cache(maxsize=4)
def _public_key(private_key: str) -> str:
    return public_key_b64(load_private_key(private_key))
