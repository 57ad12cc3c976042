"""paylink_revocations: the cases whose pay links are revoked (one primary-key lookup per page request)

Revision ID: 0015_revoke
Revises: 0014_planbot
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_revoke"
down_revision = "0014_planbot"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "paylink_revocations",
        sa.Column("case_id", _ID, autoincrement=False, nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_paylink_revocations_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_paylink_revocations")),
    )


def downgrade() -> None:
    op.drop_table("paylink_revocations")
