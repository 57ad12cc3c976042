"""paypage_prepared: the landing pages of pay links prepared for a day (one row read per opening)

Revision ID: 0016_prepared
Revises: 0015_revoke
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_prepared"
down_revision = "0015_revoke"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "paypage_prepared",
        sa.Column("page_key", sa.String(length=64), nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stamp", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("html", sa.LargeBinary(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_paypage_prepared_case_id_cases")),
        sa.PrimaryKeyConstraint("page_key", name=op.f("pk_paypage_prepared")),
    )
    op.create_index("ix_paypage_prepared_case", "paypage_prepared", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_paypage_prepared_case", table_name="paypage_prepared")
    op.drop_table("paypage_prepared")
