"""``budstikke api-key …`` (systems' API keys) and ``budstikke token`` (demo dev tokens)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.apikeys import (
    ApiKeyInfo,
    create_api_key,
    list_api_keys,
    parse_permissions,
    revoke_api_key,
)
from gateway.auth.devtokens import (
    MAX_HOURS,
    find_person,
    issue_dev_token,
    require_dev_tokens,
    token_subject,
)
from gateway.config import load_settings
from gateway.db import create_engine, session_factory
from gateway.errors import GatewayError

T = TypeVar("T")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on the configured database."""

    async def go() -> T:
        engine = create_engine(load_settings(os.environ).database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except GatewayError as exc:
        raise click.ClickException(exc.detail) from exc
    except DBAPIError as exc:
        raise click.ClickException(
            f"database error ({type(exc.orig).__name__}: {exc.orig}); "
            "is the schema up to date? run `budstikke migrate`"
        ) from exc


def _permissions(_: click.Context, __: click.Parameter, value: str) -> list[str]:
    names = value.split(",")
    try:
        parse_permissions(names)
    except GatewayError as exc:
        raise click.BadParameter(exc.detail) from exc
    return names


@click.group(name="api-key")
def api_key() -> None:
    """Manage API keys for systems (shown once, stored hashed)."""


@api_key.command()
@click.option("--municipality", "municipality_code", required=True, help="Municipality code.")
@click.option("--name", required=True, help="Which system holds the key, for people reading lists.")
@click.option(
    "--permissions",
    required=True,
    callback=_permissions,
    help="Comma-separated: send, roster, report, admin (audit log, export, erasure).",
)
@click.option(
    "--institution",
    "institutions",
    multiple=True,
    metavar="SOURCE_ID",
    help="Limit the key to this institution (repeat for several). Default: all of them.",
)
def create(
    municipality_code: str, name: str, permissions: list[str], institutions: tuple[str, ...]
) -> None:
    """Create a key and print it; it cannot be shown again."""
    created = _in_transaction(
        lambda session: create_api_key(
            session,
            municipality_code=municipality_code,
            name=name,
            permissions=permissions,
            institutions=institutions,
        )
    )
    click.echo(created.key)
    click.echo(
        f"API key {created.info.prefix} ({', '.join(created.info.permissions)}; "
        f"{_scope(created.info)}) for {created.info.municipality_code}. "
        "Store it now: it is kept only as a hash and cannot be shown again.",
        err=True,
    )


@api_key.command(name="list")
@click.option("--municipality", "municipality_code", help="Only this municipality's keys.")
def list_(municipality_code: str | None) -> None:
    """List keys: prefix, name, permissions, scope, created, last used, revoked."""
    keys = _in_transaction(
        lambda session: list_api_keys(session, municipality_code=municipality_code)
    )
    if not keys:
        click.echo("no API keys", err=True)
        return
    rows = [
        (
            key.prefix,
            key.municipality_code,
            key.name,
            ",".join(key.permissions),
            _scope(key),
            _when(key.created_at),
            _when(key.last_used_at),
            _when(key.revoked_at),
        )
        for key in keys
    ]
    header = ("PREFIX", "MUNICIPALITY", "NAME", "PERMISSIONS", "SCOPE", "CREATED", "LAST USED")
    table = [(*header, "REVOKED"), *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header) + 1)]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@api_key.command()
@click.argument("prefix")
def revoke(prefix: str) -> None:
    """Revoke the key with PREFIX at once; requests with it get 401 from now on."""
    info = _in_transaction(lambda session: revoke_api_key(session, prefix))
    click.echo(f"revoked {info.prefix} ({info.name}) at {_when(info.revoked_at)}")


def _scope(key: ApiKeyInfo) -> str:
    return ",".join(key.institutions) if key.institutions else "whole municipality"


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


@click.command(name="token")
@click.argument("person")
@click.option(
    "--acr",
    default="substantial",
    show_default=True,
    metavar="LEVEL",
    help="Assurance level in the token (low, substantial, high; sensitive threads need "
    "substantial by default). Give '' for none.",
)
@click.option(
    "--hours",
    default=8.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True, max=MAX_HOURS),
    help="How long the token is valid.",
)
@click.option("--municipality", "municipality_code", help="Only look in this municipality.")
def token(person: str, acr: str, hours: float, municipality_code: str | None) -> None:
    """Print a dev token for PERSON (source id, UNI-Login or gateway id): demo mode only.

    Like `budstikke run`, it assumes demo mode unless BUDSTIKKE_DEMO says otherwise; it
    refuses when demo mode is off or an identity provider (BUDSTIKKE_AUTH_JWKS_URL) is
    configured, since the gateway would not accept the token then.
    """
    os.environ.setdefault("BUDSTIKKE_DEMO", "true")
    try:
        settings = load_settings(os.environ)
        require_dev_tokens(settings)
    except GatewayError as exc:
        raise click.ClickException(exc.detail) from exc
    found, code = _in_transaction(
        lambda session: find_person(session, person, municipality_code=municipality_code)
    )
    try:
        printed = issue_dev_token(
            settings,
            subject=token_subject(settings, found),
            municipality_code=code,
            acr=acr or None,
            hours=hours,
        )
    except GatewayError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(printed)
    click.echo(
        f"dev token for {found.given_name} {found.family_name} ({found.kind} {found.source_id}, "
        f"municipality {code}, acr {acr or 'none'}), valid {hours:g} h. "
        f'Use: curl -H "Authorization: Bearer $TOKEN" …/v1/me',
        err=True,
    )
