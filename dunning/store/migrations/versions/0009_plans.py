"""payment_plans and plan_instalments: payment arrangements, each instalment with its own reference

Revision ID: 0009_plans
Revises: 0008_owed

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dunning.store.schema

revision = "0009_plans"
down_revision = "0008_owed"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _amount() -> dunning.store.schema.Amount:
    return dunning.store.schema.Amount(precision=20, scale=4)


def upgrade() -> None:
    op.create_table(
        "payment_plans",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("plan_key", sa.String(length=60), nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("case_reference", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal", _amount(), nullable=False),
        sa.Column("costs", _amount(), nullable=False),
        sa.Column("interest", _amount(), nullable=False),
        sa.Column("costs_frozen", sa.Boolean(), nullable=False),
        sa.Column("interest_policy", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_via", sa.String(length=20), nullable=False),
        sa.Column("terms_version", sa.String(length=40), nullable=False),
        sa.Column("pack", sa.String(length=40), nullable=False),
        sa.Column("deferrals_used", sa.Integer(), nullable=False),
        sa.Column("breach_notice_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("ogm_prefix", sa.String(length=10), nullable=False),
        sa.Column("due_day_explanation", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_payment_plans_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_plans")),
        sa.UniqueConstraint("plan_key", name=op.f("uq_payment_plans_plan_key")),
    )
    with op.batch_alter_table("payment_plans", schema=None) as batch_op:
        batch_op.create_index("ix_payment_plans_case", ["case_id"], unique=False)
        batch_op.create_index("ix_payment_plans_status", ["status"], unique=False)
    op.create_table(
        "plan_instalments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("plan_id", _ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", _amount(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("paid", _amount(), nullable=False),
        sa.Column("waived", _amount(), nullable=False),
        sa.Column("payments", sa.JSON(), nullable=False),
        sa.Column("deferred_to", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["payment_plans.id"], name=op.f("fk_plan_instalments_plan_id_payment_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_instalments")),
        sa.UniqueConstraint("plan_id", "number", name=op.f("uq_plan_instalments_plan_id")),
    )
    with op.batch_alter_table("plan_instalments", schema=None) as batch_op:
        batch_op.create_index("ix_plan_instalments_reference", ["reference"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_instalments", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_instalments_reference")
    op.drop_table("plan_instalments")
    with op.batch_alter_table("payment_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_plans_status")
        batch_op.drop_index("ix_payment_plans_case")
    op.drop_table("payment_plans")
