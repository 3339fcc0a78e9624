"""The two statements whose SQL differs by dialect: "id in this big set" and upserts.

``among(column, ids, session)`` filters by a list of ids bound as **one** parameter,
so a planning query for 100 000 people is still one round trip and never meets a bind
limit (SQLite takes at most 32 766 variables, asyncpg 32 767): PostgreSQL gets
``column = ANY($1::uuid[])``, SQLite ``column IN (SELECT value FROM json_each(?))``
with the ids as a JSON array of the 32-digit hex form SQLAlchemy stores ``Uuid`` in.

``upsert(model, session)`` is ``INSERT … ON CONFLICT``, which both engines speak
(SQLite since 3.24, RETURNING since 3.35); the caller adds
``.on_conflict_do_update(index_elements=…, set_=…)``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Uuid, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute


def dialect_name(session: AsyncSession) -> str:
    """``postgresql`` or ``sqlite``: the engine the session talks to."""
    return session.get_bind().dialect.name


def among(
    column: ColumnElement[uuid.UUID] | QueryableAttribute[uuid.UUID],
    ids: Collection[uuid.UUID],
    session: AsyncSession,
) -> ColumnElement[bool]:
    """``column`` is one of ``ids``, with the whole list bound as a single parameter."""
    if dialect_name(session) == "postgresql":
        array = bindparam("ids", list(ids), type_=postgresql.ARRAY(Uuid()), unique=True)
        return column == any_(array)
    listed: BindParameter[str] = bindparam(
        "ids", json.dumps([value.hex for value in ids]), unique=True
    )
    values = func.json_each(listed).table_valued("value")
    return column.in_(select(values.c.value))


def upsert(model: Any, session: AsyncSession) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` into ``model`` that can take ``on_conflict_do_update`` on this engine."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
