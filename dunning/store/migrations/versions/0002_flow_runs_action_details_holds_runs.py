"""flow runs: action details, holds, runs

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index("ix_runs_run_date", ["run_date"], unique=False)

    op.create_table(
        "holds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_holds_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
        sa.UniqueConstraint("source", name=op.f("uq_holds_source")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index("ix_holds_case", ["case_id"], unique=False)

    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flow", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("flow_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cycle", sa.Integer(), nullable=False, server_default=sa.text("1")))
        batch_op.add_column(sa.Column("fallback_depth", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch_op.add_column(sa.Column("contact", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("replaces", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("outcome_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.JSON(), nullable=True))
        batch_op.create_index("ix_actions_run_date", ["run_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_index("ix_actions_run_date")
        batch_op.drop_column("detail")
        batch_op.drop_column("outcome_on")
        batch_op.drop_column("replaces")
        batch_op.drop_column("contact")
        batch_op.drop_column("fallback_depth")
        batch_op.drop_column("cycle")
        batch_op.drop_column("flow_version")
        batch_op.drop_column("flow")

    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_case")

    op.drop_table("holds")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_run_date")

    op.drop_table("runs")
