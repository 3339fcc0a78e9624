"""Reading and changing a municipality's retention: the policy in force and its holds."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.errors import InvalidInput, NotFound
from gateway.retention.hold import HoldState, active_holds
from gateway.retention.policy import (
    DEFAULT_DAYS,
    DEFAULT_POLICY,
    MAX_DAYS,
    MIN_DAYS,
    SETTINGS_KEY,
    Policy,
    checked_overrides,
    policy_of,
)
from gateway.retention.schemas import LegalHoldRead, RetentionRead
from gateway.roster.models import Municipality


async def read_retention(session: AsyncSession, municipality_id: uuid.UUID) -> RetentionRead:
    """The policy in force and the holds that are on; stored settings' errors, if any."""
    async with session.begin():
        municipality = await _municipality(session, municipality_id, lock=False)
        holds = await active_holds(session, municipality_id)
    errors: list[str] = []
    try:
        policy = policy_of(municipality.settings)
    except InvalidInput as exc:
        policy, errors = DEFAULT_POLICY, exc.errors
    return shape(policy, holds, errors)


async def replace_policy(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    days: Mapping[str, object],
    *,
    by: audit.AuditActor,
) -> RetentionRead:
    """Store the municipality's overrides (checked first; ``{}``: the defaults), audited."""
    overrides = checked_overrides(days)
    async with session.begin():
        municipality = await _municipality(session, municipality_id, lock=True)
        stored = {category.value: value for category, value in sorted(overrides.items())}
        # A new dict, so the JSON column sees the change; other keys stay as they are.
        municipality.settings = {**(municipality.settings or {}), SETTINGS_KEY: stored}
        await audit.record(
            session,
            municipality_id=municipality_id,
            actor=by,
            action="retention.policy_change",
            target_kind="municipality",
            target_id=municipality_id,
            detail={"days": stored},
        )
        holds = await active_holds(session, municipality_id)
    return shape(policy_of(municipality.settings), holds, [])


def shape(policy: Policy, holds: list[HoldState], errors: list[str]) -> RetentionRead:
    return RetentionRead(
        days={category.value: days for category, days in policy.days.items()},
        defaults={category.value: days for category, days in DEFAULT_DAYS.items()},
        overridden=sorted(category.value for category in policy.overridden),
        min_days=MIN_DAYS,
        max_days=MAX_DAYS,
        errors=errors,
        holds=[hold_read(hold) for hold in holds],
    )


def hold_read(hold: HoldState) -> LegalHoldRead:
    return LegalHoldRead(
        institution_id=hold.institution_id,
        institution_name=hold.institution_name,
        active=hold.active,
        reason=hold.reason,
        since=hold.since,
        set_by=hold.set_by,
        cleared_at=hold.cleared_at,
        cleared_reason=hold.cleared_reason,
    )


async def _municipality(
    session: AsyncSession, municipality_id: uuid.UUID, *, lock: bool
) -> Municipality:
    statement = select(Municipality).where(Municipality.id == municipality_id)
    found = await session.scalar(statement.with_for_update() if lock else statement)
    if found is None:
        raise NotFound("no such municipality")
    return found
