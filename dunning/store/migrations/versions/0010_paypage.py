"""page_visits: each opening of the pay page, with its time and the medium the link came by

Revision ID: 0010_paypage
Revises: 0009_plans
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_paypage"
down_revision = "0009_plans"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "page_visits",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("medium", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_page_visits_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_visits")),
    )
    with op.batch_alter_table("page_visits", schema=None) as batch_op:
        batch_op.create_index("ix_page_visits_case", ["case_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("page_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_page_visits_case")
    op.drop_table("page_visits")
