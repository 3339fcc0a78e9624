"""What the retention endpoints take and return (msgspec, one struct per direction)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from gateway.retention.hold import MAX_REASON

Reason = Annotated[str, msgspec.Meta(max_length=MAX_REASON)]


class LegalHoldRead(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An institution's legal hold: on, or the last one and when it was lifted."""

    institution_id: uuid.UUID
    institution_name: str
    active: bool
    reason: str
    since: dt.datetime | None
    set_by: str
    cleared_at: dt.datetime | None = None
    cleared_reason: str | None = None


class RetentionRead(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The policy in force (days after last activity, per category) and the holds that are on.

    ``errors`` lists what is wrong with the stored settings; while it is not empty the
    purge does not run for the municipality, and ``days`` shows the defaults.
    """

    days: dict[str, int]
    defaults: dict[str, int]
    overridden: list[str]
    min_days: int
    max_days: int
    errors: list[str]
    holds: list[LegalHoldRead]


class RetentionPut(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The municipality's overrides, replacing the ones stored (``{}``: the defaults)."""

    days: Annotated[dict[str, int], msgspec.Meta(max_length=16)]


class LegalHoldPut(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Put an institution under legal hold (``on``, with a reason) or lift it."""

    on: bool
    reason: Reason | None = None
