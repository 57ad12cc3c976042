"""plan_credits: what each bank payment paid of each instalment of a payment plan

Revision ID: 0014_planbot
Revises: 0013_contact
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dunning.store.schema

revision = "0014_planbot"
down_revision = "0013_contact"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plan_credits",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("plan_id", _ID, nullable=False),
        sa.Column("transaction_id", _ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("amount", dunning.store.schema.Amount(precision=20, scale=4), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("reversed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["payment_plans.id"], name=op.f("fk_plan_credits_plan_id_payment_plans")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["bank_transactions.id"], name=op.f("fk_plan_credits_transaction_id_bank_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_credits")),
        sa.UniqueConstraint("plan_id", "transaction_id", "number", name=op.f("uq_plan_credits_plan_id")),
    )


def downgrade() -> None:
    op.drop_table("plan_credits")
