"""Answer links in consent mails: one signed link per recipient × child × option.

A consent notification or reminder mail lists, for each child the recipient is still
asked about, one link per option: ``{base_url}/v1/consents/answer/{token}``. The token
is a :class:`~gateway.auth.links.LinkSigner` token (purpose ``ANSWER``) over the request,
the child, the person (16 bytes each), the version (2 bytes) and the option's index
(1 byte), valid until the deadline's day. Mails of sensitive requests carry none: their
content needs the portal's login.

Following a link needs no login, and link scanners follow every link, so:

- ``GET`` (:func:`look_up`) only reads: it shows what the answer would be and a button.
- ``POST`` (:func:`answer`) records a :class:`~gateway.consents.models.ConsentAnswer`
  with channel ``email_link`` after the checks the API makes: the request is still
  open, the link is for the current version (else the page says the question changed
  and points to the portal), and the person may answer for the child *today*
  (:func:`gateway.consents.state.answerers`: custody can end after the mail went out),
  and stores it through :func:`gateway.consents.answers.give`, as the API does. Posting
  the same link again records nothing new while the newest answer for the child is
  still this person's same option.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Collection
from dataclasses import dataclass

import msgspec
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.links import LinkSigner, Purpose, secret_key
from gateway.config import Settings
from gateway.consents import answers, state
from gateway.consents.asked import Asked
from gateway.consents.models import (
    AnswerChannel,
    ConsentChild,
    ConsentRequest,
    ConsentVersion,
)
from gateway.delivery import notices as delivery_notices  # module-style: it imports us too
from gateway.delivery.notice import AnswerLink
from gateway.errors import NotFound
from gateway.messaging.models import Message, Thread
from gateway.messaging.threads import today
from gateway.roster.models import Institution, Person

INVALID = "this link is not valid"
# 51 payload bytes + 2 (day) + 10 (tag) = 63 bytes: 101 base32 characters.
MAX_TOKEN_LENGTH = 128
_ID = 16
_PAYLOAD = 3 * _ID + 2 + 1
MAX_OPTIONS = 255  # one byte names the option


class PageState(enum.StrEnum):
    """What following a link found (the page says it; the API maps it to a status)."""

    ASK = "ask"  # GET: confirm this answer
    RECORDED = "recorded"  # POST: the answer is on record
    UNCHANGED = "unchanged"  # POST again: it already was
    CHANGED = "changed"  # the question changed since the mail: answer in the portal
    CLOSED = "closed"  # the deadline has passed (or the request was withdrawn)
    NOT_ALLOWED = "not_allowed"  # the person may not answer for the child (any more)


@dataclass(frozen=True, slots=True)
class AnswerClaim:
    """What a link says: this person answers this option for this child, this version."""

    request_id: uuid.UUID
    child_id: uuid.UUID
    person_id: uuid.UUID
    version: int
    option: int  # index into the request's options


class AnswerPage(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the confirmation or answer page shows."""

    state: PageState
    locale: str
    child_name: str
    option_label: str
    title: str
    question_html: str
    portal_url: str
    answer_by: dt.datetime
    time_zone: str


def answer_token(signer: LinkSigner, claim: AnswerClaim, expires: dt.date) -> str:
    """The token of one answer link."""
    payload = (
        claim.request_id.bytes
        + claim.child_id.bytes
        + claim.person_id.bytes
        + claim.version.to_bytes(2, "big")
        + claim.option.to_bytes(1, "big")
    )
    return signer.issue(Purpose.ANSWER, payload, expires)


def read_token(signer: LinkSigner, token: str, today: dt.date) -> AnswerClaim:
    """The claim of a token; NotFound when forged or mangled, LinkExpired when old."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise NotFound(INVALID)
    payload = signer.read(Purpose.ANSWER, token, today)
    if len(payload) != _PAYLOAD:
        raise NotFound(INVALID)
    ids = [uuid.UUID(bytes=payload[i : i + _ID]) for i in range(0, 3 * _ID, _ID)]
    return AnswerClaim(
        request_id=ids[0],
        child_id=ids[1],
        person_id=ids[2],
        version=int.from_bytes(payload[3 * _ID : 3 * _ID + 2], "big"),
        option=payload[-1],
    )


def answer_url(settings: Settings, token: str) -> str:
    """Where an answer link points."""
    return f"{settings.base_url}/v1/consents/answer/{token}"


def expiry_of(request: ConsentRequest) -> dt.date:
    """The last day a link of this request works: the deadline's (UTC) day."""
    return request.deadline.astimezone(dt.UTC).date()


async def answer_links(
    session: AsyncSession,
    settings: Settings,
    asked: dict[tuple[uuid.UUID, uuid.UUID], Asked],
    wanted: Collection[tuple[uuid.UUID, uuid.UUID]],
) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[AnswerLink, ...]]:
    """(thread, person) -> the answer links of that person's mail (one query for names)."""
    chosen = {pair: asked[pair] for pair in wanted if pair in asked and not asked[pair].closed}
    children = set().union(*(found.children for found in chosen.values())) if chosen else set()
    if not children:
        return {}
    signer = LinkSigner(secret_key(settings))
    names: dict[uuid.UUID, str] = {}
    for person in await session.scalars(select(Person).where(Person.id.in_(children))):
        # A login-free mail: a protected child shows as their alias, as to any non-staff.
        names[person.id] = delivery_notices.shown_name(
            person.given_name, person.family_name, person.protected, person.alias, False
        )
    found: dict[tuple[uuid.UUID, uuid.UUID], tuple[AnswerLink, ...]] = {}
    for (thread_id, person_id), item in chosen.items():
        request = item.request
        options = request.options[:MAX_OPTIONS]
        links: list[AnswerLink] = []
        for child in sorted(item.children, key=lambda c: (names.get(c, ""), c)):
            for index, option in enumerate(options):
                claim = AnswerClaim(request.id, child, person_id, request.version, index)
                links.append(
                    AnswerLink(
                        child_id=child,
                        child_name=names.get(child, ""),
                        option_label=str(option.get("label") or option.get("key")),
                        url=answer_url(settings, answer_token(signer, claim, expiry_of(request))),
                    )
                )
        if links:
            found[(thread_id, person_id)] = tuple(links)
    return found


@dataclass(frozen=True, slots=True)
class _Found:
    request: ConsentRequest
    thread: Thread
    version: ConsentVersion
    recalled: bool
    zone: str
    person: Person
    child: Person
    option_key: str
    option_label: str


async def look_up(
    session: AsyncSession, settings: Settings, signer: LinkSigner, token: str, now: dt.datetime
) -> AnswerPage:
    """What the link would record, without recording anything (the GET page)."""
    claim = read_token(signer, token, now.date())
    async with session.begin():
        found = await _find(session, settings, claim)
        verdict = await _verdict(session, settings, claim, found, now)
    return _page(settings, found, verdict)


async def answer(
    session: AsyncSession, settings: Settings, signer: LinkSigner, token: str, now: dt.datetime
) -> AnswerPage:
    """Record the link's answer if it still may be given (see the module docstring)."""
    claim = read_token(signer, token, now.date())
    async with session.begin():
        found = await _find(session, settings, claim, lock=True)
        verdict = await _verdict(session, settings, claim, found, now)
        if verdict is PageState.ASK:
            verdict = await _record(session, settings, claim, found, now)
    return _page(settings, found, verdict)


async def _find(
    session: AsyncSession, settings: Settings, claim: AnswerClaim, *, lock: bool = False
) -> _Found:
    """The request, thread, version and people a claim names; NotFound if any is gone."""
    query = (
        select(ConsentRequest, Thread, ConsentVersion, Message.recalled_at, Institution.time_zone)
        .join(Thread, Thread.id == ConsentRequest.thread_id)
        .join(
            ConsentVersion,
            and_(
                ConsentVersion.municipality_id == ConsentRequest.municipality_id,
                ConsentVersion.request_id == ConsentRequest.id,
                ConsentVersion.version == claim.version,
            ),
        )
        .join(Message, Message.id == ConsentVersion.message_id)
        .outerjoin(Institution, Institution.id == ConsentRequest.institution_id)
        .where(ConsentRequest.id == claim.request_id)
    )
    if lock:
        # Answers of one request one at a time, so a double click records one row.
        query = query.with_for_update(of=ConsentRequest)
    row = (await session.execute(query)).first()
    # Links are never made for sensitive requests: their content needs a login.
    if row is None or row[1].sensitive:
        raise NotFound(INVALID)
    request, thread, version, recalled_at, zone = row
    if claim.option >= len(request.options):
        raise NotFound(INVALID)
    people = {
        person.id: person
        for person in await session.scalars(
            select(Person).where(
                Person.municipality_id == request.municipality_id,
                Person.id.in_({claim.person_id, claim.child_id}),
            )
        )
    }
    person, child = people.get(claim.person_id), people.get(claim.child_id)
    if person is None or child is None or not person.active:
        raise NotFound(INVALID)
    option = request.options[claim.option]
    return _Found(
        request=request,
        thread=thread,
        version=version,
        recalled=recalled_at is not None,
        zone=zone or settings.default_time_zone,
        person=person,
        child=child,
        option_key=str(option["key"]),
        option_label=str(option.get("label") or option["key"]),
    )


async def _verdict(
    session: AsyncSession, settings: Settings, claim: AnswerClaim, found: _Found, now: dt.datetime
) -> PageState:
    """Whether the claim may be answered now: the API's checks, in the API's order."""
    request = found.request
    asks_about = await session.scalar(
        select(ConsentChild.id).where(
            ConsentChild.municipality_id == request.municipality_id,
            ConsentChild.request_id == request.id,
            ConsentChild.child_id == claim.child_id,
        )
    )
    if asks_about is None:
        raise NotFound(INVALID)
    if now >= request.deadline:
        return PageState.CLOSED
    if claim.version != request.version:
        return PageState.CHANGED
    if found.recalled:  # the question was withdrawn
        return PageState.CLOSED
    who = await state.answerers(session, request, [claim.child_id], today(settings, now))
    if claim.person_id not in who.get(claim.child_id, frozenset()):
        return PageState.NOT_ALLOWED
    return PageState.ASK


async def _record(
    session: AsyncSession,
    settings: Settings,
    claim: AnswerClaim,
    found: _Found,
    now: dt.datetime,
) -> PageState:
    """Append the answer through the API's own path (same checks, same webhook).

    Posting the link again adds nothing while the newest answer for the child is still
    this person's same option (:func:`gateway.consents.answers.give`).
    """
    added = await answers.give(
        session,
        found.request,
        claim.person_id,
        [answers.Item(claim.child_id, found.option_key)],
        channel=AnswerChannel.EMAIL_LINK,
        now=now,
        today=today(settings, now),
    )
    return PageState.RECORDED if added else PageState.UNCHANGED


def _page(settings: Settings, found: _Found, verdict: PageState) -> AnswerPage:
    return AnswerPage(
        state=verdict,
        locale=found.person.locale,
        child_name=delivery_notices.shown_name(
            found.child.given_name,
            found.child.family_name,
            found.child.protected,
            found.child.alias,
            False,
        ),
        option_label=found.option_label,
        title=found.version.title,
        question_html=found.version.question_html,
        portal_url=delivery_notices.thread_url(settings, found.thread.id),
        answer_by=found.request.deadline,
        time_zone=found.zone,
    )
