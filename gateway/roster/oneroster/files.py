"""Where a OneRoster set's files come from: a folder or a .zip, read within the size limit.

Nothing is extracted to disk: each file is streamed, and every stream counts what it has
read, so neither a lying zip header nor a huge file can take more than the limit.
"""

from __future__ import annotations

import codecs
import io
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

from gateway.errors import ImportFailed

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

Progress = Callable[[str, int, int], None]

LIMIT_NAME = "BUDSTIKKE_IMPORT_MAX_FILE_BYTES"
# A OneRoster set has about 25 known files; an archive with far more is not one.
MAX_ZIP_MEMBERS = 500
_CHUNK = 1 << 20
_MANIFEST = "manifest.csv"


def _line_of_bad_utf8(entry: _Entry) -> int:
    """The line of the first byte that is not UTF-8 (the text reader only knows its chunk)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = 0
    with entry.open() as raw:
        while chunk := raw.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return newlines + exc.object[: exc.start].count(b"\n") + 1
            newlines += chunk.count(b"\n")
    return newlines + 1


def _limit_text(limit: int) -> str:
    return f"the limit of {limit:,} bytes ({LIMIT_NAME})"


@dataclass(frozen=True)
class _Entry:
    name: str  # as stored, for messages
    size: int  # uncompressed bytes
    open: Callable[[], IO[bytes]]


class _Metered(io.RawIOBase):
    """A byte stream that reports progress and stops at the limit, whatever headers claim."""

    def __init__(
        self, raw: IO[bytes], name: str, total: int, limit: int, on_progress: Progress | None
    ) -> None:
        self._raw = raw
        self._name = name
        self._total = total
        self._limit = limit
        self._on_progress = on_progress
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        count = len(data)
        view[:count] = data
        self.bytes_read += count
        if self.bytes_read > self._limit:
            raise ImportFailed(f"{self._name} is larger than {_limit_text(self._limit)}")
        if self._on_progress is not None and count:
            self._on_progress(self._name, self.bytes_read, self._total)
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


class FileSet:
    """The files of one set, looked up by case-insensitive name, opened as metered text."""

    def __init__(
        self,
        entries: dict[str, _Entry],
        *,
        max_file_bytes: int,
        on_progress: Progress | None,
        archive: zipfile.ZipFile | None = None,
    ) -> None:
        self._entries = entries
        self._limit = max_file_bytes
        self._on_progress = on_progress
        self._archive = archive

    def has(self, name: str) -> bool:
        return name.lower() in self._entries

    def size(self, name: str) -> int:
        return self._entries[name.lower()].size

    @contextmanager
    def text(self, name: str, *, report: bool = True) -> Iterator[IO[str]]:
        """Open one file as UTF-8 text (a BOM is dropped), line endings left to the csv module.

        ``report=False`` keeps a glance at the header out of the progress reports.
        """
        entry = self._entries[name.lower()]
        on_progress = self._on_progress if report else None
        if entry.size > self._limit:
            raise ImportFailed(
                f"{entry.name} is {entry.size:,} bytes, over {_limit_text(self._limit)}"
            )
        raw = _Metered(entry.open(), name, entry.size, self._limit, on_progress)
        stream = io.TextIOWrapper(
            io.BufferedReader(raw, buffer_size=_CHUNK), encoding="utf-8-sig", newline=""
        )
        try:
            yield stream
        except UnicodeDecodeError as exc:
            line = _line_of_bad_utf8(entry)
            raise ImportFailed(
                f"{name} is not UTF-8 text (line {line}, byte "
                f"{exc.object[exc.start : exc.start + 1]!r}): save it as UTF-8"
            ) from exc
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ImportFailed(f"{name} in the zip is damaged ({exc}): zip the set again") from exc
        finally:
            stream.close()
        if on_progress is not None and raw.bytes_read != entry.size:
            on_progress(name, entry.size, entry.size)  # so every file ends at 100 %

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()


@contextmanager
def open_file_set(
    path: Path, *, max_file_bytes: int, on_progress: Progress | None = None
) -> Iterator[FileSet]:
    """Open a folder or a .zip as a :class:`FileSet`; raise ImportFailed if it is neither."""
    if path.is_dir():
        files = FileSet(
            _folder_entries(path), max_file_bytes=max_file_bytes, on_progress=on_progress
        )
    elif path.is_file() and zipfile.is_zipfile(path):
        files = _zip_file_set(path, max_file_bytes, on_progress)
    elif path.exists():
        raise ImportFailed(
            f"{path} is neither a folder nor a .zip: give the folder or zip holding manifest.csv"
        )
    else:
        raise ImportFailed(f"{path} does not exist")
    try:
        yield files
    finally:
        files.close()


def _folder_entries(folder: Path) -> dict[str, _Entry]:
    base = folder
    if not (folder / _MANIFEST).is_file() and not _has_case_insensitive(folder, _MANIFEST):
        # Sets are often unpacked into a folder of their own one level down.
        inner = [d for d in sorted(folder.iterdir()) if d.is_dir() and _has_manifest(d)]
        if len(inner) == 1:
            base = inner[0]
    entries: dict[str, _Entry] = {}
    for item in sorted(base.iterdir()):
        info = item.stat()
        if not stat.S_ISREG(info.st_mode):
            continue
        entries.setdefault(item.name.lower(), _Entry(item.name, info.st_size, _opener(item)))
    return entries


def _opener(item: Path) -> Callable[[], IO[bytes]]:
    return lambda: item.open("rb")


def _has_case_insensitive(folder: Path, name: str) -> bool:
    return any(child.name.lower() == name for child in folder.iterdir())


def _has_manifest(folder: Path) -> bool:
    return _has_case_insensitive(folder, _MANIFEST)


def _zip_file_set(path: Path, limit: int, on_progress: Progress | None) -> FileSet:
    size = path.stat().st_size
    if size > limit:
        raise ImportFailed(f"{path.name} is {size:,} bytes, over {_limit_text(limit)}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailed(f"{path.name} is not a readable zip: {exc}") from exc
    try:
        entries = _zip_entries(archive, limit)
    except BaseException:
        archive.close()
        raise
    return FileSet(entries, max_file_bytes=limit, on_progress=on_progress, archive=archive)


def _zip_entries(archive: zipfile.ZipFile, limit: int) -> dict[str, _Entry]:
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise ImportFailed(
            f"the zip has {len(members)} members, more than {MAX_ZIP_MEMBERS}: "
            "zip only the OneRoster CSV files"
        )
    files: list[zipfile.ZipInfo] = []
    for info in members:
        _check_member_name(info)
        parts = PurePosixPath(info.filename).parts
        if info.is_dir() or not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
            continue
        files.append(info)
    base = _zip_base(files)
    entries: dict[str, _Entry] = {}
    for info in files:
        member = PurePosixPath(info.filename)
        if member.parent != base:
            continue
        if info.file_size > limit:
            raise ImportFailed(
                f"{member.name} in the zip unpacks to {info.file_size:,} bytes, "
                f"over {_limit_text(limit)}"
            )
        if info.flag_bits & 0x1:
            raise ImportFailed(f"{member.name} in the zip is encrypted: zip it without a password")
        entries.setdefault(
            member.name.lower(), _Entry(member.name, info.file_size, _zip_opener(archive, info))
        )
    return entries


def _zip_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: archive.open(info)


def _check_member_name(info: zipfile.ZipInfo) -> None:
    """Refuse names that would point outside the set if anyone ever extracted it."""
    name = info.filename
    first = name.split("/", 1)[0]
    is_link = stat.S_ISLNK(info.external_attr >> 16)
    if (
        is_link
        or "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or ":" in first
        or ".." in PurePosixPath(name).parts
    ):
        raise ImportFailed(
            f"the zip has an unsafe member {name!r} (absolute path, '..', drive or link): "
            "zip the CSV files themselves"
        )


def _zip_base(files: list[zipfile.ZipInfo]) -> PurePosixPath:
    """The folder inside the zip that holds manifest.csv (the root, or one folder down)."""
    manifests = [
        PurePosixPath(info.filename).parent
        for info in files
        if PurePosixPath(info.filename).name.lower() == _MANIFEST
    ]
    if not manifests:
        return PurePosixPath(".")
    shallowest = min(len(folder.parts) for folder in manifests)
    candidates = sorted({f for f in manifests if len(f.parts) == shallowest})
    if len(candidates) > 1:
        listed = ", ".join(str(c) for c in candidates)
        raise ImportFailed(f"the zip holds several OneRoster sets ({listed}): send one at a time")
    return candidates[0]
