"""Announcements (opslag): posts to an audience's feed, with read statistics by household.

An announcement is a thread of kind ``announcement``: one post, and comments only when
``comments_enabled`` (seen by everyone in the feed). Recipients do not see it before
``publish_at`` nor after ``expire_at``; ``important`` lifts it to the top of the feed
until ``important_until`` (or for as long as it shows, without one).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.schemas import Recipient
from gateway.config import Settings
from gateway.consents.models import ConsentRequest
from gateway.db import bulk_insert
from gateway.delivery import outbox
from gateway.delivery.receipts import settle_read
from gateway.errors import Forbidden, InvalidInput, NotFound
from gateway.messaging import access, posting
from gateway.messaging.actors import Actor
from gateway.messaging.entries import write_recipient_entries
from gateway.messaging.events import Events
from gateway.messaging.models import (
    Message,
    Participant,
    ParticipantRole,
    ReplyPolicy,
    Thread,
    ThreadKind,
)
from gateway.messaging.reading import attachments_of
from gateway.messaging.schemas import AnnouncementCreate
from gateway.messaging.threads import institution_of, participant_rows
from gateway.messaging.views import (
    Accepted,
    AnnouncementFeed,
    AnnouncementItem,
    AnnouncementStats,
    ReadState,
)
from gateway.orm import new_id, utcnow
from gateway.roster.models import Person, PersonKind

FEED_LIMIT = 100


def _check_times(data: AnnouncementCreate, now: dt.datetime) -> None:
    errors = []
    for name in ("important_until", "publish_at", "expire_at"):
        value = getattr(data, name)
        if value is not None and value.tzinfo is None:
            errors.append(f"{name}: give a time zone (e.g. 2026-12-24T08:00:00+01:00)")
    if errors:
        raise InvalidInput("times must carry a time zone", errors)
    start = data.publish_at or now
    if data.expire_at is not None and data.expire_at <= start:
        errors.append("expire_at: must be after publish_at (or now)")
    if data.important_until is not None and not data.important:
        errors.append("important_until: only for an important announcement")
    if errors:
        raise InvalidInput("the announcement's times do not fit together", errors)


async def create(
    session: AsyncSession,
    actor: Actor,
    data: AnnouncementCreate,
    *,
    settings: Settings,
    events: Events,
) -> Accepted:
    """Post an announcement; recipients see it at ``publish_at`` (at once without one)."""
    if not actor.staff:
        raise Forbidden("only staff post announcements")
    now = utcnow()
    _check_times(data, now)
    posting.check_attachment_count(data.attachments, settings.message_max_attachments)
    async with session.begin():
        thread = Thread(
            id=new_id(),
            municipality_id=actor.municipality_id,
            kind=ThreadKind.ANNOUNCEMENT.value,
            institution_id=await institution_of(session, actor, data.audience),
            category=data.category,
            subject=data.subject,
            urgent=data.urgent,
            reply_policy=(ReplyPolicy.ALL if data.comments_enabled else ReplyPolicy.NONE).value,
            hidden_recipients=False,
            created_by=actor.person_id,
            created_at=now,
            last_message_at=data.publish_at or now,
            important=data.important,
            important_until=data.important_until,
            publish_at=data.publish_at,
            expire_at=data.expire_at,
            comments_enabled=data.comments_enabled,
        )
        session.add(thread)
        await session.flush()
        # The first message is counted as the entries are written: no UPDATE of each.
        recipients = await write_recipient_entries(
            session, actor, data.audience, thread, settings=settings, now=now
        )
        sender = Recipient(person_id=actor.person_id, kind=actor.kind)
        rows = participant_rows(thread, [sender], role=ParticipantRole.SENDER, unread=0, now=now)
        await bulk_insert(session, Participant.__table__, rows)  # type: ignore[arg-type]
        message = await posting.add_message(
            session, thread, author_id=actor.person_id, body=data.body, now=now, counted=True
        )
        thread.last_message_at = data.publish_at or now
        await posting.link_attachments(
            session,
            municipality_id=actor.municipality_id,
            uploader_id=actor.person_id,
            message_id=message.id,
            ids=data.attachments,
        )
        outbox.record(session, actor.municipality_id, "announcement", message.id, now)
    if data.publish_at is None or data.publish_at <= now:
        # Scheduled ones get their event from the delivery worker when they publish.
        await events.publish(
            recipients,
            {"type": "announcement", "thread_id": str(thread.id)},
        )
    return Accepted(thread_id=thread.id, message_id=message.id, recipients=len(recipients))


def _showing(now: dt.datetime):  # type: ignore[no-untyped-def]
    return and_(
        or_(Thread.publish_at.is_(None), Thread.publish_at <= now),
        or_(Thread.expire_at.is_(None), Thread.expire_at > now),
    )


async def feed(session: AsyncSession, actor: Actor) -> AnnouncementFeed:
    """The caller's announcements that show now: important first, then newest."""
    now = utcnow()
    important_now = and_(
        Thread.important.is_(True),
        or_(Thread.important_until.is_(None), Thread.important_until > now),
    )
    async with session.begin():
        statement = (
            select(Thread, Participant)
            .join(Participant, Participant.thread_id == Thread.id)
            .where(
                Participant.municipality_id == actor.municipality_id,
                Participant.person_id == actor.person_id,
                Participant.kind == ThreadKind.ANNOUNCEMENT.value,
                Participant.archived.is_(False),
                _showing(now),
            )
            .order_by(
                case((important_now, 0), else_=1),
                func.coalesce(Thread.publish_at, Thread.created_at).desc(),
                Thread.id.desc(),
            )
            .limit(FEED_LIMIT)
        )
        rows = list((await session.execute(statement)).all())
        creators = {t.id: t.created_by for t, _ in rows}
        posts: dict[uuid.UUID, Message] = {}
        if creators:
            # The post is the creator's first message; comments follow it in the thread.
            for m in await session.scalars(
                select(Message)
                .where(
                    Message.municipality_id == actor.municipality_id,
                    Message.thread_id.in_(creators),
                )
                .order_by(Message.created_at.desc())
            ):
                if m.author_id == creators[m.thread_id]:
                    posts[m.thread_id] = m  # iterated newest first: the earliest stays
        refs = await access.people(
            session, actor.municipality_id, {t.created_by for t, _ in rows}, viewer=actor
        )
        files = await attachments_of(session, actor.municipality_id, [m.id for m in posts.values()])
        consents = await _consents_of(session, actor.municipality_id, list(creators))
    items = []
    for t, p in rows:
        post = posts.get(t.id)
        if post is None:
            continue
        items.append(
            AnnouncementItem(
                id=t.id,
                subject=t.subject,
                body_html="" if post.recalled_at else post.body_html,
                category=t.category,
                institution_id=t.institution_id,
                sender=refs[t.created_by],
                important=bool(
                    t.important and (t.important_until is None or t.important_until > now)
                ),
                published_at=t.publish_at or t.created_at,
                expire_at=t.expire_at,
                comments_enabled=t.comments_enabled,
                read=p.read_at is not None,
                attachments=files.get(post.id, []),
                consent_id=consents.get(t.id),
            )
        )
    return AnnouncementFeed(items=items)


async def _consents_of(
    session: AsyncSession, municipality_id: uuid.UUID, thread_ids: list[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The consent request behind each of these threads, where there is one."""
    if not thread_ids:
        return {}
    rows = await session.execute(
        select(ConsentRequest.thread_id, ConsentRequest.id).where(
            ConsentRequest.municipality_id == municipality_id,
            ConsentRequest.thread_id.in_(thread_ids),
        )
    )
    return {thread_id: consent_id for thread_id, consent_id in rows}


async def mark_read(session: AsyncSession, actor: Actor, thread_id: uuid.UUID) -> ReadState:
    """The caller has read this announcement."""
    now = utcnow()
    async with session.begin():
        thread, me = await access.entry(session, actor, thread_id)
        if thread.kind != ThreadKind.ANNOUNCEMENT.value:
            raise NotFound("no such announcement")
        # The first reading counts for the statistics; later ones change nothing.
        read_at = me.read_at or now
        await session.execute(
            update(Participant)
            .where(Participant.id == me.id)
            .values(read_at=read_at, unread_count=0)
        )
        await settle_read(
            session, actor.municipality_id, thread.id, actor.person_id, upto=None, now=now
        )
    return ReadState(thread_id=thread.id, unread_count=0, read_at=read_at)


async def stats(session: AsyncSession, actor: Actor, thread_id: uuid.UUID) -> AnnouncementStats:
    """Read / not read, by recipient and by household (the guardians of one child)."""
    async with session.begin():
        thread, _ = await access.entry(session, actor, thread_id)
        if thread.kind != ThreadKind.ANNOUNCEMENT.value:
            raise NotFound("no such announcement")
        if not actor.staff or actor.person_id != thread.created_by:
            raise Forbidden("only the staff member who posted it sees its statistics")
        rows = (
            await session.execute(
                select(
                    Participant.person_id, Participant.regarding, Participant.read_at, Person.kind
                )
                .join(Person, Person.id == Participant.person_id)
                .where(
                    Participant.municipality_id == actor.municipality_id,
                    Participant.thread_id == thread.id,
                    Participant.role != ParticipantRole.SENDER.value,
                )
            )
        ).all()
    households: dict[str, bool] = {}
    for row in rows:
        if row.kind != PersonKind.GUARDIAN.value:
            continue
        for child in row.regarding or []:
            households[child] = households.get(child, False) or row.read_at is not None
    read_households = sum(households.values())
    return AnnouncementStats(
        announcement_id=thread.id,
        recipients=len(rows),
        recipients_read=sum(r.read_at is not None for r in rows),
        households=len(households),
        households_read=read_households,
        households_not_read=len(households) - read_households,
    )
