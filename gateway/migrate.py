"""Run the Alembic migrations that ship in the ``migrations`` package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

import migrations
from gateway.orm import UTCDateTime


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the shipped migrations and this database."""
    # __path__ works for a regular package and for an editable install alike.
    folder = Path(next(iter(migrations.__path__)))
    config = Config(str(folder / "alembic.ini"))
    config.set_main_option("script_location", str(folder))
    config.set_main_option("version_locations", str(folder / "versions"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the schema down to ``revision`` (``base`` removes every table)."""
    command.downgrade(alembic_config(database_url), revision)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render the shared column types so that migrations never import gateway code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and obj.__class__.__name__ == "JSON" and obj._variant_mapping:
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False
