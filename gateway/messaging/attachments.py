"""Attachment files: uploaded before the message that names them, served to its readers.

Files live under ``{data_dir}/attachments/{municipality}/{id}``, named by id only, so no
client-given name ever reaches the file system. A file is written to a temporary name
and renamed into place, and its row is written after that: a full or read-only disk
leaves neither a half file nor a row pointing at nothing.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.errors import InvalidInput, LimitExceeded, NotFound, Unavailable
from gateway.messaging import access, filetypes
from gateway.messaging.actors import Actor
from gateway.messaging.models import Attachment, Message, Participant, Thread
from gateway.messaging.views import AttachmentRead
from gateway.orm import new_id, utcnow

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
MAX_NAME = 120


def safe_name(name: str | None, file_type: filetypes.FileType) -> str:
    """A display name without paths or control characters, with the sniffed type's extension."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE.sub("", base).strip(" .")
    stem = base.rsplit(".", 1)[0].strip(" .") if "." in base else base
    stem = stem[:MAX_NAME] or "vedhæftet fil"
    return f"{stem}.{file_type.extension}"


def path_of(settings: Settings, municipality_id: uuid.UUID, attachment_id: uuid.UUID) -> Path:
    return settings.data_dir / "attachments" / str(municipality_id) / str(attachment_id)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    try:
        with temporary.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


async def store(
    session: AsyncSession, actor: Actor, *, file_name: str | None, data: bytes, settings: Settings
) -> AttachmentRead:
    """Keep an uploaded file for a later message; refuse what is too big or not allowed."""
    if len(data) > settings.attachment_max_bytes:
        raise LimitExceeded(
            f"an attachment may be at most {settings.attachment_max_bytes} bytes",
            limit="attachment_max_bytes",
        )
    file_type = filetypes.sniff(data)
    if file_type is None:
        allowed = ", ".join(t.extension for t in filetypes.ACCEPTED)
        raise InvalidInput(
            f"this kind of file is not accepted; send one of: {allowed}",
            ["file: its content is not an accepted type (the name does not count)"],
        )
    attachment = Attachment(
        id=new_id(),
        municipality_id=actor.municipality_id,
        uploaded_by=actor.person_id,
        file_name=safe_name(file_name, file_type),
        content_type=file_type.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_at=utcnow(),
    )
    path = path_of(settings, actor.municipality_id, attachment.id)
    try:
        await anyio.to_thread.run_sync(_write, path, data)
    except OSError as exc:
        full = exc.errno in {errno.ENOSPC, errno.EDQUOT}
        reason = "full" if full else "not writable"
        raise Unavailable(
            f"attachment storage is {reason}; nothing was stored, try again later",
            retry_after=60,
        ) from exc
    try:
        async with session.begin():
            session.add(attachment)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return AttachmentRead(
        id=attachment.id,
        file_name=attachment.file_name,
        content_type=attachment.content_type,
        size=attachment.size,
    )


@dataclass(frozen=True, slots=True)
class Download:
    path: Path
    file_name: str
    content_type: str


async def fetch(
    session: AsyncSession, actor: Actor, attachment_id: uuid.UUID, *, settings: Settings
) -> Download:
    """The file, for its uploader or a participant who sees its message; else NotFound."""
    async with session.begin():
        attachment = await session.scalar(
            select(Attachment).where(
                Attachment.municipality_id == actor.municipality_id,
                Attachment.id == attachment_id,
            )
        )
        if attachment is None:
            raise NotFound("no such attachment")
        # The uploader may fetch a file not yet sent; once it belongs to a message, the
        # message's rules hold for everyone (a sensitive thread's assurance level too).
        unsent = attachment.message_id is None and attachment.uploaded_by == actor.person_id
        if not unsent:
            await _check_reader(session, actor, attachment)
    path = path_of(settings, actor.municipality_id, attachment.id)
    if not path.is_file():
        raise NotFound("no such attachment")
    return Download(path, attachment.file_name, attachment.content_type)


async def _check_reader(session: AsyncSession, actor: Actor, attachment: Attachment) -> None:
    if attachment.message_id is None:
        raise NotFound("no such attachment")
    row = (
        await session.execute(
            select(Message, Thread)
            .join(Thread, Thread.id == Message.thread_id)
            .join(Participant, Participant.thread_id == Thread.id)
            .where(
                Message.id == attachment.message_id,
                Participant.municipality_id == actor.municipality_id,
                Participant.person_id == actor.person_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound("no such attachment")
    message, thread = row
    now = utcnow()
    private = message.private_to is not None and actor.person_id not in {
        thread.created_by,
        message.private_to,
        message.author_id,
    }
    if private or message.recalled_at is not None or not access.published(thread, now):
        raise NotFound("no such attachment")
    await access.require_assurance(session, actor, thread)
