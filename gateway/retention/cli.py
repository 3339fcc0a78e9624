"""``budstikke retention purge`` and ``budstikke retention hold``: retention from the server."""

from __future__ import annotations

import json

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit import AuditActor
from gateway.cli_session import run_with_session
from gateway.config import Settings
from gateway.errors import NotFound
from gateway.orm import utcnow
from gateway.retention.hold import find_institution, set_hold
from gateway.retention.service import PurgeReport, purge_until_done
from gateway.roster.models import Municipality


@click.group(name="retention")
def retention() -> None:
    """Delete what is past retention; put institutions under legal hold."""


@retention.command(name="purge")
@click.option("--municipality", "municipality_code", help="Only this municipality (code).")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
def purge_command(municipality_code: str | None, dry_run: bool) -> None:
    """Delete the threads past retention (every municipality unless --municipality).

    Runs until nothing past retention is left; each bounded run is one transaction and
    one audit event. Prints one JSON line per municipality.
    """

    async def work(settings: Settings, session: AsyncSession) -> list[tuple[str, PurgeReport]]:
        statement = select(Municipality.id, Municipality.code).order_by(Municipality.code)
        if municipality_code is not None:
            statement = statement.where(Municipality.code == municipality_code)
        async with session.begin():
            found = (await session.execute(statement)).all()
        if not found:
            raise NotFound(f"no municipality {municipality_code!r}")
        done: list[tuple[str, PurgeReport]] = []
        for municipality_id, code in found:
            report = await purge_until_done(
                session, settings, municipality_id, dry_run=dry_run, by=AuditActor.cli()
            )
            done.append((code, report))
        return done

    for code, report in run_with_session(work):
        click.echo(json.dumps({"municipality": code, **report.counts()}, sort_keys=True))


@retention.command(name="hold")
@click.argument("institution")
@click.option("--on/--off", "on", required=True, help="Put under legal hold, or lift it.")
@click.option("--reason", help="Why (required with --on): the case or complaint it is for.")
@click.option("--municipality", "municipality_code", help="Only look in this municipality.")
def hold_command(
    institution: str, on: bool, reason: str | None, municipality_code: str | None
) -> None:
    """Put INSTITUTION (source id or gateway id) under legal hold, or lift the hold."""

    async def work(_: Settings, session: AsyncSession) -> str:
        municipality_id, institution_id = await find_institution(
            session, institution, municipality_code=municipality_code
        )
        state = await set_hold(
            session,
            municipality_id,
            institution_id,
            on=on,
            reason=reason,
            by=AuditActor.cli(),
            now=utcnow(),
        )
        verb = "is under legal hold" if state.active else "is not under legal hold"
        return f"{state.institution_name} ({state.institution_id}) {verb}"

    click.echo(run_with_session(work))
