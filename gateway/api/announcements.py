"""Posting announcements and their read statistics (staff)."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.actors import ERRORS, sender_guard
from gateway.api.resources import REPLICA
from gateway.config import Settings
from gateway.messaging import announcements
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.schemas import AnnouncementCreate
from gateway.messaging.views import Accepted, AnnouncementStats

Session = NamedDependency[AsyncSession]
Me = NamedDependency[Actor]


class AnnouncementsController(Controller):
    path = "/v1/announcements"
    tags = ["announcements"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [sender_guard]  # noqa: RUF012
    security = [{"personToken": []}]  # noqa: RUF012

    @post(
        "/",
        summary="Post an announcement",
        description="Staff only. Shows in recipients' feed from `publish_at` (at once "
        "without) until `expire_at`; `important` lifts it to the top until "
        "`important_until`. Comments only with `comments_enabled`.",
        status_code=202,
        responses=ERRORS,
    )
    async def create(
        self,
        *,
        data: JSONBody[AnnouncementCreate],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
        events: NamedDependency[Events],
    ) -> Accepted:
        return await announcements.create(session, actor, data, settings=settings, events=events)

    @get(
        "/{thread_id:uuid}/stats",
        summary="Read statistics",
        description="Recipients and households (the guardians of one child) that have read.",
        responses=ERRORS,
        dependencies=REPLICA,
    )
    async def stats(
        self, thread_id: FromPath[uuid.UUID], actor: Me, session: Session
    ) -> AnnouncementStats:
        return await announcements.stats(session, actor, thread_id)
