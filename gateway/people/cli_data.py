"""``budstikke export-person`` (right of access) and ``budstikke erase-person`` (erasure)."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path

import click
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit import AuditActor
from gateway.cli_session import run_with_session
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.people.erasure import erase_person
from gateway.people.export import export_person
from gateway.roster.models import Municipality, Person


async def find_any_person(
    session: AsyncSession, reference: str, *, municipality_code: str | None
) -> tuple[uuid.UUID, uuid.UUID, str]:
    """(municipality id, person id, source id) for a source id, UNI-Login or gateway id.

    The lookup of ``budstikke token``, but inactive people count too: an export is owed
    for them as well, and a second erasure must find an erased person by gateway id.
    """
    named: list[ColumnElement[bool]] = [
        Person.source_id == reference,
        Person.uni_login == reference,
    ]
    with contextlib.suppress(ValueError):  # not a gateway id
        named.append(Person.id == uuid.UUID(reference))
    query = (
        select(Person.municipality_id, Person.id, Person.source_id, Municipality.code)
        .join(Municipality, Municipality.id == Person.municipality_id)
        .where(or_(*named))
    )
    if municipality_code is not None:
        query = query.where(Municipality.code == municipality_code)
    async with session.begin():
        rows = (await session.execute(query.limit(10))).all()
    where = f" in municipality {municipality_code}" if municipality_code else ""
    if not rows:
        raise ConfigError(f"no person {reference!r}{where} (give a source id, UNI-Login or id)")
    if len(rows) > 1:
        places = ", ".join(sorted({f"{source} in {code}" for _, _, source, code in rows}))
        raise ConfigError(f"{reference!r} names several people ({places}); add --municipality")
    municipality_id, person_id, source_id, _ = rows[0]
    return municipality_id, person_id, source_id


@click.command(name="export-person")
@click.argument("person")
@click.option("--municipality", "municipality_code", help="Only look in this municipality.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the JSON here (mode 0600) instead of to standard output.",
)
def export_person_command(person: str, municipality_code: str | None, out: Path | None) -> None:
    """Write everything held about PERSON (source id, UNI-Login or gateway id) as JSON."""

    async def work(_: Settings, session: AsyncSession) -> dict[str, object]:
        municipality_id, person_id, _source = await find_any_person(
            session, person, municipality_code=municipality_code
        )
        return await export_person(session, municipality_id, person_id, by=AuditActor.cli())

    held = run_with_session(work)
    text = json.dumps(held, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    # The export is personal data: readable by the operator only.
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    click.echo(f"wrote the export of {held['person']['id']} to {out}", err=True)  # type: ignore[index]


@click.command(name="erase-person")
@click.argument("person")
@click.option("--municipality", "municipality_code", help="Only look in this municipality.")
@click.option("--yes", is_flag=True, help="Confirm: the erasure cannot be undone.")
def erase_person_command(person: str, municipality_code: str | None, yes: bool) -> None:
    """Anonymise PERSON everywhere (source id, UNI-Login or gateway id); needs --yes.

    Threads stay readable for the others with the person shown as "Slettet person" and
    their messages replaced by a marker; see docs/data-control.md for what is kept.
    """
    if not yes:
        raise click.UsageError("erasure cannot be undone: add --yes to go ahead")

    async def work(settings: Settings, session: AsyncSession) -> str:
        municipality_id, person_id, source_id = await find_any_person(
            session, person, municipality_code=municipality_code
        )
        report = await erase_person(
            session, settings, municipality_id, person_id, by=AuditActor.cli()
        )
        return (
            f"erased {source_id} (id {person_id}): {report.messages} messages and "
            f"{report.threads} subjects replaced, {report.attachments} files deleted, "
            f"{report.contact_points} addresses and {report.push_subscriptions} push "
            f"subscriptions deleted, {report.deliveries} deliveries unaddressed; "
            f"{report.consent_answers_kept} consent answers kept without identity"
        )

    click.echo(run_with_session(work))


__all__ = ("erase_person_command", "export_person_command", "find_any_person")
