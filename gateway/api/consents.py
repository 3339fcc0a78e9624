"""Consent requests: asking (staff), answering (guardians, pupils), results (staff)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.actors import ERRORS, sender_guard
from gateway.api.problems import PROBLEM_JSON, Problem
from gateway.api.resources import REPLICA, Resources
from gateway.config import Settings
from gateway.consents import answers, export, service, versions, viewing
from gateway.consents import results as consent_results
from gateway.consents.schemas import (
    AnswersIn,
    AnswersRecorded,
    ConsentAccepted,
    ConsentCreate,
    ConsentEdit,
    ConsentEdited,
    ConsentRead,
    RecordPage,
    ResultsRead,
    WithdrawIn,
)
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.idempotency import Idempotency

Session = NamedDependency[AsyncSession]
Me = NamedDependency[Actor]
Id = FromPath[uuid.UUID]

WITH_CONFLICT = {
    **ERRORS,
    409: ResponseSpec(
        data_container=Problem,
        description="The deadline has passed: answers (and changes of a permission or of "
        "the wording) are closed. A consent can still be withdrawn.",
        media_type=PROBLEM_JSON,
    ),
}


class ConsentsController(Controller):
    path = "/v1/consents"
    tags = ["consents"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [sender_guard]  # noqa: RUF012
    security = [{"personToken": []}]  # noqa: RUF012

    @post(
        "/",
        summary="Ask for consent or permission",
        description="Staff only. The audience names children (group/year/institution with "
        'roles `["children"]`, or children by id); their guardians with custody — and '
        "pupils from the municipality's age, where it allows that — are asked, each "
        "about their own children. Stored in one transaction with the inbox entries and "
        "the outbox row; 202 once durable. `Idempotency-Key` as for `POST /v1/messages`.",
        status_code=202,
        responses=ERRORS,
    )
    async def create(
        self,
        *,
        data: JSONBody[ConsentCreate],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
        events: NamedDependency[Events],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", max_length=255)
        ] = None,
    ) -> ConsentAccepted:
        idem = Idempotency.of(idempotency_key, b"POST /v1/consents", msgspec.json.encode(data))
        return await service.create(
            session, actor, data, settings=settings, events=events, idem=idem
        )

    @get(
        "/{consent_id:uuid}",
        summary="A consent request as I see it",
        description="The question and, per child of mine in it, whether I may answer "
        "(`can_answer`, else `why_not`), my answer and the child's status. Staff see every "
        "child and a summary. 404 for anyone not asked.",
        responses=ERRORS,
    )
    async def read(
        self, consent_id: Id, actor: Me, session: Session, settings: NamedDependency[Settings]
    ) -> ConsentRead:
        return await viewing.read(session, actor, consent_id, settings=settings)

    @put(
        "/{consent_id:uuid}",
        summary="Change the wording",
        description="Only the staff member who asked, until the deadline. Without answers "
        "yet: corrected in place. After answers: a new version; earlier answers stay on "
        "record but no longer count, and those who had answered are asked again.",
        responses=WITH_CONFLICT,
    )
    async def edit(
        self,
        *,
        consent_id: Id,
        data: JSONBody[ConsentEdit],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
        resources: NamedDependency[Resources],
        events: NamedDependency[Events],
    ) -> ConsentEdited:
        return await versions.edit(
            session,
            actor,
            consent_id,
            data,
            settings=settings,
            queue=resources.queue,
            events=events,
        )

    @post(
        "/{consent_id:uuid}/answers",
        summary="Answer for my children",
        description="1–50 answers, stored all together or not at all: one that is not mine "
        "to give (no custody, not my child, unknown option) stores nothing and `errors` "
        "lists each by index. Until the deadline (409 after it); a changed answer is a "
        "new row in the record.",
        status_code=200,
        responses=WITH_CONFLICT,
    )
    async def answer(
        self,
        *,
        consent_id: Id,
        data: JSONBody[AnswersIn],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
    ) -> AnswersRecorded:
        return await answers.answer(session, actor, consent_id, data, settings=settings)

    @post(
        "/{consent_id:uuid}/withdraw",
        summary="Withdraw for my children",
        description="A consent: at any time, also after the deadline. A permission: until "
        "the deadline (409 after it). A withdrawal counts as `no`.",
        status_code=200,
        responses=WITH_CONFLICT,
    )
    async def withdraw(
        self,
        *,
        consent_id: Id,
        data: JSONBody[WithdrawIn],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
    ) -> AnswersRecorded:
        return await answers.withdraw_for(session, actor, consent_id, data, settings=settings)

    @get(
        "/{consent_id:uuid}/results",
        summary="Results per child (staff)",
        description="Status per child (an option, `no` for a withdrawal, `pending`, "
        "`conflicting`, `expired`), who may answer and their answer, and counts.",
        responses=ERRORS,
        dependencies=REPLICA,
    )
    async def results(
        self, consent_id: Id, actor: Me, session: Session, settings: NamedDependency[Settings]
    ) -> ResultsRead:
        return await consent_results.results(session, actor, consent_id, settings=settings)

    @get(
        "/{consent_id:uuid}/results.csv",
        summary="Results as CSV (staff)",
        description="UTF-8 with BOM, comma-separated, a header row; children's names and "
        "answers by relation, never guardians' names or contact details. Cells that a "
        "spreadsheet would run as a formula start with `'`.",
        responses=ERRORS,
        media_type=export.MEDIA_TYPE,
    )
    async def results_csv(
        self, consent_id: Id, actor: Me, session: Session, settings: NamedDependency[Settings]
    ) -> Response[bytes]:
        content, name = await export.export(session, actor, consent_id, settings=settings)
        return Response(
            content=content,
            media_type=export.MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @get(
        "/{consent_id:uuid}/record",
        summary="The record (staff)",
        description="Every answer, change and withdrawal, oldest first: who, when, for which "
        "child, which version, which option, through which channel. `next_cursor` pages.",
        responses=ERRORS,
        dependencies=REPLICA,
    )
    async def record(
        self,
        *,
        consent_id: Id,
        actor: Me,
        session: Session,
        limit: Annotated[int, Parameter(ge=1, le=consent_results.MAX_RECORD_PAGE)] = 100,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> RecordPage:
        return await consent_results.record(session, actor, consent_id, cursor=cursor, limit=limit)
