"""Sending: new threads, recall, attachments and out-of-office answers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, HeaderParameter, JSONBody
from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.actors import ERRORS, sender_guard
from gateway.config import Settings
from gateway.errors import InvalidInput
from gateway.messaging import attachments, autoreply, replies, threads
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events
from gateway.messaging.idempotency import Idempotency
from gateway.messaging.schemas import AutoReplyPut, MessageCreate
from gateway.messaging.views import Accepted, AttachmentRead, AutoReplyRead

Session = NamedDependency[AsyncSession]
Me = NamedDependency[Actor]
# Room for the multipart envelope around the largest accepted file.
MULTIPART_OVERHEAD = 64 * 1024
# Litestar wants the per-route body limit when the app is built; settings arrive later,
# so the route allows the most any setting can and the service checks the real limit.
UPLOAD_CEILING = (1 << 32) + MULTIPART_OVERHEAD
# The documented form: one file part named `file` (any part name is accepted).
UPLOAD_FORM: dict[str, Any] = {
    "properties": {"file": {"type": "string", "format": "binary"}},
    "required": ["file"],
}


class MessagesController(Controller):
    tags = ["messages"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [sender_guard]  # noqa: RUF012
    security = [{"personToken": []}]  # noqa: RUF012

    @post(
        "/v1/messages",
        summary="Start a thread",
        description="Resolves the audience, checks the sending policy and stores thread, "
        "message and every recipient's inbox entry in one transaction; 202 once durable. "
        "`Idempotency-Key` makes a retry return the first answer.",
        status_code=202,
        responses=ERRORS,
    )
    async def send(
        self,
        *,
        data: JSONBody[MessageCreate],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
        events: NamedDependency[Events],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", max_length=255)
        ] = None,
    ) -> Accepted:
        idem = Idempotency.of(idempotency_key, b"POST /v1/messages", msgspec.json.encode(data))
        return await threads.send(session, actor, data, settings=settings, events=events, idem=idem)

    @post(
        "/v1/messages/{message_id:uuid}/recall",
        summary="Recall my message",
        description="Within `BUDSTIKKE_RECALL_WINDOW_SECONDS` of sending; the text is "
        "erased and readers see `recalled: true`.",
        status_code=200,
        responses=ERRORS,
    )
    async def recall(
        self,
        *,
        message_id: FromPath[uuid.UUID],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
        events: NamedDependency[Events],
    ) -> Accepted:
        return await replies.recall(session, actor, message_id, settings=settings, events=events)

    @post(
        "/v1/attachments",
        summary="Upload an attachment",
        description="Multipart field `file`. The type is read from the content (pdf, png, "
        "jpeg, gif, webp, docx, xlsx, UTF-8 text); others are refused. Use the id in a "
        "message's `attachments`.",
        status_code=201,
        responses=ERRORS,
        request_max_body_size=UPLOAD_CEILING,
    )
    async def upload(
        self,
        *,
        data: Annotated[
            dict[str, Any],
            Body(media_type=RequestEncodingType.MULTI_PART, schema_extra=UPLOAD_FORM),
        ],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
    ) -> AttachmentRead:
        # The form as parsed, not ``UploadFile``: Litestar's extractor for a bare
        # ``UploadFile`` raises StopIteration (a 500) on a form without a file part.
        upload = next((v for v in data.values() if isinstance(v, UploadFile)), None)
        if upload is None:
            raise InvalidInput("the form has no file part", errors=["file: required"])
        # One byte past the limit is enough to refuse; the rest stays spooled on disk.
        content = await upload.read(settings.attachment_max_bytes + 1)
        return await attachments.store(
            session, actor, file_name=upload.filename, data=content, settings=settings
        )

    @get(
        "/v1/attachments/{attachment_id:uuid}",
        summary="Download an attachment",
        description="For its uploader and for participants who see its message.",
        responses=ERRORS,
        media_type="application/octet-stream",
    )
    async def download(
        self,
        *,
        attachment_id: FromPath[uuid.UUID],
        actor: Me,
        session: Session,
        settings: NamedDependency[Settings],
    ) -> File:
        found = await attachments.fetch(session, actor, attachment_id, settings=settings)
        return File(
            path=found.path,
            filename=found.file_name,
            media_type=found.content_type,
            content_disposition_type="attachment",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private"},
        )

    @put(
        "/v1/me/auto-reply",
        summary="Set my out-of-office answer",
        description="Staff only. One automatic answer per thread while the period lasts.",
        responses=ERRORS,
    )
    async def put_auto_reply(
        self, data: JSONBody[AutoReplyPut], actor: Me, session: Session
    ) -> AutoReplyRead:
        return await autoreply.put(session, actor, data)

    @get("/v1/me/auto-reply", summary="My out-of-office answer", responses=ERRORS)
    async def get_auto_reply(self, actor: Me, session: Session) -> AutoReplyRead:
        return await autoreply.get(session, actor)

    @delete("/v1/me/auto-reply", summary="Remove my out-of-office answer", responses=ERRORS)
    async def delete_auto_reply(self, actor: Me, session: Session) -> None:
        await autoreply.clear(session, actor)


__all__ = ("MessagesController", "Response")
