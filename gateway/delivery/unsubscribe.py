"""One-click unsubscribe (RFC 8058): the link's token, and turning email off for what it names.

Every non-urgent notification mail carries ``List-Unsubscribe:
<{base_url}/v1/unsubscribe/{token}>``. The token is a :class:`~gateway.auth.links.LinkSigner`
token (purpose ``UNSUBSCRIBE``, valid ``BUDSTIKKE_REPLY_TOKEN_DAYS``) whose payload is
the person's id (16 bytes) followed by what to stop: a category (``message``,
``announcement``, ``consent``, ``reminder``) or, for the digest mail, ``*digest`` — not
a category, so the digest link cannot be mistaken for one.

Following the link never needs a login:

- ``GET`` only looks the token up (:func:`look_up`) so a page can ask to confirm; mail
  security scanners follow links, so a GET changes nothing.
- ``POST`` (the mail client's one-click, or the page's button) applies it
  (:func:`unsubscribe`): a category sets the person's ``(category, email)`` preference
  to ``off``; the digest link turns **every** email preference whose effective mode is
  ``digest`` to ``off`` (the person's own choice, else the default of any institution
  they or their children belong to), so no digest mail follows. Repeating it changes
  nothing more.

``urgent`` is never turned off: the renderer makes no link for urgent mail, and a token
naming it is refused.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.links import LinkSigner, Purpose
from gateway.dialect import upsert
from gateway.errors import InvalidInput, NotFound
from gateway.orm import new_id, utcnow
from gateway.preferences.defaults import defaults_of
from gateway.preferences.models import Category, Mode, Preference
from gateway.preferences.rules import CATEGORIES, Defaults, effective_mode
from gateway.roster.models import Affiliation, Guardianship, Institution, Person

DIGEST = "digest"
_DIGEST_PAYLOAD = b"*digest"
EMAIL = "email"
# A real token is about 64 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 128
URGENT_REFUSED = "urgent notifications are always sent and cannot be turned off"
INVALID = "this link is not valid"


class Unsubscription(msgspec.Struct, frozen=True, kw_only=True):
    """What a valid unsubscribe link stands for, and the language of its page."""

    person_id: uuid.UUID
    scope: str  # a Category value, or DIGEST
    locale: str


class Unsubscribed(msgspec.Struct, frozen=True, kw_only=True):
    """What a POST turned off: the categories whose email preference is now ``off``."""

    person_id: uuid.UUID
    scope: str
    locale: str
    categories: tuple[str, ...]


def unsubscribe_token(
    signer: LinkSigner, person_id: uuid.UUID, scope: str, expires: dt.date
) -> str:
    """The token of an unsubscribe link for a category (or :data:`DIGEST`) of one person."""
    if scope == Category.URGENT:
        raise ValueError(URGENT_REFUSED)
    tail = _DIGEST_PAYLOAD if scope == DIGEST else Category(scope).value.encode()
    return signer.issue(Purpose.UNSUBSCRIBE, person_id.bytes + tail, expires)


def read_token(signer: LinkSigner, token: str, today: dt.date) -> tuple[uuid.UUID, str]:
    """(person, scope) of a token; NotFound when forged or mangled, LinkExpired when old."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise NotFound(INVALID)
    payload = signer.read(Purpose.UNSUBSCRIBE, token, today)
    person, tail = payload[:16], payload[16:]
    if len(person) != 16:
        raise NotFound(INVALID)
    if tail == _DIGEST_PAYLOAD:
        return uuid.UUID(bytes=person), DIGEST
    try:
        category = Category(tail.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise NotFound(INVALID) from None
    if category == Category.URGENT:
        raise InvalidInput(URGENT_REFUSED)
    return uuid.UUID(bytes=person), category.value


async def look_up(
    session: AsyncSession, signer: LinkSigner, token: str, today: dt.date
) -> Unsubscription:
    """What the link would turn off, without changing anything (the GET page)."""
    person_id, scope = read_token(signer, token, today)
    async with session.begin():
        person = await _person(session, person_id)
    return Unsubscription(person_id=person_id, scope=scope, locale=person.locale)


async def unsubscribe(
    session: AsyncSession, signer: LinkSigner, token: str, today: dt.date
) -> Unsubscribed:
    """Turn email off for what the link names (see the module docstring); idempotent."""
    person_id, scope = read_token(signer, token, today)
    async with session.begin():
        person = await _person(session, person_id)
        if scope == DIGEST:
            categories = await _digest_categories(session, person)
        else:
            categories = (scope,)
        await _turn_off(session, person, categories)
    return Unsubscribed(
        person_id=person_id, scope=scope, locale=person.locale, categories=categories
    )


async def _person(session: AsyncSession, person_id: uuid.UUID) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(INVALID)
    return person


async def _digest_categories(session: AsyncSession, person: Person) -> tuple[str, ...]:
    """Categories whose email mode is ``digest`` for this person at any of their institutions."""
    rows = await session.execute(
        select(Preference.category, Preference.mode).where(
            Preference.municipality_id == person.municipality_id,
            Preference.person_id == person.id,
            Preference.channel == EMAIL,
        )
    )
    own = {category: mode for category, mode in rows}
    linked = await _institution_defaults(session, person)
    found: list[str] = []
    for category in CATEGORIES:
        if category == Category.URGENT:
            continue
        chosen = own.get(category.value)
        # Planning applies the defaults of the message's institution, so any linked
        # institution that digests the category can be the one sending the digest.
        if any(
            effective_mode(category, EMAIL, chosen, defaults) == Mode.DIGEST
            for defaults in linked or [{}]
        ):
            found.append(category.value)
    return tuple(found)


async def _institution_defaults(session: AsyncSession, person: Person) -> list[Defaults]:
    """The notification defaults of the person's institutions and their children's."""
    children = select(Guardianship.child_id).where(
        Guardianship.municipality_id == person.municipality_id,
        Guardianship.guardian_id == person.id,
        Guardianship.active.is_(True),
    )
    affiliated = select(Affiliation.institution_id).where(
        Affiliation.municipality_id == person.municipality_id,
        or_(Affiliation.person_id == person.id, Affiliation.person_id.in_(children)),
        Affiliation.active.is_(True),
    )
    institutions = await session.scalars(
        select(Institution).where(
            Institution.municipality_id == person.municipality_id,
            Institution.id.in_(affiliated),
        )
    )
    return [defaults_of(institution) for institution in institutions]


async def _turn_off(session: AsyncSession, person: Person, categories: tuple[str, ...]) -> None:
    """Upsert ``(category, email) = off`` for each category: one statement."""
    if not categories:
        return
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "municipality_id": person.municipality_id,
            "person_id": person.id,
            "category": category,
            "channel": EMAIL,
            "mode": Mode.OFF.value,
            "updated_at": now,
        }
        for category in categories
    ]
    statement = upsert(Preference, session).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["municipality_id", "person_id", "category", "channel"],
            set_={"mode": statement.excluded.mode, "updated_at": statement.excluded.updated_at},
        )
    )
