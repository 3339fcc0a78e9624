"""Write to the audit log in the caller's transaction, and read it back by filters.

:func:`record` only adds a row to the session: the event commits or rolls back with
the work it describes (a dry-run import leaves no event, an export that fails leaves
no claim that it happened). ``detail`` is for ids and counts; :func:`record` refuses
anything else, so the log never holds more personal data than the rows it points at.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import and_, delete, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit.models import ActorKind, AuditEvent
from gateway.audit.schemas import AuditEventRead, AuditPage
from gateway.errors import InvalidInput
from gateway.orm import utcnow

# The closed set of what is logged. A new recording point adds its name here, so the
# API's filter and the docs' list cannot drift from what the code writes.
Action = Literal[
    "thread.sensitive_read",
    "consent.export",
    "roster.import",
    "roster.upsert",
    "preferences.change",
    "notification_defaults.change",
    "api_key.create",
    "api_key.revoke",
    "api_key.use",
    "audit.read",
    "audit.purge",
    "person.export",
    "person.erase",
    "retention.purge",
    "retention.policy_change",
    "legal_hold.set",
    "legal_hold.clear",
]
ACTIONS: frozenset[str] = frozenset(get_args(Action))

MAX_PAGE = 200
# A detail is a handful of ids and counts; a few hundred bytes in practice.
MAX_DETAIL_BYTES = 1024
_MAX_LIST = 32
# Identifiers, enum values, UUIDs, prefixes: no spaces, so no sentence, name pair or
# address fits. It cannot stop a one-word name, which is why callers pass ids only.
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{0,64}")


@dataclass(frozen=True, slots=True)
class AuditActor:
    """Who an event is attributed to: a kind and, for people and keys, their id."""

    kind: ActorKind
    id: uuid.UUID | None = None

    @classmethod
    def person(cls, person_id: uuid.UUID) -> AuditActor:
        return cls(ActorKind.PERSON, person_id)

    @classmethod
    def api_key(cls, key_id: uuid.UUID) -> AuditActor:
        return cls(ActorKind.API_KEY, key_id)

    @classmethod
    def cli(cls) -> AuditActor:
        """An operator at the ``budstikke`` command line (who they are is the host's log)."""
        return cls(ActorKind.CLI)

    @classmethod
    def system(cls) -> AuditActor:
        """The gateway itself: a worker or a scheduled job."""
        return cls(ActorKind.SYSTEM)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What a read of the log narrows to; ``person`` matches actor or target."""

    action: str | None = None
    actor: uuid.UUID | None = None
    target: uuid.UUID | None = None
    person: uuid.UUID | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 50
    cursor: str | None = None


async def record(
    session: AsyncSession,
    *,
    municipality_id: uuid.UUID,
    actor: AuditActor,
    action: Action,
    target_kind: str | None = None,
    target_id: uuid.UUID | None = None,
    detail: Mapping[str, Any] | None = None,
    ip: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Add one event to the caller's transaction (it commits with the caller's work)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if target_kind is not None and not _TOKEN.fullmatch(target_kind):
        raise ValueError(f"audit target kind {target_kind!r} is not an identifier")
    session.add(
        AuditEvent(
            municipality_id=municipality_id,
            at=at or utcnow(),
            actor_kind=actor.kind.value,
            actor_id=actor.id,
            action=action,
            target_kind=target_kind,
            target_id=target_id,
            detail=_checked(detail or {}),
            ip=ip[:45] if ip else None,
        )
    )


async def query(
    session: AsyncSession, municipality_id: uuid.UUID, wanted: AuditFilter
) -> AuditPage:
    """One page of the municipality's events, newest first; ``next_cursor`` continues."""
    _validate(wanted)
    statement = select(AuditEvent).where(AuditEvent.municipality_id == municipality_id)
    if wanted.action is not None:
        statement = statement.where(AuditEvent.action == wanted.action)
    if wanted.actor is not None:
        statement = statement.where(AuditEvent.actor_id == wanted.actor)
    if wanted.target is not None:
        statement = statement.where(AuditEvent.target_id == wanted.target)
    if wanted.person is not None:
        statement = statement.where(
            or_(AuditEvent.actor_id == wanted.person, AuditEvent.target_id == wanted.person)
        )
    if wanted.since is not None:
        statement = statement.where(AuditEvent.at >= wanted.since)
    if wanted.until is not None:
        statement = statement.where(AuditEvent.at < wanted.until)
    if wanted.cursor is not None:
        at, after = decode_cursor(wanted.cursor)
        statement = statement.where(
            or_(AuditEvent.at < at, and_(AuditEvent.at == at, AuditEvent.id < after))
        )
    rows = list(
        (
            await session.scalars(
                statement.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(
                    wanted.limit + 1
                )
            )
        ).all()
    )
    page, more = rows[: wanted.limit], len(rows) > wanted.limit
    return AuditPage(
        items=[_read(row) for row in page],
        next_cursor=encode_cursor(page[-1].at, page[-1].id) if more and page else None,
    )


async def read(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    reader: AuditActor,
    wanted: AuditFilter,
    *,
    ip: str | None = None,
) -> AuditPage:
    """A page of the log for an administrator; the read is itself logged (``audit.read``)."""
    async with session.begin():
        page = await query(session, municipality_id, wanted)
        await record(
            session,
            municipality_id=municipality_id,
            actor=reader,
            action="audit.read",
            detail={
                "returned": len(page.items),
                "action": wanted.action,
                "actor": wanted.actor,
                "target": wanted.target,
                "person": wanted.person,
            },
            ip=ip,
        )
    return page


async def purge_before(
    session: AsyncSession, municipality_id: uuid.UUID, before: dt.datetime
) -> int:
    """Delete the municipality's events older than ``before`` (retention); how many.

    The one way past the append-only triggers, in the caller's transaction. On
    PostgreSQL the trigger lets a DELETE through when ``budstikke.audit_purge`` is
    ``on`` for this transaction (``SET LOCAL``: it ends with the transaction). SQLite
    has no session variables; its DDL is transactional, so the delete trigger is
    dropped and made again inside the same transaction, and a rollback restores it.
    The purge leaves an ``audit.purge`` event with the count.
    """
    if before.tzinfo is None:
        raise InvalidInput("give the purge time with a time zone", ["before: naive"])
    dialect = session.get_bind().dialect.name
    doomed = delete(AuditEvent).where(
        AuditEvent.municipality_id == municipality_id, AuditEvent.at < before
    )
    if dialect == "postgresql":
        await session.execute(text("SET LOCAL budstikke.audit_purge = 'on'"))
        result = await session.execute(doomed.execution_options(synchronize_session=False))
        await session.execute(text("SET LOCAL budstikke.audit_purge = 'off'"))
    else:
        await session.execute(text(f"DROP TRIGGER {SQLITE_DELETE_TRIGGER}"))
        result = await session.execute(doomed.execution_options(synchronize_session=False))
        await session.execute(text(SQLITE_DELETE_TRIGGER_DDL))
    purged = int(getattr(result, "rowcount", 0) or 0)
    await record(
        session,
        municipality_id=municipality_id,
        actor=AuditActor.system(),
        action="audit.purge",
        detail={"deleted": purged, "before": before.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")},
    )
    return purged


# The SQLite trigger as migration 0006 makes it; purge_before drops and remakes it.
SQLITE_DELETE_TRIGGER = "audit_events_no_delete"
SQLITE_DELETE_TRIGGER_DDL = (
    f"CREATE TRIGGER {SQLITE_DELETE_TRIGGER} BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)


def encode_cursor(at: dt.datetime, event_id: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(event_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """The position a cursor stands for; InvalidInput for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, event_id = json.loads(raw)
        moment = dt.datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, uuid.UUID(event_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidInput("the cursor is not one this API gave out", ["cursor: invalid"]) from exc


def _validate(wanted: AuditFilter) -> None:
    errors: list[str] = []
    if wanted.action is not None and wanted.action not in ACTIONS:
        errors.append(f"action: one of {', '.join(sorted(ACTIONS))}")
    for name in ("since", "until"):
        moment: dt.datetime | None = getattr(wanted, name)
        if moment is not None and moment.tzinfo is None:
            errors.append(f"{name}: give a time zone (e.g. 2026-12-03T08:00:00Z)")
    since, until = wanted.since, wanted.until
    if since and until and since.tzinfo and until.tzinfo and since > until:
        errors.append("since: after until")
    if not 1 <= wanted.limit <= MAX_PAGE:
        errors.append(f"limit: between 1 and {MAX_PAGE}")
    if errors:
        raise InvalidInput("the audit query cannot be run as given", errors)


def _checked(detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` as stored: ids, counts, flags and identifiers only, and small."""
    clean = {_key(key): _value(value, nested=True) for key, value in detail.items()}
    if len(json.dumps(clean)) > MAX_DETAIL_BYTES:
        raise ValueError(f"audit detail over {MAX_DETAIL_BYTES} bytes")
    return clean


def _key(key: object) -> str:
    if not isinstance(key, str) or not _TOKEN.fullmatch(key) or not key:
        raise ValueError(f"audit detail key {key!r} is not an identifier")
    return key


def _value(value: object, *, nested: bool) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        if not _TOKEN.fullmatch(value):
            raise ValueError("audit detail strings are identifiers, never text")
        return value
    if nested and isinstance(value, Mapping):
        return {_key(k): _value(v, nested=False) for k, v in value.items()}
    if nested and isinstance(value, list | tuple) and len(value) <= _MAX_LIST:
        return [_value(v, nested=False) for v in value]
    raise ValueError(f"audit detail value of type {type(value).__name__} is not allowed")


def _read(row: AuditEvent) -> AuditEventRead:
    return AuditEventRead(
        id=row.id,
        at=row.at,
        actor_kind=ActorKind(row.actor_kind),
        actor_id=row.actor_id,
        action=row.action,
        target_kind=row.target_kind,
        target_id=row.target_id,
        detail=row.detail,
        ip=row.ip,
    )
