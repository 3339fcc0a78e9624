"""``Idempotency-Key``: a retried request gets the first answer instead of a second send.

The key is scoped to the credential (a person, or an API key) and kept for a day. The
stored answer is written in the same transaction as the thing it answers, so there is
never an answer without a message or a message without its answer. A second request
with the same key but a different body is refused (422), as the IETF draft advises.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import InvalidInput
from gateway.messaging.actors import Actor
from gateway.messaging.models import IdempotencyKey
from gateway.orm import utcnow

A = TypeVar("A", bound=msgspec.Struct)
S = TypeVar("S")
TTL = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Idempotency:
    """The key a request came with, and a fingerprint of what it asked for."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, *parts: bytes) -> Idempotency | None:
        if key is None:
            return None
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise InvalidInput(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters"
            )
        digest = hashlib.sha256()
        for part in parts:
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return cls(key, digest.hexdigest())


async def replay(
    session: AsyncSession, actor: Actor, idem: Idempotency | None
) -> tuple[int, dict[str, Any]] | None:
    """The stored answer for this key, or None; InvalidInput if the body differs."""
    if idem is None:
        return None
    now = utcnow()
    stored = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.municipality_id == actor.municipality_id,
            IdempotencyKey.principal == actor.principal,
            IdempotencyKey.key == idem.key,
        )
    )
    if stored is None:
        return None
    if stored.expires_at <= now:
        await session.delete(stored)
        await session.flush()
        return None
    if stored.fingerprint != idem.fingerprint:
        raise InvalidInput("this Idempotency-Key was used for a different request; use a new key")
    return stored.status_code, stored.response


def remember(
    session: AsyncSession,
    actor: Actor,
    idem: Idempotency | None,
    status_code: int,
    response: dict[str, Any],
) -> None:
    """Keep the answer with the transaction that made it."""
    if idem is None:
        return
    now = utcnow()
    session.add(
        IdempotencyKey(
            municipality_id=actor.municipality_id,
            principal=actor.principal,
            key=idem.key,
            fingerprint=idem.fingerprint,
            status_code=status_code,
            response=response,
            created_at=now,
            expires_at=now + TTL,
        )
    )


async def once(
    session: AsyncSession,
    actor: Actor,
    idem: Idempotency | None,
    *,
    status: int,
    answer: type[A],
    store: Callable[[], Awaitable[tuple[A, S]]],
) -> tuple[A, S | None]:
    """Run ``store`` in one transaction, once per key: (its answer, its extra).

    With a key seen before, the first answer comes back and the extra is None (nothing
    was stored, so nothing is to be announced). A retry racing in with the same key meets
    the unique key; then the winner's answer is the answer.
    """
    try:
        async with session.begin():
            replayed = await replay(session, actor, idem)
            if replayed is not None:
                return msgspec.convert(replayed[1], answer), None
            result, extra = await store()
            remember(session, actor, idem, status, msgspec.to_builtins(result))
    except IntegrityError:
        if idem is None:
            raise
        async with session.begin():
            replayed = await replay(session, actor, idem)
        if replayed is None:
            raise
        return msgspec.convert(replayed[1], answer), None
    return result, extra


async def purge_expired(session: AsyncSession) -> int:
    """Delete keys past their day; for housekeeping."""
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)
