"""Who is who: municipalities, institutions, groups, people and how they are linked.

Every tenant-owned table carries ``municipality_id``, and its natural keys lead with it,
so the tables can be distributed by municipality later (see docs/architecture.md).
People are never hard-deleted by a roster sync: they are deactivated, so the messages
they wrote stay readable to the others in a thread.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.orm import Base, JSONType, Timestamps, UTCDateTime, new_id


class InstitutionKind(enum.StrEnum):
    SCHOOL = "school"
    DAYCARE = "daycare"


class GroupKind(enum.StrEnum):
    CLASS = "class"
    YEAR = "year"
    ROOM = "room"
    CLUB = "club"
    STAFF = "staff"
    CUSTOM = "custom"


class PersonKind(enum.StrEnum):
    CHILD = "child"
    GUARDIAN = "guardian"
    STAFF = "staff"


class MemberRole(enum.StrEnum):
    """A person's role in a group."""

    CHILD = "child"
    TEACHER = "teacher"
    PEDAGOGUE = "pedagogue"
    LEADER = "leader"
    ADMIN = "admin"


class ContactKind(enum.StrEnum):
    EMAIL = "email"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    listed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({listed})"


class Municipality(Base, Timestamps):
    """A kommune: the tenant boundary."""

    __tablename__ = "municipalities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    source_id: Mapped[str | None] = mapped_column(String(255))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Institution(Base, Timestamps):
    """A school or a daycare institution."""

    __tablename__ = "institutions"
    __table_args__ = (
        UniqueConstraint("municipality_id", "source_id"),
        CheckConstraint(_in("kind", InstitutionKind), name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    source_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    identifier: Mapped[str | None] = mapped_column(String(64))
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Copenhagen")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Group(Base, Timestamps):
    """A class, year, room, club, staff room or custom group within an institution."""

    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("municipality_id", "source_id"),
        Index(None, "municipality_id", "institution_id"),
        CheckConstraint(_in("kind", GroupKind), name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    source_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    grades: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# An erased person's source id (gateway.people.erasure): no roster record can match it.
ERASED_SOURCE_PREFIX = "erased:"


class Person(Base, Timestamps):
    """A child, guardian or member of staff."""

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("municipality_id", "source_id"),
        Index(None, "municipality_id", "uni_login"),
        Index(None, "municipality_id", "kind"),
        CheckConstraint(_in("kind", PersonKind), name="kind"),
        CheckConstraint("NOT protected OR alias IS NOT NULL", name="protected_alias"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    source_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    alias: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(16), default="da")
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    grades: Mapped[str | None] = mapped_column(String(64))
    uni_login: Mapped[str | None] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Affiliation(Base, Timestamps):
    """A person's role at an institution (OneRoster ``roles``, or ``orgSourcedIds``)."""

    __tablename__ = "affiliations"
    __table_args__ = (
        UniqueConstraint("municipality_id", "person_id", "institution_id", "role"),
        Index(None, "municipality_id", "institution_id", "role"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    role: Mapped[str] = mapped_column(String(32))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=True)
    begin_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Guardianship(Base, Timestamps):
    """A guardian's link to a child; ``custody`` decides who receives and who may consent."""

    __tablename__ = "guardianships"
    __table_args__ = (
        UniqueConstraint("municipality_id", "child_id", "guardian_id"),
        Index(None, "municipality_id", "guardian_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    guardian_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    custody: Mapped[bool] = mapped_column(Boolean)
    relation: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Membership(Base, Timestamps):
    """A person in a group with a role, from ``begin_date`` to ``end_date`` (inclusive)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("municipality_id", "group_id", "person_id", "role"),
        Index(None, "municipality_id", "person_id"),
        CheckConstraint(_in("role", MemberRole), name="role"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    role: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str | None] = mapped_column(String(255))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    begin_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ContactPoint(Base, Timestamps):
    """An address a person can be reached at (email now; web push comes with delivery)."""

    __tablename__ = "contact_points"
    __table_args__ = (
        UniqueConstraint("municipality_id", "person_id", "kind", "address"),
        CheckConstraint(_in("kind", ContactKind), name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # ``roster`` addresses are owned by the roster sync; ``user`` ones by the person.
    origin: Mapped[str] = mapped_column(String(16), default="roster")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ImportRun(Base):
    """The record of one roster import or REST sync: what it changed and what it refused."""

    __tablename__ = "import_runs"
    __table_args__ = (Index(None, "municipality_id", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    source: Mapped[str] = mapped_column(String(500))
    modes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    rejected: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
