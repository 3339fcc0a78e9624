"""consents and daycare notices

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:58:33.250818
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=True),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("answer_rule", sa.String(length=8), nullable=False),
        sa.Column(
            "options", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "reminder_offsets",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("pupils_from_age", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "answer_rule IN ('any', 'all')", name=op.f("ck_consent_requests_answer_rule")
        ),
        sa.CheckConstraint(
            "kind IN ('consent', 'permission')", name=op.f("ck_consent_requests_kind")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_consent_requests_created_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_consent_requests_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_consent_requests_municipality_id_municipalities"),
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_consent_requests_thread_id_threads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_requests")),
        sa.UniqueConstraint(
            "municipality_id",
            "thread_id",
            name=op.f("uq_consent_requests_municipality_id_thread_id"),
        ),
    )
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_requests_municipality_id_institution_id_deadline"),
            ["municipality_id", "institution_id", "deadline"],
            unique=False,
        )

    op.create_table(
        "daycare_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=False),
        sa.Column("picked_up_by", sa.String(length=200), nullable=True),
        sa.Column("pickup_time", sa.String(length=5), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("thread_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('sick', 'off', 'picked_up_by')", name=op.f("ck_daycare_notices_kind")
        ),
        sa.CheckConstraint("to_date >= from_date", name=op.f("ck_daycare_notices_dates")),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["people.id"],
            name=op.f("fk_daycare_notices_acknowledged_by_people"),
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["people.id"], name=op.f("fk_daycare_notices_child_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_daycare_notices_created_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_daycare_notices_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_daycare_notices_municipality_id_municipalities"),
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_daycare_notices_thread_id_threads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daycare_notices")),
    )
    with op.batch_alter_table("daycare_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_daycare_notices_municipality_id_child_id_from_date"),
            ["municipality_id", "child_id", "from_date"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_daycare_notices_municipality_id_institution_id_from_date_to_date"),
            ["municipality_id", "institution_id", "from_date", "to_date"],
            unique=False,
        )

    op.create_table(
        "consent_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("answered_by", sa.Uuid(), nullable=False),
        sa.Column("option", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('api', 'email_link')", name=op.f("ck_consent_answers_channel")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["people.id"], name=op.f("fk_consent_answers_answered_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["people.id"], name=op.f("fk_consent_answers_child_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_consent_answers_municipality_id_municipalities"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_requests.id"],
            name=op.f("fk_consent_answers_request_id_consent_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_answers")),
    )
    with op.batch_alter_table("consent_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_answers_municipality_id_request_id_child_id_created_at"),
            ["municipality_id", "request_id", "child_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "consent_children",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["people.id"], name=op.f("fk_consent_children_child_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_consent_children_municipality_id_municipalities"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_requests.id"],
            name=op.f("fk_consent_children_request_id_consent_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_children")),
        sa.UniqueConstraint(
            "municipality_id",
            "request_id",
            "child_id",
            name=op.f("uq_consent_children_municipality_id_request_id_child_id"),
        ),
    )
    op.create_table(
        "consent_reminder_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("reminded", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_consent_reminder_runs_municipality_id_municipalities"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_requests.id"],
            name=op.f("fk_consent_reminder_runs_request_id_consent_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_reminder_runs")),
        sa.UniqueConstraint(
            "municipality_id",
            "request_id",
            "round",
            name=op.f("uq_consent_reminder_runs_municipality_id_request_id_round"),
        ),
    )
    op.create_table(
        "consent_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("question_html", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_consent_versions_created_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_consent_versions_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_consent_versions_municipality_id_municipalities"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_requests.id"],
            name=op.f("fk_consent_versions_request_id_consent_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_versions")),
        sa.UniqueConstraint(
            "municipality_id",
            "request_id",
            "version",
            name=op.f("uq_consent_versions_municipality_id_request_id_version"),
        ),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("round", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.drop_constraint(
            batch_op.f("uq_deliveries_municipality_id_message_id_person_id_channel_kind"),
            type_="unique",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_deliveries_key"),
            ["municipality_id", "message_id", "person_id", "channel", "kind", "round"],
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_deliveries_key"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_deliveries_municipality_id_message_id_person_id_channel_kind"),
            ["municipality_id", "message_id", "person_id", "channel", "kind"],
        )
        batch_op.drop_column("round")

    op.drop_table("consent_versions")
    op.drop_table("consent_reminder_runs")
    op.drop_table("consent_children")
    with op.batch_alter_table("consent_answers", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_consent_answers_municipality_id_request_id_child_id_created_at")
        )

    op.drop_table("consent_answers")
    with op.batch_alter_table("daycare_notices", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_daycare_notices_municipality_id_institution_id_from_date_to_date")
        )
        batch_op.drop_index(batch_op.f("ix_daycare_notices_municipality_id_child_id_from_date"))

    op.drop_table("daycare_notices")
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_consent_requests_municipality_id_institution_id_deadline")
        )

    op.drop_table("consent_requests")
