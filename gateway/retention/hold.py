"""A legal hold per institution: while it is on, retention deletes nothing of that institution.

A hold is set when a complaint, a case with the authorities or a court may need the
institution's threads (litigation hold). It lives in
``institutions.settings["legal_hold"]`` beside the notification defaults, so it needs
no schema of its own and travels with the institution in a backup:

``{"active": true, "reason": "…", "since": "2026-12-03T08:00:00+00:00", "set_by": "cli"}``

Clearing keeps the last hold's record with ``cleared_at`` and ``cleared_reason``. Both
the hold and the purge lock the institution rows, so a purge that has started either
sees a hold set meanwhile or runs before it is set: never half of each.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.errors import InvalidInput, NotFound
from gateway.roster.models import Institution

HOLD_KEY = "legal_hold"
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class HoldState:
    """An institution's legal hold as stored (``active`` false: cleared)."""

    institution_id: uuid.UUID
    institution_name: str
    active: bool
    reason: str
    since: dt.datetime | None
    set_by: str
    cleared_at: dt.datetime | None = None
    cleared_reason: str | None = None


def hold_of(institution: Institution) -> HoldState | None:
    """The institution's hold record, or None when it never had one."""
    stored = (institution.settings or {}).get(HOLD_KEY)
    if not isinstance(stored, Mapping):
        return None
    return HoldState(
        institution_id=institution.id,
        institution_name=institution.name,
        # Anything but an explicit false holds: a damaged record must not free data.
        active=stored.get("active") is not False,
        reason=str(stored.get("reason") or ""),
        since=_moment(stored.get("since")),
        set_by=str(stored.get("set_by") or ""),
        cleared_at=_moment(stored.get("cleared_at")),
        cleared_reason=stored.get("cleared_reason"),
    )


async def active_holds(
    session: AsyncSession, municipality_id: uuid.UUID, *, lock: bool = False
) -> list[HoldState]:
    """The municipality's institutions under hold now (``lock``: until the transaction ends)."""
    statement = select(Institution).where(Institution.municipality_id == municipality_id)
    if lock:
        statement = statement.with_for_update()
    found = (await session.scalars(statement.order_by(Institution.name, Institution.id))).all()
    return [state for state in map(hold_of, found) if state is not None and state.active]


async def set_hold(
    session: AsyncSession,
    municipality_id: uuid.UUID,
    institution_id: uuid.UUID,
    *,
    on: bool,
    reason: str | None,
    by: audit.AuditActor,
    now: dt.datetime,
) -> HoldState:
    """Put the institution under hold (``on``) or lift it, in one transaction, audited.

    Setting needs a reason, lifting may give one. Setting a hold that is on replaces its
    reason and keeps its start; lifting one that is off changes nothing. NotFound for an
    institution of another municipality.
    """
    text = _reason(reason, required=on)
    async with session.begin():
        institution = await session.scalar(
            select(Institution)
            .where(Institution.municipality_id == municipality_id, Institution.id == institution_id)
            .with_for_update()
        )
        if institution is None:
            raise NotFound("no such institution in this municipality")
        current = hold_of(institution)
        if on:
            since = current.since if current and current.active and current.since else now
            stored: dict[str, Any] = {
                "active": True,
                "reason": text,
                "since": since.isoformat(),
                "set_by": _who(by),
            }
        elif current is None or not current.active:
            return current or _never(institution)
        else:
            stored = {
                **institution.settings[HOLD_KEY],
                "active": False,
                "cleared_at": now.isoformat(),
                "cleared_reason": text or None,
            }
        # A new dict, so the JSON column sees the change; other keys stay as they are.
        institution.settings = {**(institution.settings or {}), HOLD_KEY: stored}
        await audit.record(
            session,
            municipality_id=municipality_id,
            actor=by,
            action="legal_hold.set" if on else "legal_hold.clear",
            target_kind="institution",
            target_id=institution.id,
            at=now,
        )
        state = hold_of(institution)
    assert state is not None
    return state


async def find_institution(
    session: AsyncSession, reference: str, *, municipality_code: str | None
) -> tuple[uuid.UUID, uuid.UUID]:
    """(municipality id, institution id) for a source id or gateway id (the CLI's argument)."""
    from gateway.roster.models import Municipality  # noqa: PLC0415 - CLI only

    statement = (
        select(Institution.municipality_id, Institution.id, Municipality.code)
        .join(Municipality, Municipality.id == Institution.municipality_id)
        .limit(10)
    )
    try:
        named = Institution.id == uuid.UUID(reference)
    except ValueError:
        named = Institution.source_id == reference
    statement = statement.where(named)
    if municipality_code is not None:
        statement = statement.where(Municipality.code == municipality_code)
    async with session.begin():
        rows = (await session.execute(statement)).all()
    where = f" in municipality {municipality_code}" if municipality_code else ""
    if not rows:
        raise NotFound(f"no institution {reference!r}{where} (give its source id or id)")
    if len(rows) > 1:
        codes = ", ".join(sorted(code for _, _, code in rows))
        raise InvalidInput(
            f"{reference!r} names institutions in several municipalities ({codes})",
            ["--municipality: say which"],
        )
    return rows[0][0], rows[0][1]


def _reason(reason: str | None, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise InvalidInput(
            "a legal hold needs a reason", ["reason: say why, e.g. the case or complaint number"]
        )
    if len(text) > MAX_REASON:
        raise InvalidInput("the reason is too long", [f"reason: at most {MAX_REASON} characters"])
    return text


def _who(actor: audit.AuditActor) -> str:
    return f"{actor.kind.value}:{actor.id}" if actor.id else actor.kind.value


def _never(institution: Institution) -> HoldState:
    return HoldState(
        institution_id=institution.id,
        institution_name=institution.name,
        active=False,
        reason="",
        since=None,
        set_by="",
    )


def _moment(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None
