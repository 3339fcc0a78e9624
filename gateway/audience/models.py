"""Person-to-person blocks: a person who must not be able to start threads with another."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.orm import Base, Timestamps, new_id


class PersonBlock(Base, Timestamps):
    """``person_id`` may not be reached by ``blocked_id`` (and vice versa when ``mutual``).

    Set by staff (e.g. a court order between parents) or by the person themself.
    """

    __tablename__ = "person_blocks"
    __table_args__ = (UniqueConstraint("municipality_id", "person_id", "blocked_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipalities.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    blocked_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    reason: Mapped[str | None] = mapped_column(String(200))
