"""Attachments: type from content, limits, storage, and who may download."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from gateway.db import session_factory
from gateway.messaging.models import Attachment
from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


async def upload(w: World, who: str, name: str, data: bytes) -> Any:
    return await w.client.post(
        "/v1/attachments", files={"data": (name, data, "application/pdf")}, headers=w.headers(who)
    )


async def _rows(w: World) -> int:
    async with session_factory(w.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(Attachment)) or 0)


async def test_type_comes_from_content_not_the_name(world: World) -> None:
    w = world
    png = await upload(w, w.summary.teacher, "../../etc/skema.pdf", PNG)
    assert png.status_code == 201, png.text
    assert png.json()["content_type"] == "image/png"
    assert png.json()["file_name"] == "skema.png"
    docx = await upload(w, w.summary.teacher, "brev.txt", _docx())
    assert docx.json()["content_type"].endswith("wordprocessingml.document")
    text = await upload(w, w.summary.teacher, "noter", "Hej æøå\n".encode())
    assert text.json()["content_type"].startswith("text/plain")
    for name, data in (("setup.exe", EXE), ("virus.pdf", EXE), ("tom.pdf", b"")):
        refused = await upload(w, w.summary.teacher, name, data)
        assert refused.status_code == 422, name
    assert await _rows(w) == 3


async def test_only_participants_download(world: World) -> None:
    w = world
    uploaded = (await upload(w, w.summary.teacher, "plan.pdf", b"%PDF-1.7\n" + b"x" * 100)).json()
    sent = await w.send_to_class(attachments=[uploaded["id"]])
    path = f"/v1/attachments/{uploaded['id']}"
    got = await w.get(path, w.summary.guardian_two_children)
    assert got.status_code == 200
    assert got.content.startswith(b"%PDF-1.7")
    assert got.headers["content-type"].startswith("application/pdf")
    assert "attachment" in got.headers["content-disposition"]
    assert (await w.get(path, w.summary.non_custodial_parent)).status_code == 404
    detail = (
        await w.get(f"/v1/inbox/threads/{sent['thread_id']}", w.summary.guardian_two_children)
    ).json()
    assert detail["messages"][0]["attachments"][0]["id"] == uploaded["id"]
    # An attachment can go out once, and only by its uploader.
    again = await w.post(
        "/v1/messages",
        w.summary.teacher,
        {
            "subject": "igen",
            "body": "igen",
            "audience": {
                "targets": [
                    {"type": "people", "people": [await w.id_of(w.summary.guardian_two_children)]}
                ]
            },
            "attachments": [uploaded["id"]],
        },
    )
    assert again.status_code == 422


async def test_too_large_and_unwritable_store_nothing(
    tmp_path: Path, database_url: str, redis_url: str, make_settings: Any, engine: Any
) -> None:
    from tests.integration.messaging_world import make_world  # noqa: PLC0415

    async for w in make_world(
        tmp_path, database_url, redis_url, make_settings, engine, attachment_max_bytes="2048"
    ):
        big = await upload(w, w.summary.teacher, "stor.pdf", b"%PDF-" + b"x" * 4096)
        assert big.status_code == 413
        assert big.json()["limit"] == "attachment_max_bytes"
        # A file where the attachments folder should be: no one (not even root) can
        # write there, as on a read-only or broken volume.
        folder = w.settings.data_dir / "attachments"
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.write_bytes(b"")
        blocked = await upload(w, w.summary.teacher, "lille.pdf", b"%PDF-1.4")
        assert blocked.status_code == 503
        assert "nothing was stored" in blocked.json()["detail"]
        assert blocked.headers["retry-after"]
        assert await _rows(w) == 0
        assert folder.read_bytes() == b""
