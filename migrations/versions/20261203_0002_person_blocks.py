"""person blocks

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 10:35:26.129537
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_blocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("blocked_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["blocked_id"], ["people.id"], name=op.f("fk_person_blocks_blocked_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_person_blocks_municipality_id_municipalities"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_person_blocks_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_blocks")),
        sa.UniqueConstraint(
            "municipality_id",
            "person_id",
            "blocked_id",
            name=op.f("uq_person_blocks_municipality_id_person_id_blocked_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("person_blocks")
