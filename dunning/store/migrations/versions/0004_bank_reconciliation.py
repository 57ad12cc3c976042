"""bank reconciliation: transaction aliases (dedup across camt.052/053/054) and allocation items

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bank_transaction_aliases",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("alias", sa.String(length=300), nullable=False),
        sa.Column("transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["bank_transactions.id"],
            name=op.f("fk_bank_transaction_aliases_transaction_id_bank_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_transaction_aliases")),
        sa.UniqueConstraint("alias", name=op.f("uq_bank_transaction_aliases_alias")),
    )
    with op.batch_alter_table("bank_transaction_aliases", schema=None) as batch_op:
        batch_op.create_index("ix_bank_transaction_aliases_transaction", ["transaction_id"], unique=False)
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item", sa.String(length=100), nullable=True))
    with op.batch_alter_table("bank_transactions", schema=None) as batch_op:
        batch_op.create_index("ix_bank_transactions_status", ["status"], unique=False)
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index("ix_review_items_status", ["status"], unique=False)
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index("ix_allocations_case", ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_allocations_case")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_review_items_status")
    with op.batch_alter_table("bank_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_transactions_status")
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_column("item")
    with op.batch_alter_table("bank_transaction_aliases", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_transaction_aliases_transaction")
    op.drop_table("bank_transaction_aliases")
