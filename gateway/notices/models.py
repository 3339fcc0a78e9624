"""Daycare notices: a guardian tells a child's room that the child is sick, off or picked up."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.orm import Base, UTCDateTime, new_id, utcnow


class NoticeKind(enum.StrEnum):
    SICK = "sick"
    OFF = "off"
    PICKED_UP_BY = "picked_up_by"


class DaycareNotice(Base):
    """One notice about one child for a span of days (one day for sick and pick-up)."""

    __tablename__ = "daycare_notices"
    __table_args__ = (
        Index(None, "municipality_id", "institution_id", "from_date", "to_date"),
        Index(None, "municipality_id", "child_id", "from_date"),
        CheckConstraint("kind IN ('sick', 'off', 'picked_up_by')", name="kind"),
        CheckConstraint("to_date >= from_date", name="dates"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(16))
    from_date: Mapped[dt.date] = mapped_column(Date)
    to_date: Mapped[dt.date] = mapped_column(Date)
    picked_up_by: Mapped[str | None] = mapped_column(String(200))  # the name
    pickup_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", local time
    note: Mapped[str | None] = mapped_column(Text)
    # The thread to the room's staff that carries it to their inboxes and notifications.
    thread_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("threads.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
