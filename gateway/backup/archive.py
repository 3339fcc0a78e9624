"""The archive format: its members and manifest, writing members hashed, and verified unpacking."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import os
import re
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal, cast

import msgspec

from gateway.auth.devtokens import KEY_FILE as DEV_SIGNING_KEY_FILE
from gateway.auth.links import KEY_FILE as LINK_KEY_FILE
from gateway.embedded import VAPID_KEY_FILE
from gateway.errors import InvalidInput

Engine = Literal["sqlite", "postgresql"]
FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER: dict[Engine, str] = {
    "sqlite": "database/budstikke.db",
    "postgresql": "database/budstikke.pgdump",
}
KEY_FILES = (LINK_KEY_FILE, VAPID_KEY_FILE, DEV_SIGNING_KEY_FILE)
ATTACHMENTS = "attachments"
_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Every name an archive may hold; anything else (a path trick, a link) is refused.
_MEMBER_NAME = re.compile(
    rf"database/budstikke\.(db|pgdump)|{ATTACHMENTS}/{_ID}/{_ID}|keys/("
    + "|".join(re.escape(name) for name in KEY_FILES)
    + ")"
)
MAX_MANIFEST_BYTES = 64 << 20
_CHUNK = 1 << 20


class Member(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    size: int
    sha256: str


class Manifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    format: int
    engine: Engine
    alembic_revision: str | None
    created_at: dt.datetime
    gateway_version: str
    includes_keys: bool
    members: tuple[Member, ...]


def _attachment_files(data_dir: Path) -> Iterator[tuple[Path, str]]:
    folder = data_dir / ATTACHMENTS
    if not folder.is_dir():
        return
    for municipality in sorted(folder.iterdir()):
        if not municipality.is_dir():
            continue
        for path in sorted(municipality.iterdir()):
            name = f"{ATTACHMENTS}/{municipality.name}/{path.name}"
            # Skips ".{id}.part" files still being written: their rows do not exist yet.
            if path.is_file() and not path.is_symlink() and _MEMBER_NAME.fullmatch(name):
                yield path, name


class _Hashing(io.RawIOBase):
    """Reads a file once, hashing what passes on its way into the archive."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.digest = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.file.read(len(buffer))
        buffer[: len(data)] = data
        self.digest.update(data)
        self.count += len(data)
        return len(data)


def _add(tar: tarfile.TarFile, path: Path, name: str) -> Member:
    with path.open("rb") as file:
        info = tarfile.TarInfo(name)
        info.size = os.fstat(file.fileno()).st_size
        info.mode = 0o600
        info.mtime = int(path.stat().st_mtime)
        reader = _Hashing(file)
        tar.addfile(info, cast("IO[bytes]", reader))
    return Member(name=name, size=reader.count, sha256=reader.digest.hexdigest())


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def unpack_verified(archive: Path, into: Path) -> Manifest:
    """Unpack ``archive`` into ``into`` and check it against its manifest; InvalidInput if not."""
    found: dict[str, Member] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for info in tar:
                if info.name in found or (info.name == MANIFEST and manifest_bytes is not None):
                    raise InvalidInput(f"the archive holds {info.name} twice")
                if not info.isfile():
                    raise InvalidInput(f"the archive holds {info.name}, which is not a file")
                source = tar.extractfile(info)
                assert source is not None  # a regular file always has contents
                if info.name == MANIFEST:
                    manifest_bytes = source.read(MAX_MANIFEST_BYTES + 1)
                    continue
                if not _MEMBER_NAME.fullmatch(info.name):
                    raise InvalidInput(f"the archive holds {info.name!r}, which no backup has")
                found[info.name] = _extract(source, into / info.name, info.name)
            # tarfile takes a garbled header for the end; reading on to the end of the
            # stream makes gzip check its CRC, so a damaged archive says so.
            stream = tar.fileobj
            while stream is not None and stream.read(_CHUNK):
                pass
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InvalidInput(f"the archive {archive} is damaged: {exc}") from exc
    except FileNotFoundError as exc:
        raise InvalidInput(f"there is no archive at {archive}") from exc
    if manifest_bytes is None or len(manifest_bytes) > MAX_MANIFEST_BYTES:
        raise InvalidInput(f"the archive {archive} has no manifest; it is not a backup")
    try:
        manifest = msgspec.json.decode(manifest_bytes, type=Manifest)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the archive's manifest does not parse: {exc}") from exc
    if manifest.format != FORMAT:
        raise InvalidInput(f"the archive is backup format {manifest.format}; this knows {FORMAT}")
    _compare(manifest, found)
    return manifest


def _extract(source: IO[bytes], path: Path, name: str) -> Member:
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with path.open("xb") as file:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            file.write(chunk)
    return Member(name=name, size=size, sha256=digest.hexdigest())


def _compare(manifest: Manifest, found: dict[str, Member]) -> None:
    listed = {member.name: member for member in manifest.members}
    problems = [f"{name} is not in the manifest" for name in sorted(set(found) - set(listed))]
    problems += [f"{name} is missing" for name in sorted(set(listed) - set(found))]
    for name in sorted(set(listed) & set(found)):
        if found[name] != listed[name]:
            problems.append(f"{name} does not match its size and SHA-256 in the manifest")
    if DATABASE_MEMBER[manifest.engine] not in found:
        problems.append(f"{DATABASE_MEMBER[manifest.engine]} is missing")
    if problems:
        raise InvalidInput(
            "the archive does not match its manifest (changed or damaged); nothing was restored",
            sorted(set(problems)),
        )
