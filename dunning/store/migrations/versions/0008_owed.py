"""review_items.kind: a payment to apply (``payment``) or a case's credit to refund or keep (``refund``)

Revision ID: 0008_owed
Revises: 0007

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_owed"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="payment"))
    op.create_index("ix_review_items_case_kind", "review_items", ["case_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_review_items_case_kind", table_name="review_items")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_column("kind")
