"""API keys for systems: create (shown once), verify, list and revoke.

A key reads ``bsk_<prefix>_<secret>``. The prefix is stored in the clear to find the
row and to name the key in lists and logs; only a SHA-256 hash of the secret is kept.
The functions here run in the caller's transaction, except :func:`verify_api_key`'s
``last_used_at`` write, which the caller commits with whatever else it does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import string
import uuid
from collections.abc import Iterable, Sequence

import msgspec
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit import AuditActor, record
from gateway.auth.models import ApiKey
from gateway.auth.principals import Permission, SystemPrincipal
from gateway.errors import InvalidInput, NotFound, Unauthorized
from gateway.orm import utcnow
from gateway.roster.models import Institution, Municipality

KEY_SCHEME = "bsk"
PREFIX_LENGTH = 8
# Letters and digits only, so ``_`` can separate the parts; 36**8 is plenty to avoid
# collisions, and the unique constraint catches the rest.
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_BYTES = 32
# Longer than any key we issue; bounds the work an attacker can make us do per request.
_MAX_KEY_LENGTH = 128
# ``last_used_at`` is for people deciding which keys are dead, not an audit log: a
# minute's precision spares the database a write on every request.
TOUCH_INTERVAL = dt.timedelta(minutes=1)
_PERMISSIONS = frozenset(member.value for member in Permission)


class ApiKeyInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A key as lists show it: everything but the secret."""

    prefix: str
    name: str
    municipality_code: str
    permissions: tuple[Permission, ...]
    institutions: tuple[str, ...]  # source ids; empty: the whole municipality
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class CreatedApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A new key with its one and only readable copy."""

    info: ApiKeyInfo
    key: str


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret part.

    The secret is 256 random bits, so a plain SHA-256 is enough: a slow KDF (argon2,
    bcrypt) protects low-entropy passwords against guessing, which these are not, and
    it would cost milliseconds on every API request.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_permissions(values: Iterable[str]) -> frozenset[Permission]:
    """Permission names as a set; InvalidInput naming any unknown one."""
    wanted = {value.strip().lower() for value in values if value.strip()}
    choices = ", ".join(sorted(_PERMISSIONS))
    unknown = sorted(wanted - _PERMISSIONS)
    if unknown:
        raise InvalidInput(f"unknown permission {', '.join(unknown)} (choose from {choices})")
    if not wanted:
        raise InvalidInput(f"give at least one permission ({choices})")
    return frozenset(Permission(value) for value in wanted)


async def create_api_key(
    session: AsyncSession,
    *,
    municipality_code: str,
    name: str,
    permissions: Iterable[str],
    institutions: Sequence[str] = (),
    actor: AuditActor = AuditActor.cli(),  # noqa: B008 - frozen
) -> CreatedApiKey:
    """Create a key for the municipality, optionally narrowed to some institutions.

    ``actor`` is who the audit log names (the CLI is the only way to make keys today).
    """
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("the key's name must be 1 to 200 characters")
    granted = parse_permissions(permissions)
    municipality = await _municipality(session, municipality_code)
    scope = await _institution_ids(session, municipality.id, institutions)
    prefix = await _free_prefix(session)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    row = ApiKey(
        municipality_id=municipality.id,
        name=name,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        permissions=sorted(granted),
        institution_ids=[str(scope[source_id]) for source_id in sorted(scope)],
        last_used_at=None,
        revoked_at=None,
    )
    session.add(row)
    await session.flush()
    await record(
        session,
        municipality_id=municipality.id,
        actor=actor,
        action="api_key.create",
        target_kind="api_key",
        target_id=row.id,
        detail={
            "prefix": prefix,
            "permissions": sorted(granted),
            "institutions": len(scope),
        },
    )
    info = _info(row, municipality.code, sorted(scope))
    return CreatedApiKey(info=info, key=f"{KEY_SCHEME}_{prefix}_{secret}")


async def verify_api_key(
    session: AsyncSession, key: str, *, now: dt.datetime | None = None
) -> SystemPrincipal:
    """The principal for a presented key; Unauthorized when it is malformed, wrong or revoked."""
    prefix, secret = _split(key)
    found = (
        await session.execute(
            select(ApiKey, Municipality.code)
            .join(Municipality, Municipality.id == ApiKey.municipality_id)
            .where(ApiKey.prefix == prefix)
        )
    ).one_or_none()
    # The prefix is not secret (lists show it); only the secret's comparison must not
    # leak through timing.
    if found is None or not hmac.compare_digest(found[0].secret_hash, hash_secret(secret)):
        raise Unauthorized("invalid API key")
    row, code = found
    if row.revoked_at is not None:
        raise Unauthorized("this API key has been revoked")
    await _touch(session, row, now or utcnow())
    return SystemPrincipal(
        key_id=row.id,
        prefix=row.prefix,
        name=row.name,
        municipality_id=row.municipality_id,
        municipality_code=code,
        permissions=_permissions(row),
        institution_ids=frozenset(uuid.UUID(value) for value in row.institution_ids),
    )


async def list_api_keys(
    session: AsyncSession, *, municipality_code: str | None = None
) -> list[ApiKeyInfo]:
    """Every key (of one municipality, if given), oldest first."""
    query = select(ApiKey, Municipality.code).join(
        Municipality, Municipality.id == ApiKey.municipality_id
    )
    if municipality_code is not None:
        await _municipality(session, municipality_code)
        query = query.where(Municipality.code == municipality_code)
    rows = (await session.execute(query.order_by(ApiKey.created_at, ApiKey.prefix))).all()
    names = await _institution_names(
        session, {value for row, _ in rows for value in row.institution_ids}
    )
    return [
        _info(row, code, sorted(names.get(value, value) for value in row.institution_ids))
        for row, code in rows
    ]


async def revoke_api_key(
    session: AsyncSession,
    prefix: str,
    *,
    now: dt.datetime | None = None,
    actor: AuditActor = AuditActor.cli(),  # noqa: B008 - frozen
) -> ApiKeyInfo:
    """Revoke the key with this prefix; revoking twice keeps the first time (and one
    audit event)."""
    found = (
        await session.execute(
            select(ApiKey, Municipality.code)
            .join(Municipality, Municipality.id == ApiKey.municipality_id)
            .where(ApiKey.prefix == prefix)
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"no API key with prefix {prefix!r}")
    row, code = found
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        await record(
            session,
            municipality_id=row.municipality_id,
            actor=actor,
            action="api_key.revoke",
            target_kind="api_key",
            target_id=row.id,
            detail={"prefix": row.prefix},
            at=row.revoked_at,
        )
        await session.flush()
    names = await _institution_names(session, set(row.institution_ids))
    return _info(row, code, sorted(names.get(value, value) for value in row.institution_ids))


def _split(key: str) -> tuple[str, str]:
    if len(key) > _MAX_KEY_LENGTH:
        raise Unauthorized("invalid API key")
    # The secret is URL-safe base64 and may itself contain "_": split twice only.
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != PREFIX_LENGTH or not parts[2]:
        raise Unauthorized("malformed API key (expected bsk_<prefix>_<secret>)")
    return parts[1], parts[2]


async def _touch(session: AsyncSession, row: ApiKey, now: dt.datetime) -> None:
    hour = now.replace(minute=0, second=0, microsecond=0)
    if row.last_used_at is None or row.last_used_at < hour:
        # The first use in a clock hour (UTC) goes to the audit log: a per-request event
        # would drown the log. Conditional on the hour, so across processes exactly one
        # request wins the write and records it.
        won = await session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == row.id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < hour),
            )
            .values(last_used_at=now, updated_at=ApiKey.updated_at)
            .execution_options(synchronize_session=False)
        )
        if getattr(won, "rowcount", 0):
            await record(
                session,
                municipality_id=row.municipality_id,
                actor=AuditActor.api_key(row.id),
                action="api_key.use",
                target_kind="api_key",
                target_id=row.id,
                detail={"prefix": row.prefix},
                at=now,
            )
        return
    if now - row.last_used_at < TOUCH_INTERVAL:
        return
    # Conditional, so that concurrent requests in other processes write once, not N
    # times; ``updated_at`` is kept because using a key does not change it.
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == row.id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - TOUCH_INTERVAL),
        )
        .values(last_used_at=now, updated_at=ApiKey.updated_at)
        .execution_options(synchronize_session=False)
    )


async def _municipality(session: AsyncSession, code: str) -> Municipality:
    found = await session.scalar(select(Municipality).where(Municipality.code == code))
    if found is None:
        raise NotFound(f"no municipality with code {code!r}")
    return found


async def _institution_ids(
    session: AsyncSession, municipality_id: uuid.UUID, source_ids: Sequence[str]
) -> dict[str, uuid.UUID]:
    wanted = set(source_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Institution.source_id, Institution.id).where(
            Institution.municipality_id == municipality_id, Institution.source_id.in_(wanted)
        )
    )
    found = {source_id: id_ for source_id, id_ in rows}
    missing = sorted(wanted - found.keys())
    if missing:
        raise InvalidInput(
            f"unknown institution {', '.join(repr(m) for m in missing)} in this municipality"
        )
    return found


async def _institution_names(session: AsyncSession, ids: set[str]) -> dict[str, str]:
    """Source ids for stored institution UUIDs (as strings), to show keys' scopes."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Institution.id, Institution.source_id).where(
            Institution.id.in_([uuid.UUID(value) for value in ids])
        )
    )
    return {str(id_): source_id for id_, source_id in rows}


async def _free_prefix(session: AsyncSession) -> str:
    for _ in range(5):
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        if await session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            return prefix
    raise RuntimeError("could not find a free API key prefix")  # 36**8 makes this ~never


def _info(row: ApiKey, municipality_code: str, institutions: Sequence[str]) -> ApiKeyInfo:
    return ApiKeyInfo(
        prefix=row.prefix,
        name=row.name,
        municipality_code=municipality_code,
        permissions=tuple(sorted(_permissions(row))),
        institutions=tuple(institutions),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _permissions(row: ApiKey) -> frozenset[Permission]:
    # A permission name this version does not know (a newer one, rolled back) grants nothing.
    return frozenset(Permission(value) for value in row.permissions if value in _PERMISSIONS)
