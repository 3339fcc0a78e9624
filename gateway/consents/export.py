"""The results as CSV (``GET /v1/consents/{id}/results.csv``), safe to open in a spreadsheet.

UTF-8 with a byte-order mark (so Excel reads æ, ø, å right), comma-separated (RFC 4180;
Danish Excel lists with ``;``, so open it with Data → From Text/CSV there), CRLF line
ends, one header row, one row per child. Times are in the institution's time zone.

What a row holds is the least the school needs: the child's name, the status, when it
was reached, and per person who may answer their relation (``parent``, ``foster``,
``self`` for a pupil) and answer. No guardian names, no addresses, no phone numbers:
exports travel further than the screen does.

Spreadsheets run a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (CSV injection, OWASP); such cells get a leading ``'``, which makes
them text. Names come from rosters and a roster can say anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.config import Settings
from gateway.consents import results
from gateway.consents.schemas import ResultsRead
from gateway.messaging.actors import Actor

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE = "text/csv; charset=utf-8"


def neutralise(cell: str) -> str:
    """The cell as plain text for a spreadsheet (a leading ``'`` before a formula start)."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def _time(value: dt.datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).isoformat(timespec="seconds") if value is not None else ""


def to_csv(results: ResultsRead, zone_name: str) -> bytes:
    """The results as CSV bytes (see the module docstring)."""
    zone = ZoneInfo(zone_name)
    slots = max((len(child.answerers) for child in results.children), default=0)
    header = ["child", "status", "answered_at"]
    for slot in range(1, slots + 1):
        header += [f"relation_{slot}", f"answer_{slot}"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for child in results.children:
        row = [child.child.name, child.status, _time(child.answered_at, zone)]
        for answerer in child.answerers:
            row += [answerer.relation, answerer.option or ""]
        row += [""] * (len(header) - len(row))
        writer.writerow([neutralise(cell) for cell in row])
    return (BOM + out.getvalue()).encode("utf-8")


def file_name(results: ResultsRead) -> str:
    """A download name without anything from the request's text."""
    return f"consent-{results.consent_id}-v{results.version}.csv"


async def export(
    session: AsyncSession, actor: Actor, consent_id: uuid.UUID, *, settings: Settings
) -> tuple[bytes, str]:
    """``GET /v1/consents/{id}/results.csv``: the file and its download name (staff)."""
    found, zone = await results.results_and_zone(session, actor, consent_id, settings=settings)
    content = to_csv(found, zone)
    # After the access checks passed, and committed before a byte of the file leaves.
    async with session.begin():
        await audit.record(
            session,
            municipality_id=actor.municipality_id,
            actor=audit.AuditActor.person(actor.person_id),
            action="consent.export",
            target_kind="consent_request",
            target_id=found.consent_id,
            detail={"version": found.version, "rows": len(found.children)},
        )
    return content, file_name(found)
