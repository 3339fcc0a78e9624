"""Backups of one gateway: its database and attachment files in one archive that checks itself.

An archive is a ``.tar.gz`` holding::

    database/budstikke.db        SQLite: a copy made with the online backup API
    database/budstikke.pgdump    PostgreSQL: ``pg_dump --format=custom``
    attachments/{municipality}/{id}
    keys/{file}                  only with ``include_keys``
    manifest.json                engine, Alembic revision, time, size and SHA-256 of each member

The database is copied first and the attachment folder after it: a file is stored before
its row (see :mod:`gateway.messaging.attachments`), so every row in the copy has its file
in the archive. The manifest comes last because each member is hashed as it streams in.

Restore refuses a target that already holds tables or attachments, and checks every hash
before it writes anything; then it brings the schema to the newest revision, so a backup
made by an older release comes forward. Keys stay out unless asked for: whoever holds
``secret.key`` can sign reply, unsubscribe and answer links, and the dev signing key mints
tokens, so a stolen backup must not carry them.
"""

from gateway.backup.archive import (
    ATTACHMENTS,
    DATABASE_MEMBER,
    FORMAT,
    KEY_FILES,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    Engine,
    Manifest,
    Member,
    unpack_verified,
)
from gateway.backup.engines import engine_of
from gateway.backup.service import RestoreReport, backup, restore

__all__ = (
    "ATTACHMENTS",
    "DATABASE_MEMBER",
    "FORMAT",
    "KEY_FILES",
    "MANIFEST",
    "MAX_MANIFEST_BYTES",
    "Engine",
    "Manifest",
    "Member",
    "RestoreReport",
    "backup",
    "engine_of",
    "restore",
    "unpack_verified",
)
