"""The backup and restore flow: archive the database and files, or check and bring them back."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import msgspec

from gateway import migrate
from gateway.backup.archive import (
    ATTACHMENTS,
    DATABASE_MEMBER,
    FORMAT,
    KEY_FILES,
    MANIFEST,
    Engine,
    Manifest,
    Member,
    _add,
    _add_bytes,
    _attachment_files,
    unpack_verified,
)
from gateway.backup.engines import (
    _check_known,
    _current_revision,
    _dump,
    _load,
    _tables,
    _tool,
    engine_of,
)
from gateway.config import Settings
from gateway.errors import Conflict, InvalidInput


@dataclass(frozen=True, slots=True)
class RestoreReport:
    manifest: Manifest
    revision: str | None
    attachments: int
    keys: tuple[str, ...]
    kept_keys: tuple[str, ...]


# -- backup -----------------------------------------------------------------------------


def backup(settings: Settings, out: Path, *, include_keys: bool = False) -> Manifest:
    """Write the database, the attachment files (and the keys if asked) to ``out``."""
    engine = engine_of(settings.database_url)
    if out.exists():
        raise Conflict(f"{out} exists; a backup never overwrites one, choose a new name")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.part")
    # The dump goes next to the archive, not to /tmp, which is often small or in memory.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".budstikke-backup-") as scratch:
        dump = Path(scratch) / "dump"
        revision = _dump(settings.database_url, engine, dump)
        members: list[Member] = []
        try:
            # Private from the first byte: the archive holds children's data.
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                with tarfile.open(fileobj=file, mode="w:gz") as tar:
                    members.append(_add(tar, dump, DATABASE_MEMBER[engine]))
                    for path, name in _attachment_files(settings.data_dir):
                        members.append(_add(tar, path, name))
                    for key in KEY_FILES if include_keys else ():
                        if (settings.data_dir / key).is_file():
                            members.append(_add(tar, settings.data_dir / key, f"keys/{key}"))
                    manifest = Manifest(
                        format=FORMAT,
                        engine=engine,
                        alembic_revision=revision,
                        created_at=dt.datetime.now(dt.UTC),
                        gateway_version=version("budstikke"),
                        includes_keys=include_keys,
                        members=tuple(members),
                    )
                    _add_bytes(tar, MANIFEST, msgspec.json.format(msgspec.json.encode(manifest)))
                # After the tar closes: the gzip trailer is on disk before the rename.
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return manifest


# -- restore ----------------------------------------------------------------------------


def restore(archive: Path, database_url: str, data_dir: Path) -> RestoreReport:
    """Restore ``archive`` into an empty database and data folder, then migrate to head."""
    engine = engine_of(database_url)
    if engine == "postgresql":
        _tool("pg_restore")  # say what is missing before unpacking anything
    _refuse_non_empty(database_url, engine, data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=data_dir, prefix=".restore-"))
    try:
        manifest = unpack_verified(archive, staging)
        if manifest.engine != engine:
            raise InvalidInput(
                f"the archive holds a {manifest.engine} database and the target is {engine}; "
                "restore into the same engine (moving between engines is not supported)"
            )
        _check_known(manifest.alembic_revision, database_url)
        attachments = _move_attachments(staging, data_dir)
        try:
            _load(staging / DATABASE_MEMBER[engine], database_url, engine)
        except BaseException:
            for path in attachments:
                path.unlink(missing_ok=True)
            raise
        keys, kept = _restore_keys(staging, data_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    migrate.upgrade(database_url, "head")
    return RestoreReport(
        manifest=manifest,
        revision=_current_revision(database_url, engine),
        attachments=len(attachments),
        keys=keys,
        kept_keys=kept,
    )


def _refuse_non_empty(database_url: str, engine: Engine, data_dir: Path) -> None:
    tables = _tables(database_url, engine)
    if tables:
        raise Conflict(
            f"the target database is not empty ({len(tables)} tables, e.g. {tables[0]}); "
            "restore into a new, empty database"
        )
    folder = data_dir / ATTACHMENTS
    if folder.is_dir() and any(folder.iterdir()):
        raise Conflict(f"{folder} is not empty; restore into a new data folder")


def _move_attachments(staging: Path, data_dir: Path) -> list[Path]:
    moved: list[Path] = []
    source = staging / ATTACHMENTS
    if not source.is_dir():
        return moved
    try:
        for municipality in sorted(source.iterdir()):
            for path in sorted(municipality.iterdir()):
                target = data_dir / ATTACHMENTS / municipality.name / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
                moved.append(target)
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        raise
    return moved


def _restore_keys(staging: Path, data_dir: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    restored: list[str] = []
    kept: list[str] = []
    for key in KEY_FILES:
        source = staging / "keys" / key
        if not source.is_file():
            continue
        target = data_dir / key
        if target.exists():
            kept.append(key)  # a key already here wins; replacing it would break its links
            continue
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(source.read_bytes())
        restored.append(key)
    return tuple(restored), tuple(kept)
