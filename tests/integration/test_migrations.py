"""Migrations are the schema's source of truth: they must give exactly the models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import migrate
from gateway.migrate import render_item
from gateway.models import Base


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_item": render_item}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_head_matches_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        differences = await conn.run_sync(_diff)
    assert differences == []


async def test_every_model_table_exists(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= tables


async def test_downgrade_base_then_upgrade_again(database_url: str, engine: AsyncEngine) -> None:
    await asyncio.to_thread(migrate.downgrade, database_url, "base")
    async with engine.connect() as conn:
        left = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert left <= {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, database_url)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
