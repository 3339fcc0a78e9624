"""Consent requests, their versions, the children they ask about, and the answer record.

A request is posted as an announcement-like thread (``threads.category = "consent"``),
so it reaches inboxes and notifications through the same fan-out as any item; its
question lives in versions. ``consent_answers`` is append-only: an answer, a change and a
withdrawal are each a new row, and the current state of a child is the newest row of
each answering person for the current version.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.orm import Base, JSONType, UTCDateTime, new_id, utcnow


class ConsentKind(enum.StrEnum):
    CONSENT = "consent"  # samtykke: may be withdrawn at any time
    PERMISSION = "permission"  # tilladelse: may be changed until the deadline


class AnswerRule(enum.StrEnum):
    ANY = "any"  # one custodial guardian's answer decides
    ALL = "all"  # every custodial guardian must agree


class AnswerChannel(enum.StrEnum):
    API = "api"
    EMAIL_LINK = "email_link"


WITHDRAWN = "withdrawn"  # the option value of a withdrawal


def _in(column: str, values: type[enum.StrEnum]) -> str:
    listed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({listed})"


class ConsentRequest(Base):
    """One question to the guardians of some children, with its rule and deadline."""

    __tablename__ = "consent_requests"
    __table_args__ = (
        UniqueConstraint("municipality_id", "thread_id"),
        Index(None, "municipality_id", "institution_id", "deadline"),
        CheckConstraint(_in("kind", ConsentKind), name="kind"),
        CheckConstraint(_in("answer_rule", AnswerRule), name="answer_rule"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"))
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id"))
    kind: Mapped[str] = mapped_column(String(16))
    answer_rule: Mapped[str] = mapped_column(String(8))
    # [{"key": "yes", "label": "Ja"}, …]; keys are what answers store.
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reminder_offsets: Mapped[list[int]] = mapped_column(JSONType, default=list)  # seconds
    pupils_from_age: Mapped[int | None] = mapped_column(Integer)  # None: pupils do not answer
    version: Mapped[int] = mapped_column(Integer, default=1)  # the current one
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsentVersion(Base):
    """The text of a request as it stood; answers point at the version they answered."""

    __tablename__ = "consent_versions"
    __table_args__ = (UniqueConstraint("municipality_id", "request_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_requests.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)  # sanitised Markdown source
    question_html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsentChild(Base):
    """A child the request asks about (fixed when it is posted)."""

    __tablename__ = "consent_children"
    __table_args__ = (UniqueConstraint("municipality_id", "request_id", "child_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_requests.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))


class ConsentAnswer(Base):
    """One entry of the append-only record: who answered what, for which child, how."""

    __tablename__ = "consent_answers"
    __table_args__ = (
        Index(None, "municipality_id", "request_id", "child_id", "created_at"),
        CheckConstraint(_in("channel", AnswerChannel), name="channel"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_requests.id"))
    version: Mapped[int] = mapped_column(Integer)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    answered_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    option: Mapped[str] = mapped_column(String(32))  # an option key, or "withdrawn"
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsentReminderRun(Base):
    """A reminder offset of a request that has been acted on (so it runs once)."""

    __tablename__ = "consent_reminder_runs"
    __table_args__ = (UniqueConstraint("municipality_id", "request_id", "round"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_requests.id"))
    round: Mapped[int] = mapped_column(Integer)  # 1 = the first offset, …
    reminded: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
