"""``budstikke audit``: list a municipality's audit events as a table or as JSON."""

from __future__ import annotations

import datetime as dt
import uuid

import click
import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit.schemas import AuditPage
from gateway.audit.service import ACTIONS, MAX_PAGE, AuditActor, AuditFilter, read
from gateway.cli_session import run_with_session
from gateway.errors import NotFound
from gateway.roster.models import Municipality, Person

_HEADER = ("AT (UTC)", "ACTION", "ACTOR", "TARGET", "DETAIL")


def _moment(_: click.Context, __: click.Parameter, value: str | None) -> dt.datetime | None:
    """An ISO 8601 date or time; one without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("give an ISO 8601 date or time, e.g. 2026-12-03T08:00") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@click.command(name="audit")
@click.option("--municipality", "municipality_code", required=True, help="Municipality code.")
@click.option("--action", type=click.Choice(sorted(ACTIONS)), help="Only this action.")
@click.option(
    "--person",
    metavar="ID",
    help="Only events by or about this person (source id or gateway id).",
)
@click.option("--since", callback=_moment, metavar="WHEN", help="From this time (UTC if no zone).")
@click.option("--until", callback=_moment, metavar="WHEN", help="Before this time.")
@click.option(
    "--limit", default=100, show_default=True, type=click.IntRange(1, MAX_PAGE), help="At most."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
def audit(
    *,
    municipality_code: str,
    action: str | None,
    person: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """List audit events, newest first (this read is logged too, as the CLI)."""

    async def work(session: AsyncSession) -> AuditPage:
        async with session.begin():
            municipality_id = await session.scalar(
                select(Municipality.id).where(Municipality.code == municipality_code)
            )
            if municipality_id is None:
                raise NotFound(f"no municipality with code {municipality_code!r}")
            who = await _person(session, municipality_id, person) if person else None
        wanted = AuditFilter(action=action, person=who, since=since, until=until, limit=limit)
        return await read(session, municipality_id, AuditActor.cli(), wanted)

    page = run_with_session(lambda _settings, session: work(session))
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(page)).decode())
        return
    if not page.items:
        click.echo("no audit events", err=True)
        return
    rows = [
        (
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.action,
            _pair(event.actor_kind, event.actor_id),
            _pair(event.target_kind or "-", event.target_id),
            msgspec.json.encode(event.detail).decode(),
        )
        for event in page.items
    ]
    table = [_HEADER, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(_HEADER))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    if page.next_cursor:
        click.echo(f"more events: narrow with --until {rows[-1][0]} or a larger --limit", err=True)


def _pair(kind: str, id_: uuid.UUID | None) -> str:
    return f"{kind}:{id_}" if id_ else kind


async def _person(session: AsyncSession, municipality_id: uuid.UUID, given: str) -> uuid.UUID:
    try:
        return uuid.UUID(given)
    except ValueError:
        pass
    found = await session.scalar(
        select(Person.id).where(
            Person.municipality_id == municipality_id,
            or_(Person.source_id == given, Person.uni_login == given),
        )
    )
    if found is None:
        raise NotFound(f"no person {given!r} in this municipality")
    return found
