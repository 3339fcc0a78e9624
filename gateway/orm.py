"""The declarative base and the column types every domain's models share."""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so Alembic migrations match the models on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always returned time-zone aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def new_id() -> uuid.UUID:
    """A new primary key: a UUIDv7 (RFC 9562), time-ordered so that index inserts append.

    Random UUIDv4 keys scatter every insert across the primary-key index; at roster
    scale that made bulk writes several times slower on both engines.
    """
    millis = time.time_ns() // 1_000_000
    value = (millis & 0xFFFF_FFFF_FFFF) << 80 | secrets.randbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return uuid.UUID(int=value)


def new_ids(count: int) -> list[uuid.UUID]:
    """``count`` keys as :func:`new_id` makes them, from one read of the random source.

    For a plan of a hundred thousand rows, one ``secrets.randbits`` call per key was a
    fifth of the planning time.
    """
    prefix = ((time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF) << 80
    fixed = 0x7 << 76 | 0x2 << 62  # version 7, RFC 9562 variant
    clear = ~(0xF << 76 | 0x3 << 62)
    randomness = secrets.token_bytes(10 * count)
    return [
        uuid.UUID(int=(prefix | int.from_bytes(randomness[i : i + 10])) & clear | fixed)
        for i in range(0, 10 * count, 10)
    ]


#: :func:`new_id` made by PostgreSQL, for rows an ``INSERT … SELECT`` writes: a random
#: UUID with its first 48 bits replaced by the Unix time in milliseconds, version 7.
NEW_ID_POSTGRESQL = (
    "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
    "substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) "
    "from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid"
)


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Base of every ORM model; its metadata is what migrations must match."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
    }


class Timestamps:
    """``created_at`` and ``updated_at`` columns, set by the database and by writers."""

    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.current_timestamp()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=func.current_timestamp()
    )
