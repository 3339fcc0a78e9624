"""How ``budstikke`` commands reach the database: one session, errors as messages."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings, load_settings
from gateway.db import create_engine, session_factory
from gateway.errors import GatewayError, InvalidInput

T = TypeVar("T")


def run_with_session(work: Callable[[Settings, AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` with the settings and a fresh session (not in a transaction) on the
    configured database; a gateway or database error ends the command with its message."""

    async def go() -> T:
        settings = load_settings(os.environ)
        engine = create_engine(settings.database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                return await work(settings, session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except InvalidInput as exc:
        raise click.ClickException("; ".join([exc.detail, *exc.errors])) from exc
    except GatewayError as exc:
        raise click.ClickException(exc.detail) from exc
    except DBAPIError as exc:
        raise click.ClickException(
            f"database error ({type(exc.orig).__name__}: {exc.orig}); "
            "is the schema up to date? run `budstikke migrate`"
        ) from exc
