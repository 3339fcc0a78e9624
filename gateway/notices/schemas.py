"""What the daycare-notice API takes and answers: bounded, strict msgspec structs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from gateway.messaging.views import PersonRef
from gateway.notices.models import NoticeKind

MAX_NAME = 200
MAX_NOTE = 1000
# "HH:MM" on a 24-hour clock, local time at the institution.
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

PickupName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_NAME,
        description='Who collects the child (e.g. "Morfar", "Anna Holm").',
    ),
]
PickupTime = Annotated[
    str,
    msgspec.Meta(pattern=TIME_PATTERN, description="Local time, HH:MM (24-hour clock)."),
]
Note = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_NOTE, description=f"Plain text for the staff, at most {MAX_NOTE} characters."
    ),
]


class NoticeCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A guardian's notice to a child's room: sick, off, or picked up by someone else.

    ``off`` covers ``from_date`` to ``to_date`` (one day when ``to_date`` is left out);
    ``sick`` and ``picked_up_by`` are for one day. ``picked_up_by`` needs a name and a
    time; the other kinds take neither.
    """

    child_id: uuid.UUID
    kind: NoticeKind
    from_date: dt.date
    to_date: dt.date | None = None
    picked_up_by: PickupName | None = None
    pickup_time: PickupTime | None = None
    note: Note | None = None


class Acknowledgement(msgspec.Struct, kw_only=True):
    """Which member of staff saw the notice first, and when."""

    by: PersonRef
    at: dt.datetime


class ChildName(msgspec.Struct, kw_only=True):
    """The child a notice is about, named as the caller may see them."""

    id: uuid.UUID
    name: str


class NoticeRead(msgspec.Struct, kw_only=True):
    """One notice as the caller may see it.

    ``thread_id`` is the conversation with the room's staff; it is given to its sender
    and to staff (other guardians are not in that thread). ``note`` and ``picked_up_by``
    of a notice another guardian sent are left out for a guardian without custody.
    """

    id: uuid.UUID
    child: ChildName
    institution_id: uuid.UUID
    kind: NoticeKind
    from_date: dt.date
    to_date: dt.date
    picked_up_by: str | None
    pickup_time: str | None
    note: str | None
    sent_by: PersonRef
    created_at: dt.datetime
    thread_id: uuid.UUID | None
    acknowledged: Acknowledgement | None
    withdrawn_at: dt.datetime | None


class NoticeList(msgspec.Struct, kw_only=True):
    """A guardian's notices about their children, oldest day first.

    ``truncated`` says the range held more than the list's limit: ask for a shorter one.
    """

    items: list[NoticeRead]
    truncated: bool


class GroupName(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str


class DayNotice(NoticeRead, kw_only=True):
    """A line in a room's day list: the notice and the child's group on that day."""

    group: GroupName | None


class DayList(msgspec.Struct, kw_only=True):
    """An institution's notices that cover one day, by group, then child.

    ``counts`` are the notices per kind that still hold (withdrawn ones are listed,
    marked with ``withdrawn_at``, but not counted).
    """

    institution_id: uuid.UUID
    date: dt.date
    group_id: uuid.UUID | None
    items: list[DayNotice]
    counts: dict[str, int]
    truncated: bool
