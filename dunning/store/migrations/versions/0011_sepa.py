"""sepa_mandates, sepa_files, sepa_collections: direct debit for plans, each instalment collected once

Revision ID: 0011_sepa
Revises: 0010_paypage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dunning.store.schema

revision = "0011_sepa"
down_revision = "0010_paypage"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _amount() -> dunning.store.schema.Amount:
    return dunning.store.schema.Amount(precision=20, scale=4)


def upgrade() -> None:
    op.create_table(
        "sepa_mandates",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=35), nullable=False),
        sa.Column("plan_key", sa.String(length=60), nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("debtor_name", sa.String(length=140), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("text_version", sa.String(length=40), nullable=False),
        sa.Column("consent_source", sa.String(length=40), nullable=False),
        sa.Column("captured_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_sepa_mandates_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sepa_mandates")),
        sa.UniqueConstraint("reference", name=op.f("uq_sepa_mandates_reference")),
        sa.UniqueConstraint("plan_key", name=op.f("uq_sepa_mandates_plan_key")),
    )
    op.create_table(
        "sepa_files",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("control_sum", _amount(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("delivered_to", sa.String(length=300), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sepa_files")),
        sa.UniqueConstraint("name", name=op.f("uq_sepa_files_name")),
    )
    op.create_table(
        "sepa_collections",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("file_id", _ID, nullable=False),
        sa.Column("mandate_reference", sa.String(length=35), nullable=False),
        sa.Column("plan_key", sa.String(length=60), nullable=False),
        sa.Column("instalment", sa.Integer(), nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("amount", _amount(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sequence", sa.String(length=4), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("return_reason", sa.String(length=10), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("return_transaction", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["sepa_files.id"], name=op.f("fk_sepa_collections_file_id_sepa_files")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_sepa_collections_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sepa_collections")),
        sa.UniqueConstraint("end_to_end_id", name=op.f("uq_sepa_collections_end_to_end_id")),
        sa.UniqueConstraint("plan_key", "instalment", name=op.f("uq_sepa_collections_plan_key")),
    )
    with op.batch_alter_table("sepa_collections", schema=None) as batch_op:
        batch_op.create_index("ix_sepa_collections_mandate", ["mandate_reference"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sepa_collections", schema=None) as batch_op:
        batch_op.drop_index("ix_sepa_collections_mandate")
    op.drop_table("sepa_collections")
    op.drop_table("sepa_files")
    op.drop_table("sepa_mandates")
