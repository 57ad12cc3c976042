"""online payments: provider_checkouts, provider_events; bank_transactions.bank_file_id may be NULL

A payment an online provider confirmed is booked as a bank transaction of its own, with no bank file.

Revision ID: 0012_provider
Revises: 0011_sepa
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dunning.store.schema

revision = "0012_provider"
down_revision = "0011_sepa"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("bank_transactions", schema=None) as batch_op:
        batch_op.alter_column("bank_file_id", existing_type=_ID, nullable=True)
    op.create_table(
        "provider_checkouts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("checkout_id", sa.String(length=200), nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("amount", dunning.store.schema.Amount(precision=20, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payment_id", sa.String(length=200), nullable=True),
        sa.Column("transaction_id", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_provider_checkouts_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["bank_transactions.id"],
            name=op.f("fk_provider_checkouts_transaction_id_bank_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_checkouts")),
        sa.UniqueConstraint("checkout_id", name=op.f("uq_provider_checkouts_checkout_id")),
    )
    with op.batch_alter_table("provider_checkouts", schema=None) as batch_op:
        batch_op.create_index("ix_provider_checkouts_case", ["case_id"], unique=False)
    op.create_table(
        "provider_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("checkout_id", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_events")),
        sa.UniqueConstraint("provider", "event_id", name="uq_provider_events_provider_event"),
    )


def downgrade() -> None:
    op.drop_table("provider_events")
    with op.batch_alter_table("provider_checkouts", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_checkouts_case")
    op.drop_table("provider_checkouts")
    with op.batch_alter_table("bank_transactions", schema=None) as batch_op:
        batch_op.alter_column("bank_file_id", existing_type=_ID, nullable=False)
