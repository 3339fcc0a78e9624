"""Institution defaults: which institution's apply to a person, and reading and writing them.

The defaults live in ``institutions.settings["notifications"]`` as
``{category: {channel: mode}}`` with the stored channel names (``webpush``, ``email``);
what is not there is ``instant``. The key shares the ``settings`` column with other
features, so a write replaces that key only.

A person's own document shows the defaults of their *home* institution: their current
affiliation at an active institution (the primary one first, then by name); a guardian
without one of their own gets the institution their children are at (custodial
children first). Planning a message uses the defaults of the message's institution,
which for nearly everyone is the same place.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from msgspec import UNSET
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.auth.principals import SystemPrincipal, ensure_in_key_scope, ensure_tenant
from gateway.errors import InvalidInput, NotFound
from gateway.people.service import current
from gateway.preferences.models import Category, Mode
from gateway.preferences.rules import CATEGORIES, DEFAULTS_KEY, Defaults, default_mode
from gateway.preferences.schemas import (
    CHANNEL_NAMES,
    CategoryDefaultsPut,
    CategoryDefaultsRead,
    ChannelDefaultsRead,
    NotificationDefaultsPut,
    NotificationDefaultsRead,
)
from gateway.roster.models import Affiliation, Guardianship, Institution, Person, PersonKind

URGENT_LOCKED = (
    "urgent notifications are always instant: they cannot be turned off or put in a digest"
)


def defaults_of(institution: Institution | None) -> Defaults:
    """The institution's stored defaults, ignoring anything that is not a mapping."""
    if institution is None:
        return {}
    stored = (institution.settings or {}).get(DEFAULTS_KEY)
    if not isinstance(stored, Mapping):
        return {}
    return {
        category: channels for category, channels in stored.items() if isinstance(channels, Mapping)
    }


async def home_institution(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    person_id: uuid.UUID,
    kind: str,
    today: dt.date,
) -> Institution | None:
    """The institution whose defaults a person's own document shows (see the module doc)."""
    own = await session.scalar(
        select(Institution)
        .join(Affiliation, Affiliation.institution_id == Institution.id)
        .where(
            Affiliation.municipality_id == municipality_id,
            Affiliation.person_id == person_id,
            current(Affiliation, today),
            Institution.active.is_(True),
        )
        .order_by(Affiliation.is_primary.desc(), Institution.name, Institution.id)
        .limit(1)
    )
    if own is not None or kind != PersonKind.GUARDIAN.value:
        return own
    return await session.scalar(
        select(Institution)
        .join(Affiliation, Affiliation.institution_id == Institution.id)
        .join(Guardianship, Guardianship.child_id == Affiliation.person_id)
        .join(Person, Person.id == Guardianship.child_id)
        .where(
            Guardianship.municipality_id == municipality_id,
            Guardianship.guardian_id == person_id,
            Guardianship.active.is_(True),
            Person.active.is_(True),
            current(Affiliation, today),
            Institution.active.is_(True),
        )
        .order_by(
            Guardianship.custody.desc(),
            Affiliation.is_primary.desc(),
            Institution.name,
            Institution.id,
        )
        .limit(1)
    )


async def read_defaults(
    session: AsyncSession, principal: SystemPrincipal, institution_id: uuid.UUID
) -> NotificationDefaultsRead:
    """An institution's defaults, for a key whose scope covers it."""
    async with session.begin():
        institution = await _institution(session, principal, institution_id, lock=False)
        return _read(institution)


async def replace_defaults(
    session: AsyncSession,
    principal: SystemPrincipal,
    institution_id: uuid.UUID,
    data: NotificationDefaultsPut,
) -> NotificationDefaultsRead:
    """Replace an institution's defaults (only ``settings["notifications"]``)."""
    stored = _stored(data.categories)
    async with session.begin():
        institution = await _institution(session, principal, institution_id, lock=True)
        # A new dict, so the JSON column sees the change; other keys stay as they are.
        institution.settings = {**(institution.settings or {}), DEFAULTS_KEY: stored}
        await audit.record(
            session,
            municipality_id=institution.municipality_id,
            actor=audit.AuditActor.api_key(principal.key_id),
            action="notification_defaults.change",
            target_kind="institution",
            target_id=institution.id,
            detail={"categories": sorted(stored)},
        )
        await session.flush()
        return _read(institution)


def _stored(categories: CategoryDefaultsPut) -> dict[str, dict[str, str]]:
    """The storage form of a PUT, or InvalidInput naming each field that breaks a rule."""
    stored: dict[str, dict[str, str]] = {}
    errors: list[str] = []
    for category in CATEGORIES:
        given = getattr(categories, category.value)
        if given is UNSET:
            continue
        for wire, channel in CHANNEL_NAMES.items():
            mode = getattr(given, wire)
            if mode is UNSET:
                continue
            if category == Category.URGENT and mode != Mode.INSTANT:
                errors.append(f"categories.urgent.{wire}: {URGENT_LOCKED}")
                continue
            stored.setdefault(category.value, {})[channel] = mode
    if errors:
        raise InvalidInput("urgent notifications cannot be changed", errors)
    return stored


def _read(institution: Institution) -> NotificationDefaultsRead:
    defaults = defaults_of(institution)
    per_category: dict[str, Any] = {
        category.value: ChannelDefaultsRead(
            push=default_mode(category, CHANNEL_NAMES["push"], defaults),
            email=default_mode(category, CHANNEL_NAMES["email"], defaults),
            locked=category == Category.URGENT,
        )
        for category in CATEGORIES
    }
    return NotificationDefaultsRead(
        institution_id=institution.id, categories=CategoryDefaultsRead(**per_category)
    )


async def _institution(
    session: AsyncSession, principal: SystemPrincipal, institution_id: uuid.UUID, *, lock: bool
) -> Institution:
    """The institution, or NotFound when it is another tenant's or outside the key's scope."""
    query = select(Institution).where(Institution.id == institution_id)
    if lock:
        # Other features write other keys of ``settings``: serialise read-modify-write.
        query = query.with_for_update()
    institution = await session.scalar(query)
    if institution is None:
        raise NotFound("no such institution")
    ensure_tenant(principal, institution.municipality_id, "institution")
    ensure_in_key_scope(principal, [institution.id], "institution")
    return institution
