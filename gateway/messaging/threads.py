"""Starting a thread (``POST /v1/messages``) and adding people to one.

Sending is one transaction: thread, first message, every participant (bulk), attachment
links, out-of-office answers, the outbox row and the idempotency answer. The 202 goes
back only after it commits; live events are published after that.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.policy import check_send
from gateway.audience.resolver import resolve
from gateway.audience.schemas import (
    Audience,
    GroupAudience,
    InstitutionAudience,
    People,
    Recipient,
    YearAudience,
)
from gateway.config import Settings
from gateway.db import bulk_insert
from gateway.delivery import outbox
from gateway.errors import Forbidden, InvalidInput
from gateway.messaging import access, idempotency, posting
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.idempotency import Idempotency
from gateway.messaging.models import Participant, ParticipantRole, Thread, ThreadKind
from gateway.messaging.schemas import MessageCreate, ParticipantsAdd
from gateway.messaging.views import Accepted, ParticipantsAdded
from gateway.orm import new_id, utcnow
from gateway.roster.models import Affiliation, Group


def today(settings: Settings, now: dt.datetime) -> dt.date:
    """The date in the deployment's time zone: memberships are dated in local days."""
    return now.astimezone(ZoneInfo(settings.default_time_zone)).date()


async def recipients_of(
    session: AsyncSession, actor: Actor, audience: Audience, settings: Settings, now: dt.datetime
) -> list[Recipient]:
    """The audience's people, the sender excluded, after the sending policy allowed it."""
    day = today(settings, now)
    found = await resolve(
        session, municipality_id=actor.municipality_id, audience=audience, today=day
    )
    recipients = [r for r in found if r.person_id != actor.person_id]
    # The policy first: "reaches no one" for an id the sender may not address would
    # tell them which ids exist (a made-up group and another school's both get 403).
    await check_send(
        session,
        sender_id=actor.person_id,
        municipality_id=actor.municipality_id,
        audience=audience,
        recipients=recipients,
        today=day,
    )
    if not recipients:
        raise InvalidInput("the audience reaches no one", ["audience: names no active recipient"])
    return recipients


async def institution_of(
    session: AsyncSession, actor: Actor, audience: Audience
) -> uuid.UUID | None:
    """The institution a thread belongs to: its audience's, else the sender's."""
    for target in audience.targets:
        if isinstance(target, InstitutionAudience | YearAudience):
            return target.institution
        if isinstance(target, GroupAudience):
            found = await session.scalar(
                select(Group.institution_id).where(
                    Group.municipality_id == actor.municipality_id, Group.id == target.group
                )
            )
            if found is not None:
                return found
    return await session.scalar(
        select(Affiliation.institution_id)
        .where(
            Affiliation.municipality_id == actor.municipality_id,
            Affiliation.person_id == actor.person_id,
            Affiliation.active.is_(True),
        )
        .order_by(Affiliation.is_primary.desc(), Affiliation.created_at)
        .limit(1)
    )


def participant_rows(
    thread: Thread,
    recipients: Sequence[Recipient],
    *,
    role: ParticipantRole,
    unread: int,
    now: dt.datetime,
) -> list[dict[str, object]]:
    """Inbox entries for ``bulk_insert``: every row the same keys."""
    return [
        {
            "id": new_id(),
            "municipality_id": thread.municipality_id,
            "thread_id": thread.id,
            "person_id": r.person_id,
            "kind": thread.kind,
            "institution_id": thread.institution_id,
            "role": role.value,
            "regarding": sorted(str(child) for child in r.regarding),
            "unread_count": unread,
            "archived": False,
            "muted": False,
            "marked": False,
            "joined_at": now,
        }
        for r in recipients
    ]


async def send(
    session: AsyncSession,
    actor: Actor,
    data: MessageCreate,
    *,
    settings: Settings,
    events: Events,
    idem: Idempotency | None = None,
) -> Accepted:
    """Start a thread; the answer once it is durable."""
    posting.check_attachment_count(data.attachments, settings.message_max_attachments)
    accepted, seen_by = await idempotency.once(
        session,
        actor,
        idem,
        status=202,
        answer=Accepted,
        store=lambda: _store(session, actor, data, settings),
    )
    if seen_by is None:
        return accepted
    await events.publish(
        seen_by,
        {
            "type": "message",
            "thread_id": str(accepted.thread_id),
            "message_id": str(accepted.message_id),
        },
    )
    return accepted


async def _store(
    session: AsyncSession, actor: Actor, data: MessageCreate, settings: Settings
) -> tuple[Accepted, list[uuid.UUID]]:
    now = utcnow()
    posting.body_of(data.body)  # refuse an empty body before resolving anyone
    posting.check_urgent(actor, data.urgent)
    recipients = await recipients_of(session, actor, data.audience, settings, now)
    thread = Thread(
        id=new_id(),
        municipality_id=actor.municipality_id,
        kind=ThreadKind.MESSAGE.value,
        institution_id=await institution_of(session, actor, data.audience),
        category=data.category,
        subject=data.subject.strip() or data.subject,
        sensitive=data.sensitive,
        urgent=data.urgent,
        reply_policy=data.reply_policy.value,
        hidden_recipients=data.audience.hidden_recipients,
        created_by=actor.person_id,
        created_at=now,
        last_message_at=now,
    )
    session.add(thread)
    await session.flush()
    sender = Recipient(
        person_id=actor.person_id, kind=actor.kind, regarding=tuple(data.audience.regarding)
    )
    rows = participant_rows(thread, [sender], role=ParticipantRole.SENDER, unread=0, now=now)
    # The first message is counted as the entries are written: no UPDATE of each.
    rows += participant_rows(thread, recipients, role=ParticipantRole.RECIPIENT, unread=1, now=now)
    await bulk_insert(session, Participant.__table__, rows)  # type: ignore[arg-type]
    message = await posting.add_message(
        session, thread, author_id=actor.person_id, body=data.body, now=now, counted=True
    )
    await posting.link_attachments(
        session,
        municipality_id=actor.municipality_id,
        uploader_id=actor.person_id,
        message_id=message.id,
        ids=data.attachments,
    )
    answers = await posting.auto_replies(session, thread, message, now)
    outbox.record(session, actor.municipality_id, "message", message.id, now)
    for answer in answers:
        outbox.record(session, actor.municipality_id, "message", answer.id, now)
    seen_by = [r.person_id for r in recipients]
    accepted = Accepted(thread_id=thread.id, message_id=message.id, recipients=len(recipients))
    return accepted, seen_by + ([actor.person_id] if answers else [])


async def add_participants(
    session: AsyncSession,
    actor: Actor,
    thread_id: uuid.UUID,
    data: ParticipantsAdd,
    *,
    settings: Settings,
    events: Events,
) -> ParticipantsAdded:
    """Add people to a thread. They see all of it that is not private to someone, as in Aula."""
    now = utcnow()
    async with session.begin():
        thread, _ = await access.entry(session, actor, thread_id)
        if not actor.staff:
            raise Forbidden("only staff may add people to a thread")
        if thread.kind != ThreadKind.MESSAGE.value:
            raise Forbidden("announcements take their audience when they are posted")
        audience = Audience(targets=[People(people=list(data.people))])
        recipients = await recipients_of(session, actor, audience, settings, now)
        present = set(await posting.participant_ids(session, thread))
        new = [r for r in recipients if r.person_id not in present]
        unread = await posting.visible_count(session, thread)
        rows = participant_rows(thread, new, role=ParticipantRole.ADDED, unread=unread, now=now)
        await bulk_insert(session, Participant.__table__, rows)  # type: ignore[arg-type]
    await events.publish(
        [r.person_id for r in new], {"type": "thread_joined", "thread_id": str(thread.id)}
    )
    return ParticipantsAdded(added=len(new))
