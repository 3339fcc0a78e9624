"""Within a thread: replies, adding people, and the sender's read receipts."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.actors import ERRORS, sender_guard
from gateway.config import Settings
from gateway.messaging import receipts, replies, threads
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.schemas import ParticipantsAdd, ReplyCreate
from gateway.messaging.views import Accepted, ParticipantsAdded, Receipts

Session = NamedDependency[AsyncSession]
Me = NamedDependency[Actor]


class ThreadsController(Controller):
    path = "/v1/threads/{thread_id:uuid}"
    tags = ["threads"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [sender_guard]  # noqa: RUF012
    security = [{"personToken": []}]  # noqa: RUF012

    @post(
        "/messages",
        summary="Reply in a thread",
        description="Reply policy `all`: everyone sees it; `sender` or a hidden-recipient "
        "thread: a recipient's reply is seen by the sender and themself; `none`: only the "
        "sender writes (403 for others).",
        status_code=202,
        responses=ERRORS,
    )
    async def reply(
        self,
        *,
        thread_id: FromPath[uuid.UUID],
        data: JSONBody[ReplyCreate],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
        events: NamedDependency[Events],
    ) -> Accepted:
        return await replies.reply(
            session, actor, thread_id, data, settings=settings, events=events
        )

    @post(
        "/participants",
        summary="Add people to a thread",
        description="Staff only. Added people see the whole thread, earlier messages "
        "included (as in Aula); replies private to someone stay private.",
        status_code=200,
        responses=ERRORS,
    )
    async def add_participants(
        self,
        *,
        thread_id: FromPath[uuid.UUID],
        data: JSONBody[ParticipantsAdd],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
        events: NamedDependency[Events],
    ) -> ParticipantsAdded:
        return await threads.add_participants(
            session, actor, thread_id, data, settings=settings, events=events
        )

    @get(
        "/receipts",
        summary="Read receipts",
        description="For the thread's staff sender (guardian senders only where the "
        "institution sets `guardians_see_receipts`).",
        responses=ERRORS,
    )
    async def receipts(
        self, thread_id: FromPath[uuid.UUID], actor: Me, session: Session
    ) -> Receipts:
        return await receipts.receipts(session, actor, thread_id)
