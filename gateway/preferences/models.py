"""Notification preferences and each person's quiet hours and digest time."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.orm import Base, UTCDateTime, new_id, utcnow


class Category(enum.StrEnum):
    MESSAGE = "message"
    ANNOUNCEMENT = "announcement"
    CONSENT = "consent"
    REMINDER = "reminder"
    URGENT = "urgent"


class Mode(enum.StrEnum):
    INSTANT = "instant"
    DIGEST = "digest"
    OFF = "off"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    listed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({listed})"


class Preference(Base):
    """How one person wants one category over one channel; no row: the default."""

    __tablename__ = "preferences"
    __table_args__ = (
        UniqueConstraint("municipality_id", "person_id", "category", "channel"),
        CheckConstraint(_in("category", Category), name="category"),
        CheckConstraint(_in("mode", Mode), name="mode"),
        CheckConstraint("channel IN ('email', 'webpush')", name="channel"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    category: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Schedule(Base):
    """A person's own quiet hours and digest time (minutes after local midnight)."""

    __tablename__ = "notification_schedules"
    __table_args__ = (UniqueConstraint("municipality_id", "person_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    digest_time: Mapped[int | None] = mapped_column(Integer)
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
