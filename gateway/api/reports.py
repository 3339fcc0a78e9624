"""Delivery reports for senders."""

from __future__ import annotations

import uuid

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.actors import ERRORS, sender_guard
from gateway.api.resources import REPLICA
from gateway.delivery.report import DeliveryReport, report
from gateway.messaging.actors import Actor


class ReportsController(Controller):
    tags = ["messages"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [sender_guard]  # noqa: RUF012
    security = [{"personToken": []}]  # noqa: RUF012

    @get(
        "/v1/messages/{message_id:uuid}/report",
        summary="Delivery report of a message",
        description="Staff who see the thread: notifications by channel × state "
        "(`queued`, `deferred`, `sent`, `delivered`, `bounced`, `rejected`, `failed`, "
        "`superseded`, `skipped`, `read`), how many read it, and the recipients no "
        "channel reaches, with why.",
        responses=ERRORS,
        dependencies=REPLICA,
    )
    async def report(
        self,
        *,
        message_id: FromPath[uuid.UUID],
        actor: NamedDependency[Actor],
        session: NamedDependency[AsyncSession],
    ) -> DeliveryReport:
        async with session.begin():
            return await report(session, actor, message_id)
