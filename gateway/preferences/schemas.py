"""What the preferences API reads and writes: strict msgspec structs, one per direction.

On the wire the web push channel is called ``push``; it is stored as ``webpush`` (the
delivery channel's name). In a PUT, a field left out stays as it is and ``null`` goes
back to the default.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from gateway.preferences.models import Mode

# instant | digest | off
ModeName = Mode
Source = Literal["own", "default"]
# A time of day in the institution's time zone.
Clock = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="A time of day, HH:MM from 00:00 to 23:59, in the institution's time zone",
        examples=["20:00"],
    ),
]
# The wire name of each channel and the name it is stored and planned under.
CHANNEL_NAMES = {"push": "webpush", "email": "email"}


# --- a person's preferences -------------------------------------------------------


class ChannelRead(msgspec.Struct, frozen=True, kw_only=True):
    """The mode that applies over one channel, and where it comes from."""

    mode: ModeName
    source: Source  # "own": the person chose it; "default": the institution's (or built in)
    default: ModeName  # what applies without a choice of one's own


class CategoryRead(msgspec.Struct, frozen=True, kw_only=True):
    """One category over both channels; ``locked`` ones cannot be changed (urgent)."""

    push: ChannelRead
    email: ChannelRead
    locked: bool


class CategoriesRead(msgspec.Struct, frozen=True, kw_only=True):
    message: CategoryRead
    announcement: CategoryRead
    consent: CategoryRead
    reminder: CategoryRead
    urgent: CategoryRead


class QuietHoursRead(msgspec.Struct, frozen=True, kw_only=True):
    """When push and email wait (may wrap past midnight)."""

    start: str
    end: str
    source: Source


class WorkingHoursRead(msgspec.Struct, frozen=True, kw_only=True):
    """Staff's working hours: outside them push and email wait (set by the operator)."""

    days: list[str]  # mon … sun
    start: str
    end: str


class InstitutionRef(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str


class PreferencesRead(msgspec.Struct, frozen=True, kw_only=True):
    """A person's whole notification document, own choices and defaults resolved."""

    categories: CategoriesRead
    quiet_hours: QuietHoursRead | None  # guardians and pupils; ``null`` for staff
    working_hours: WorkingHoursRead | None  # staff only, read-only
    digest_time: str
    digest_time_source: Source
    time_zone: str  # the zone the times above are read in
    defaults_from: InstitutionRef | None  # whose defaults apply; ``null``: built-in


class CategoryPut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A change to one category: a mode, or ``null`` for the default; left out: unchanged."""

    push: ModeName | UnsetType | None = UNSET
    email: ModeName | UnsetType | None = UNSET


class CategoriesPut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    message: CategoryPut | UnsetType = UNSET
    announcement: CategoryPut | UnsetType = UNSET
    consent: CategoryPut | UnsetType = UNSET
    reminder: CategoryPut | UnsetType = UNSET
    urgent: CategoryPut | UnsetType = UNSET  # only "instant" (or null) is accepted


class QuietHoursPut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    start: Clock
    end: Clock


class PreferencesPut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A partial update: what is left out stays; ``null`` goes back to the default."""

    categories: CategoriesPut | UnsetType = UNSET
    quiet_hours: QuietHoursPut | UnsetType | None = UNSET
    digest_time: Clock | UnsetType | None = UNSET


# --- an institution's defaults ----------------------------------------------------


class ChannelDefaultsPut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An institution's default for one category; a channel left out is ``instant``."""

    push: ModeName | UnsetType = UNSET
    email: ModeName | UnsetType = UNSET


class CategoryDefaultsPut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    message: ChannelDefaultsPut | UnsetType = UNSET
    announcement: ChannelDefaultsPut | UnsetType = UNSET
    consent: ChannelDefaultsPut | UnsetType = UNSET
    reminder: ChannelDefaultsPut | UnsetType = UNSET
    urgent: ChannelDefaultsPut | UnsetType = UNSET  # only "instant" is accepted


class NotificationDefaultsPut(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """All of an institution's defaults (a replacement: what is left out is ``instant``)."""

    categories: CategoryDefaultsPut


class ChannelDefaultsRead(msgspec.Struct, frozen=True, kw_only=True):
    push: ModeName
    email: ModeName
    locked: bool


class CategoryDefaultsRead(msgspec.Struct, frozen=True, kw_only=True):
    message: ChannelDefaultsRead
    announcement: ChannelDefaultsRead
    consent: ChannelDefaultsRead
    reminder: ChannelDefaultsRead
    urgent: ChannelDefaultsRead


class NotificationDefaultsRead(msgspec.Struct, frozen=True, kw_only=True):
    """The defaults people of an institution get until they choose for themselves."""

    institution_id: uuid.UUID
    categories: CategoryDefaultsRead
