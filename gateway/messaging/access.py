"""Who may see what in a thread: the one place the inbox's read rules live.

A caller sees a thread only through their own participant row; anything else is
:class:`~gateway.errors.NotFound`, so a guess at an id learns nothing. Within a thread,
a message with ``private_to`` is seen only by the thread's creator, that person and
its author. Scheduled announcements stay invisible to recipients until published.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import AssuranceTooLow, NotFound
from gateway.messaging import assurance
from gateway.messaging.actors import Actor
from gateway.messaging.models import Message, Participant, Thread
from gateway.messaging.views import PersonRef
from gateway.orm import utcnow
from gateway.roster.models import Institution, Person

SENSITIVE_SUBJECT = "Følsom besked"


def published(thread: Thread, now: dt.datetime) -> bool:
    """Whether recipients may see the thread yet (scheduled announcements wait)."""
    return thread.publish_at is None or thread.publish_at <= now


async def entry(
    session: AsyncSession, actor: Actor, thread_id: uuid.UUID
) -> tuple[Thread, Participant]:
    """The thread and the caller's inbox entry for it; NotFound when they may not see it."""
    row = (
        await session.execute(
            select(Thread, Participant)
            .join(Participant, Participant.thread_id == Thread.id)
            .where(
                Participant.municipality_id == actor.municipality_id,
                Participant.thread_id == thread_id,
                Participant.person_id == actor.person_id,
                Thread.municipality_id == actor.municipality_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound("no such thread")
    thread, participant = row
    if thread.created_by != actor.person_id and not published(thread, utcnow()):
        raise NotFound("no such thread")
    return thread, participant


def visible(thread: Thread, person_id: uuid.UUID) -> ColumnElement[bool]:
    """A filter on :class:`Message` for what ``person_id`` sees in ``thread``."""
    if thread.created_by == person_id:
        return true()
    return or_(
        Message.private_to.is_(None),
        Message.private_to == person_id,
        Message.author_id == person_id,
    )


async def institution_setting(
    session: AsyncSession, institution_id: uuid.UUID | None, key: str, default: Any
) -> Any:
    """A value from an institution's ``settings``, or ``default``."""
    if institution_id is None:
        return default
    settings = await session.scalar(
        select(Institution.settings).where(Institution.id == institution_id)
    )
    return (settings or {}).get(key, default)


async def require_assurance(session: AsyncSession, actor: Actor, thread: Thread) -> None:
    """Forbidden unless the caller's login is strong enough for this sensitive thread."""
    if not thread.sensitive:
        return
    required = await institution_setting(
        session, thread.institution_id, "sensitive_min_acr", assurance.DEFAULT_SENSITIVE_LEVEL
    )
    if not assurance.meets(actor.acr, str(required)):
        raise AssuranceTooLow(
            f"this thread is sensitive: reading it needs a login at assurance level "
            f"{required!r} or higher (levels: low < substantial < high); "
            f"sign in again with a stronger login, e.g. MitID"
        )


async def people(
    session: AsyncSession, municipality_id: uuid.UUID, ids: Iterable[uuid.UUID], *, viewer: Actor
) -> dict[uuid.UUID, PersonRef]:
    """How ``viewer`` may see these people: protected ones by alias unless viewer is staff."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(
            Person.id,
            Person.kind,
            Person.given_name,
            Person.family_name,
            Person.protected,
            Person.alias,
        ).where(Person.municipality_id == municipality_id, Person.id.in_(wanted))
    )
    refs: dict[uuid.UUID, PersonRef] = {}
    for person_id, kind, given, family, protected, alias in rows:
        shown = f"{given} {family}".strip()
        if protected and not viewer.staff:
            shown = alias or "Beskyttet person"
        refs[person_id] = PersonRef(id=person_id, name=shown, kind=kind)
    return refs
