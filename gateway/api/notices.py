"""Daycare notices: guardians tell a child's room that it is sick, off or picked up."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.actors import ERRORS, reader_guard
from gateway.api.problems import PROBLEM_JSON, Problem
from gateway.config import Settings
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.idempotency import Idempotency
from gateway.notices import reading, rules, service
from gateway.notices.schemas import DayList, NoticeCreate, NoticeList, NoticeRead

Session = NamedDependency[AsyncSession]
Me = NamedDependency[Actor]


def _spec(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=Problem, description=description, media_type=PROBLEM_JSON)


NOTICE_ERRORS = {
    **ERRORS,
    409: _spec("The child is already reported sick/off for those days, or the day has begun."),
    429: _spec("More than 20 notices today (`limit`: `notices_per_day`); see Retry-After."),
}


class NoticesController(Controller):
    tags = ["daycare notices"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [reader_guard]  # noqa: RUF012
    security = [{"personToken": []}]  # noqa: RUF012

    @post(
        "/v1/notices",
        summary="Tell the child's room: sick, off or picked up by someone",
        description="For a guardian of a daycare child. Any guardian may report `sick` or "
        "`off`; `picked_up_by` needs custody (403 otherwise). Dates from today (the "
        "institution's time zone) up to a year ahead; `off` spans at most 60 days. The "
        "room's staff get it in their inbox at once (a thread from the guardian) and by "
        "push/email within their working hours. `Idempotency-Key` makes a retry return "
        "the first answer.",
        status_code=201,
        responses=NOTICE_ERRORS,
    )
    async def create(
        self,
        *,
        data: JSONBody[NoticeCreate],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
        events: NamedDependency[Events],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", max_length=255)
        ] = None,
    ) -> NoticeRead:
        idem = Idempotency.of(idempotency_key, b"POST /v1/notices", msgspec.json.encode(data))
        return await service.create(
            session, actor, data, settings=settings, events=events, idem=idem
        )

    @get(
        "/v1/notices",
        summary="My children's notices",
        description="For a guardian: every notice about their children (whoever sent it) "
        "that covers a day in `from`…`to` (default: from today for a year; at most 366 "
        "days), with the staff's acknowledgement.",
        responses=ERRORS,
    )
    async def list_mine(
        self,
        *,
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
        child_id: FromQuery[uuid.UUID | None] = None,
        start: Annotated[
            str | None,
            QueryParameter(name="from", max_length=10, description="First day, YYYY-MM-DD."),
        ] = None,
        end: Annotated[
            str | None,
            QueryParameter(name="to", max_length=10, description="Last day, YYYY-MM-DD."),
        ] = None,
    ) -> NoticeList:
        return await reading.for_guardian(
            session,
            actor,
            settings=settings,
            child_id=child_id,
            start=rules.query_date(start, "from"),
            end=rules.query_date(end, "to"),
        )

    @delete(
        "/v1/notices/{notice_id:uuid}",
        summary="Withdraw my notice",
        description="By its sender, before its (first) day begins; staff then see it as "
        "withdrawn and get a message in its thread. Answers the notice.",
        status_code=200,
        responses=NOTICE_ERRORS,
    )
    async def withdraw(
        self,
        *,
        notice_id: FromPath[uuid.UUID],
        actor: Me,
        session: Session,
        events: NamedDependency[Events],
    ) -> NoticeRead:
        return await service.withdraw(session, actor, notice_id, events=events)

    @post(
        "/v1/notices/{notice_id:uuid}/acknowledge",
        summary="Acknowledge a notice",
        description="By staff of the notice's institution. The first acknowledgement "
        "stays (a second call changes nothing); the child's guardians see who and when.",
        status_code=200,
        responses=ERRORS,
    )
    async def acknowledge(
        self,
        *,
        notice_id: FromPath[uuid.UUID],
        actor: Me,
        session: Session,
        events: NamedDependency[Events],
    ) -> NoticeRead:
        return await service.acknowledge(session, actor, notice_id, events=events)

    @get(
        "/v1/institutions/{institution_id:uuid}/notices",
        summary="An institution's notices for one day",
        description="For staff who work there today: the notices covering `date` "
        "(default: today in the institution's time zone), optionally for one group, "
        "sorted by group then child. Real names (staff are entitled). 404 for anyone else.",
        responses=ERRORS,
    )
    async def day_list(
        self,
        *,
        institution_id: FromPath[uuid.UUID],
        actor: Me,
        session: Session,
        date: FromQuery[dt.date | None] = None,
        group_id: FromQuery[uuid.UUID | None] = None,
    ) -> DayList:
        return await reading.day_list(session, actor, institution_id, day=date, group_id=group_id)


__all__ = ("NoticesController",)
