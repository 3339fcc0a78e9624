"""A person's notification preferences: their document, their changes, and planning's reads.

The document resolves, per category and channel, the person's own choice against their
home institution's default (:mod:`gateway.preferences.defaults`); ``urgent`` is locked
to ``instant``. Guardians and pupils have quiet hours, staff the operator's working
hours; everyone has a digest time. A row in ``preferences`` or a column of
``notification_schedules`` exists only for what the person chose themself: ``null`` in a
PUT deletes the choice, so a later change of the default reaches them.

Planning reads many people at once: :func:`modes_for` and :func:`schedules_for` take
any number of people (100 000 and more) and still run one query each, the id list
bound as one parameter (:func:`gateway.dialect.among`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence

from msgspec import UNSET, UnsetType
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.auth.principals import PersonPrincipal
from gateway.config import Settings
from gateway.config_values import DAYS
from gateway.dialect import among, upsert
from gateway.errors import InvalidInput
from gateway.orm import new_id, utcnow
from gateway.preferences.defaults import URGENT_LOCKED, defaults_of, home_institution
from gateway.preferences.models import Category, Mode, Preference, Schedule
from gateway.preferences.rules import CATEGORIES, Defaults, default_mode, effective_mode
from gateway.preferences.schemas import (
    CHANNEL_NAMES,
    CategoriesPut,
    CategoriesRead,
    CategoryRead,
    ChannelRead,
    InstitutionRef,
    PreferencesPut,
    PreferencesRead,
    QuietHoursRead,
    WorkingHoursRead,
)
from gateway.roster.models import PersonKind

# (category, stored channel) → the mode chosen, or None to go back to the default.
ModeChanges = dict[tuple[str, str], Mode | None]


def clock(minutes: int) -> str:
    """Minutes after midnight as ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def minutes_of(value: str) -> int:
    """``HH:MM`` (already checked by the schema) as minutes after midnight."""
    hours, _, minutes = value.partition(":")
    return int(hours) * 60 + int(minutes)


async def read_preferences(
    session: AsyncSession, principal: PersonPrincipal, settings: Settings
) -> PreferencesRead:
    """The signed-in person's notification document."""
    async with session.begin():
        return await _document(session, principal, settings)


async def update_preferences(
    session: AsyncSession, principal: PersonPrincipal, data: PreferencesPut, settings: Settings
) -> PreferencesRead:
    """Apply a partial update to the person's own preferences; the new document."""
    errors: list[str] = []
    modes = _mode_changes(data.categories, errors)
    schedule = _schedule_changes(data, principal.kind, errors)
    if errors:
        raise InvalidInput("some preferences cannot be set as given", errors)
    async with session.begin():
        await _store_modes(session, principal, modes)
        await _store_schedule(session, principal, schedule)
        await audit.record(
            session,
            municipality_id=principal.municipality_id,
            actor=audit.AuditActor.person(principal.person_id),
            action="preferences.change",
            target_kind="person",
            target_id=principal.person_id,
            detail={
                "modes": len(modes),
                "categories": sorted({category for category, _ in modes}),
                "schedule": sorted(schedule),
            },
        )
        return await _document(session, principal, settings)


async def modes_for(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    person_ids: Sequence[uuid.UUID],
    category: str,
) -> dict[tuple[uuid.UUID, str], str]:
    """People's own modes for one category, keyed (person, stored channel); one query.

    Whoever is missing has no choice of their own over that channel: the default applies
    (:func:`gateway.preferences.rules.effective_mode`).
    """
    if not person_ids:
        return {}
    rows = await session.execute(
        select(Preference.person_id, Preference.channel, Preference.mode).where(
            Preference.municipality_id == municipality_id,
            Preference.category == category,
            among(Preference.person_id, person_ids, session),
        )
    )
    return {(person_id, channel): mode for person_id, channel, mode in rows}


async def schedules_for(
    session: AsyncSession, municipality_id: uuid.UUID, person_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Schedule]:
    """People's own schedules (quiet hours, digest time, last digest) by person; one query.

    A ``None`` column means the setting's default; a missing person has no row at all.
    """
    if not person_ids:
        return {}
    rows = await session.scalars(
        select(Schedule).where(
            Schedule.municipality_id == municipality_id,
            among(Schedule.person_id, person_ids, session),
        )
    )
    return {row.person_id: row for row in rows}


def _mode_changes(categories: CategoriesPut | UnsetType, errors: list[str]) -> ModeChanges:
    changes: ModeChanges = {}
    if categories is UNSET:
        return changes
    for category in CATEGORIES:
        given = getattr(categories, category.value)
        if given is UNSET:
            continue
        for wire, channel in CHANNEL_NAMES.items():
            mode = getattr(given, wire)
            if mode is UNSET:
                continue
            if category == Category.URGENT:
                if mode not in (None, Mode.INSTANT):
                    errors.append(f"categories.urgent.{wire}: {URGENT_LOCKED}")
                continue  # nothing to store: urgent is instant for everyone
            changes[(category.value, channel)] = mode
    return changes


def _schedule_changes(data: PreferencesPut, kind: str, errors: list[str]) -> dict[str, int | None]:
    """The ``notification_schedules`` columns to set (``None``: back to the default)."""
    columns: dict[str, int | None] = {}
    quiet = data.quiet_hours
    if quiet is None:
        columns.update(quiet_start=None, quiet_end=None)
    elif quiet is not UNSET:
        if kind == PersonKind.STAFF.value:
            errors.append(
                "quiet_hours: staff have working hours instead (set by the operator); "
                "quiet hours are for guardians and pupils"
            )
        elif quiet.start == quiet.end:
            errors.append("quiet_hours: start and end must differ (the range would be empty)")
        else:
            columns.update(quiet_start=minutes_of(quiet.start), quiet_end=minutes_of(quiet.end))
    if data.digest_time is None:
        columns["digest_time"] = None
    elif data.digest_time is not UNSET:
        columns["digest_time"] = minutes_of(data.digest_time)
    return columns


async def _store_modes(
    session: AsyncSession, principal: PersonPrincipal, changes: ModeChanges
) -> None:
    """Upsert the chosen modes and delete the reset ones: at most two statements."""
    now = utcnow()
    chosen = [
        {
            "id": new_id(),
            "municipality_id": principal.municipality_id,
            "person_id": principal.person_id,
            "category": category,
            "channel": channel,
            "mode": mode.value,
            "updated_at": now,
        }
        for (category, channel), mode in changes.items()
        if mode is not None
    ]
    if chosen:
        statement = upsert(Preference, session).values(chosen)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["municipality_id", "person_id", "category", "channel"],
                set_={"mode": statement.excluded.mode, "updated_at": statement.excluded.updated_at},
            )
        )
    reset = [key for key, mode in changes.items() if mode is None]
    if reset:
        await session.execute(
            delete(Preference).where(
                Preference.municipality_id == principal.municipality_id,
                Preference.person_id == principal.person_id,
                or_(
                    *(
                        and_(Preference.category == category, Preference.channel == channel)
                        for category, channel in reset
                    )
                ),
            )
        )


async def _store_schedule(
    session: AsyncSession, principal: PersonPrincipal, columns: dict[str, int | None]
) -> None:
    """Upsert the changed schedule columns; ``last_digest_at`` is the digest job's."""
    if not columns:
        return
    now = utcnow()
    statement = upsert(Schedule, session).values(
        id=new_id(),
        municipality_id=principal.municipality_id,
        person_id=principal.person_id,
        updated_at=now,
        **columns,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["municipality_id", "person_id"],
            set_={name: getattr(statement.excluded, name) for name in [*columns, "updated_at"]},
        )
    )


async def _document(
    session: AsyncSession, principal: PersonPrincipal, settings: Settings
) -> PreferencesRead:
    today = dt.datetime.now(dt.UTC).date()
    own = await _own_modes(session, principal.municipality_id, principal.person_id)
    schedule = (await schedules_for(session, principal.municipality_id, [principal.person_id])).get(
        principal.person_id
    )
    home = await home_institution(
        session, principal.municipality_id, principal.person_id, principal.kind, today
    )
    staff = principal.kind == PersonKind.STAFF.value
    digest = schedule.digest_time if schedule is not None else None
    return PreferencesRead(
        categories=_categories(own, defaults_of(home)),
        quiet_hours=None if staff else _quiet(schedule, settings),
        working_hours=_working(settings) if staff else None,
        digest_time=clock(settings.digest_time if digest is None else digest),
        digest_time_source="default" if digest is None else "own",
        time_zone=home.time_zone if home is not None else settings.default_time_zone,
        defaults_from=InstitutionRef(id=home.id, name=home.name) if home is not None else None,
    )


async def _own_modes(
    session: AsyncSession, municipality_id: uuid.UUID, person_id: uuid.UUID
) -> dict[tuple[str, str], str]:
    """One person's own modes over every category, keyed (category, stored channel)."""
    rows = await session.execute(
        select(Preference.category, Preference.channel, Preference.mode).where(
            Preference.municipality_id == municipality_id, Preference.person_id == person_id
        )
    )
    return {(category, channel): mode for category, channel, mode in rows}


def _categories(own: dict[tuple[str, str], str], defaults: Defaults) -> CategoriesRead:
    per_category: dict[str, CategoryRead] = {}
    for category in CATEGORIES:
        locked = category == Category.URGENT
        channels: dict[str, ChannelRead] = {}
        for wire, channel in CHANNEL_NAMES.items():
            chosen = None if locked else own.get((category.value, channel))
            channels[wire] = ChannelRead(
                mode=effective_mode(category, channel, chosen, defaults),
                source="default" if chosen is None else "own",
                default=default_mode(category, channel, defaults),
            )
        per_category[category.value] = CategoryRead(**channels, locked=locked)
    return CategoriesRead(**per_category)


def _quiet(schedule: Schedule | None, settings: Settings) -> QuietHoursRead:
    if schedule is None or schedule.quiet_start is None or schedule.quiet_end is None:
        start, end = settings.quiet_hours
        return QuietHoursRead(start=clock(start), end=clock(end), source="default")
    return QuietHoursRead(
        start=clock(schedule.quiet_start), end=clock(schedule.quiet_end), source="own"
    )


def _working(settings: Settings) -> WorkingHoursRead:
    days, start, end = settings.working_hours
    return WorkingHoursRead(days=[DAYS[day] for day in days], start=clock(start), end=clock(end))
