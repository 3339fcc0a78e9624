"""The inbox API portals embed: a person's threads, unread counts, folders and the feed."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.actors import ERRORS, etagged, reader_guard
from gateway.api.resources import REPLICA
from gateway.messaging import announcements, inbox, reading
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.inbox import InboxFilter
from gateway.messaging.schemas import ReadUpTo
from gateway.messaging.views import (
    AnnouncementFeed,
    Flags,
    ReadState,
    ThreadDetail,
    ThreadPage,
    UnreadCounts,
)

Session = NamedDependency[AsyncSession]
Me = NamedDependency[Actor]


class InboxController(Controller):
    path = "/v1/inbox"
    tags = ["inbox"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [reader_guard]  # noqa: RUF012
    security = [{"personToken": []}]  # noqa: RUF012

    @get(
        "/threads",
        summary="List my threads",
        description="Newest activity first; `next_cursor` gives the next page. Sensitive "
        "threads show no subject or sender. Send `If-None-Match` with the last `ETag` "
        "to get 304 when nothing changed.",
        responses=ERRORS,
        response_model=ThreadPage,
        dependencies=REPLICA,
    )
    async def list_threads(
        self,
        *,
        request: Request[Any, Any, Any],
        actor: Me,
        session: Session,
        unread: FromQuery[bool] = False,
        archived: FromQuery[bool] = False,
        institution: FromQuery[uuid.UUID | None] = None,
        child: FromQuery[uuid.UUID | None] = None,
        category: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=inbox.MAX_PAGE)] = 25,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> Response[ThreadPage]:
        query = InboxFilter(
            unread=unread,
            archived=archived,
            institution=institution,
            child=child,
            category=category,
            limit=limit,
            cursor=cursor,
        )
        return etagged(request, await inbox.threads(session, actor, query))

    @get(
        "/threads/{thread_id:uuid}",
        summary="Read a thread",
        description="Messages and participants I may see. Hidden-recipient threads show a "
        "recipient only the sender and themself. Sensitive threads need the institution's "
        "assurance level (403 `assurance-level-too-low` otherwise).",
        responses=ERRORS,
    )
    async def get_thread(
        self, thread_id: FromPath[uuid.UUID], actor: Me, session: Session
    ) -> ThreadDetail:
        return await reading.thread(session, actor, thread_id)

    @get(
        "/unread",
        summary="Unread counts",
        description="Total, per institution and per child, from one indexed query.",
        responses=ERRORS,
        response_model=UnreadCounts,
        dependencies=REPLICA,
    )
    async def get_unread(
        self, request: Request[Any, Any, Any], actor: Me, session: Session
    ) -> Response[UnreadCounts]:
        return etagged(request, await inbox.unread(session, actor))

    @post(
        "/threads/{thread_id:uuid}/read",
        summary="Mark a thread read",
        description="Up to `message_id` (default: the newest). This is the read receipt.",
        responses=ERRORS,
        status_code=200,
    )
    async def mark_read(
        self,
        *,
        thread_id: FromPath[uuid.UUID],
        actor: Me,
        session: Session,
        events: NamedDependency[Events],
        data: JSONBody[ReadUpTo | None] = None,
    ) -> ReadState:
        upto = data.message_id if data is not None else None
        return await reading.mark_read(session, actor, thread_id, upto, events=events)

    async def _flag(
        self,
        session: AsyncSession,
        actor: Actor,
        thread_id: FromPath[uuid.UUID],
        flag: str,
        value: bool,
    ) -> Flags:
        return await inbox.set_flag(session, actor, thread_id, flag, value)  # type: ignore[arg-type]

    @post("/threads/{thread_id:uuid}/archive", status_code=200, responses=ERRORS)
    async def archive(self, thread_id: FromPath[uuid.UUID], actor: Me, session: Session) -> Flags:
        return await self._flag(session, actor, thread_id, "archived", True)

    @post("/threads/{thread_id:uuid}/unarchive", status_code=200, responses=ERRORS)
    async def unarchive(self, thread_id: FromPath[uuid.UUID], actor: Me, session: Session) -> Flags:
        return await self._flag(session, actor, thread_id, "archived", False)

    @post("/threads/{thread_id:uuid}/mute", status_code=200, responses=ERRORS)
    async def mute(self, thread_id: FromPath[uuid.UUID], actor: Me, session: Session) -> Flags:
        return await self._flag(session, actor, thread_id, "muted", True)

    @post("/threads/{thread_id:uuid}/unmute", status_code=200, responses=ERRORS)
    async def unmute(self, thread_id: FromPath[uuid.UUID], actor: Me, session: Session) -> Flags:
        return await self._flag(session, actor, thread_id, "muted", False)

    @post("/threads/{thread_id:uuid}/mark", status_code=200, responses=ERRORS)
    async def mark(self, thread_id: FromPath[uuid.UUID], actor: Me, session: Session) -> Flags:
        return await self._flag(session, actor, thread_id, "marked", True)

    @post("/threads/{thread_id:uuid}/unmark", status_code=200, responses=ERRORS)
    async def unmark(self, thread_id: FromPath[uuid.UUID], actor: Me, session: Session) -> Flags:
        return await self._flag(session, actor, thread_id, "marked", False)

    @get(
        "/announcements",
        summary="My announcement feed",
        description="Published, not expired; important first, then newest.",
        responses=ERRORS,
        response_model=AnnouncementFeed,
        dependencies=REPLICA,
    )
    async def feed(
        self, request: Request[Any, Any, Any], actor: Me, session: Session
    ) -> Response[AnnouncementFeed]:
        return etagged(request, await announcements.feed(session, actor))

    @post("/announcements/{thread_id:uuid}/read", status_code=200, responses=ERRORS)
    async def read_announcement(
        self, thread_id: FromPath[uuid.UUID], actor: Me, session: Session
    ) -> ReadState:
        return await announcements.mark_read(session, actor, thread_id)
