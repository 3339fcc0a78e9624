"""What clients send to the consents API and what it answers: bounded, strict msgspec structs.

Requests (``…Create``, ``…Edit``, ``…In``) forbid unknown fields; answers are built from
rows by the services, never the rows themselves. Children and people appear as
:class:`~gateway.messaging.views.PersonRef` (a protected child by alias to anyone not
entitled to the name), and never with contact details.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from gateway.audience.schemas import Audience
from gateway.consents.models import AnswerRule, ConsentKind
from gateway.messaging.schemas import AttachmentIds, Body
from gateway.messaging.views import AttachmentRead, PersonRef

MAX_TITLE = 200
MIN_OPTIONS, MAX_OPTIONS = 2, 5
MAX_LABEL = 80
MAX_REMINDERS = 5
MAX_ANSWERS = 50  # items per call: a family, or a pupil, answers in one go
HOURS_PER_YEAR = 366 * 24
OPTION_KEY = r"^[a-z][a-z0-9_-]{0,31}$"

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE)]
OptionKey = Annotated[str, msgspec.Meta(pattern=OPTION_KEY)]
ReminderHours = Annotated[int, msgspec.Meta(gt=0, le=HOURS_PER_YEAR)]
# Answers name options loosely so that every bad item can be reported by its index.
AnsweredOption = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class OptionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One answer a guardian can give: the key answers store, the label people read."""

    key: OptionKey
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_LABEL)]


class ConsentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A question per child to the guardians with custody (``POST /v1/consents``)."""

    title: Title
    question: Body
    kind: ConsentKind
    audience: Audience
    deadline: dt.datetime
    options: (
        Annotated[list[OptionIn], msgspec.Meta(min_length=MIN_OPTIONS, max_length=MAX_OPTIONS)]
        | None
    ) = None
    answer_rule: AnswerRule = AnswerRule.ANY
    reminder_offsets_hours: Annotated[
        list[ReminderHours], msgspec.Meta(max_length=MAX_REMINDERS)
    ] = msgspec.field(default_factory=list)
    attachments: AttachmentIds = msgspec.field(default_factory=list)


class ConsentEdit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new wording (``PUT /v1/consents/{id}``); what is left out stays as it is."""

    title: Title | None = None
    question: Body | None = None


class AnswerIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    child_id: uuid.UUID
    option: AnsweredOption


class AnswersIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Answers for one or more children, stored all together or not at all."""

    answers: Annotated[list[AnswerIn], msgspec.Meta(min_length=1, max_length=MAX_ANSWERS)]


class WithdrawIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The children whose consent (or permission) the caller withdraws."""

    child_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_ANSWERS)]


class OptionRead(msgspec.Struct, kw_only=True):
    key: str
    label: str


class ConsentAccepted(msgspec.Struct, kw_only=True):
    """A stored consent request: how many children it asks about and whom it asks."""

    consent_id: uuid.UUID
    thread_id: uuid.UUID
    message_id: uuid.UUID
    children: int
    recipients: int


class MyAnswer(msgspec.Struct, kw_only=True):
    """The caller's own newest answer for a child under the current wording."""

    option: str  # an option key, or "withdrawn"
    answered_at: dt.datetime
    channel: str


class ChildView(msgspec.Struct, kw_only=True):
    """One child as the caller sees the request: may they answer, and where it stands.

    ``status`` is shown only to those who may answer for the child and to staff: it
    is made of other guardians' answers. ``why_not`` says, in words, why there is no
    answer button (``why_not_code`` is the same for programs).
    """

    child: PersonRef
    can_answer: bool
    can_withdraw: bool
    why_not: str | None
    why_not_code: str | None
    status: str | None
    my_answer: MyAnswer | None
    # The caller answered an earlier wording; that answer no longer counts.
    asked_again: bool


class ResultsSummary(msgspec.Struct, kw_only=True):
    """How many children stand where (staff only)."""

    children: int
    counts: dict[str, int]


class ConsentRead(msgspec.Struct, kw_only=True):
    """A consent request as the caller may see it (``GET /v1/consents/{id}``)."""

    id: uuid.UUID
    thread_id: uuid.UUID
    kind: str
    title: str
    question: str
    question_html: str
    version: int
    options: list[OptionRead]
    answer_rule: str
    deadline: dt.datetime
    closed: bool  # the deadline passed, or the sender recalled the question
    recalled: bool
    created_by: PersonRef
    created_at: dt.datetime
    attachments: list[AttachmentRead]
    children: list[ChildView]
    summary: ResultsSummary | None  # staff only


class AnswersRecorded(msgspec.Struct, kw_only=True):
    """What an answer or a withdrawal stored, and the caller's children after it."""

    consent_id: uuid.UUID
    version: int
    recorded: int  # new rows in the record (repeating one's own answer adds none)
    children: list[ChildView]


class ConsentEdited(msgspec.Struct, kw_only=True):
    """What a change of wording did: ``in_place`` (no answers yet), ``new_version`` or
    ``unchanged``; ``asked_again`` people had answered and are notified again."""

    consent_id: uuid.UUID
    version: int
    message_id: uuid.UUID
    mode: str
    asked_again: int


class AnswererResult(msgspec.Struct, kw_only=True):
    """One person who may answer for a child, and their answer that counts (if any)."""

    person: PersonRef
    relation: str  # the guardianship's relation (parent, foster, …), or "self" for a pupil
    option: str | None
    answered_at: dt.datetime | None


class ChildResult(msgspec.Struct, kw_only=True):
    child: PersonRef
    status: str
    answered_at: dt.datetime | None  # the newest answer that counts
    answerers: list[AnswererResult]  # empty: nobody can answer for this child


class ResultsRead(msgspec.Struct, kw_only=True):
    """Per child, for staff: status, who may answer and what they answered."""

    consent_id: uuid.UUID
    title: str
    version: int
    kind: str
    answer_rule: str
    deadline: dt.datetime
    closed: bool
    counts: dict[str, int]
    children: list[ChildResult]


class RecordEntry(msgspec.Struct, kw_only=True):
    """One row of the append-only record."""

    id: uuid.UUID
    at: dt.datetime
    child: PersonRef
    answered_by: PersonRef
    relation: str
    version: int
    option: str
    channel: str


class RecordPage(msgspec.Struct, kw_only=True):
    items: list[RecordEntry]
    next_cursor: str | None
