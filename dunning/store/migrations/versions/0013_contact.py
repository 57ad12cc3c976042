"""debtor_contacts, contact_codes, contact_consents: contact details confirmed on the pay page

Revision ID: 0013_contact
Revises: 0012_provider
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_contact"
down_revision = "0012_provider"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "debtor_contacts",
        sa.Column("debtor_id", _ID, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_invalid", sa.Boolean(), nullable=False),
        sa.Column("email_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("phone_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("preferred_channel", sa.String(length=10), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["debtor_id"], ["debtors.id"], name=op.f("fk_debtor_contacts_debtor_id_debtors")),
        sa.PrimaryKeyConstraint("debtor_id", name=op.f("pk_debtor_contacts")),
    )
    op.create_table(
        "contact_codes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("preferred_channel", sa.String(length=10), nullable=True),
        sa.Column("text_version", sa.String(length=40), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_contact_codes_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_codes")),
    )
    with op.batch_alter_table("contact_codes", schema=None) as batch_op:
        batch_op.create_index("ix_contact_codes_case", ["case_id", "id"], unique=False)
    op.create_table(
        "contact_consents",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("debtor_id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("text_version", sa.String(length=40), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_contact_consents_case_id_cases")),
        sa.ForeignKeyConstraint(["debtor_id"], ["debtors.id"], name=op.f("fk_contact_consents_debtor_id_debtors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_consents")),
    )
    with op.batch_alter_table("contact_consents", schema=None) as batch_op:
        batch_op.create_index("ix_contact_consents_debtor", ["debtor_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_consents_debtor")
    op.drop_table("contact_consents")
    with op.batch_alter_table("contact_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_codes_case")
    op.drop_table("contact_codes")
    op.drop_table("debtor_contacts")
