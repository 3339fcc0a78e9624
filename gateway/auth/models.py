"""Credentials held by the gateway itself: API keys for systems."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.orm import Base, JSONType, Timestamps, UTCDateTime, new_id


class ApiKey(Base, Timestamps):
    """A system's API key: shown once, stored as a SHA-256 hash of its secret part.

    ``institution_ids`` narrows the key to some institutions of the municipality
    (empty: the whole municipality); ``permissions`` lists ``send``, ``roster``, ``report``.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index(None, "municipality_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    permissions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    institution_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
