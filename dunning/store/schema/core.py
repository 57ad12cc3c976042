"""The tables of the foundation and the first stages: debtors, cases, invoices, their timeline
and imports; actions, holds, runs, documents, deliveries; bank files, transactions, their aliases,
allocations and the review queue (migrations 0001-0005)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dunning.store.schema.base import Amount, Id, metadata

debtors = Table(
    "debtors",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("external_id", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("debtor_type", String(10), nullable=False, default="person"),
    Column("language", String(2)),
    Column("street", String(200)),
    Column("postal_code", String(20)),
    Column("city", String(100)),
    Column("country", String(2)),
    Column("email", String(254)),
    Column("email_invalid", Boolean, nullable=False, default=False),
    Column("phone", String(20)),
    Column("iban", String(34)),
    Column("segment", String(50)),
    Column("created_on", Date, nullable=False),
    Column("updated_on", Date, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("debtor_id", ForeignKey("debtors.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False, default="open"),
    Column("stage", String(50), nullable=False, default="new"),
    Column("reference", String(40), unique=True),
    Column("flow", String(100)),
    Column("flow_version", Integer),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date),
    Column("close_reason", String(40)),
    Column("next_action_on", Date),
    Column("open_amount", Amount, nullable=False),
    Column("fees_amount", Amount, nullable=False),
    Column("interest_amount", Amount, nullable=False),
    Column("credit_amount", Amount, nullable=False),
    Index("ix_cases_debtor_currency", "debtor_id", "currency"),
    Index("ix_cases_status", "status"),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("external_id", String(100), nullable=False, unique=True),
    Column("debtor_id", ForeignKey("debtors.id"), nullable=False),
    Column("case_id", ForeignKey("cases.id")),
    Column("currency", String(3), nullable=False),
    Column("invoice_date", Date),
    Column("due_date", Date, nullable=False),
    Column("original_amount", Amount),
    Column("open_amount", Amount, nullable=False),
    Column("ledger_amount", Amount),  # what the last ledger snapshot said; open_amount also reflects bank payments
    Column("reference", String(40)),
    Column("description", String(500)),
    Column("status", String(20), nullable=False, default="open"),  # open | settled_outside | paid
    Column("regular_supply", Boolean),  # bills a regular-supply contract (Book XIX); NULL: not stated
    Column("closed_on", Date),
    Index("ix_invoices_debtor", "debtor_id"),
    Index("ix_invoices_case", "case_id"),
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("on_date", Date, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("invoice_id", ForeignKey("invoices.id")),
    Column("amount", Amount),
    Column("detail", JSON, nullable=False),
    Column("source", String(120), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_case_events_case", "case_id", "id"),
)

ledger_imports = Table(
    "ledger_imports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("file_name", String(500), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("warnings", Integer, nullable=False),
    Column("summary", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# --- room for the later stages: flows, channels, print, bank -----------------------------------

actions = Table(
    "actions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(300), nullable=False, unique=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("run_date", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("action", String(50), nullable=False),
    Column("channel", String(20)),
    Column("step", String(100)),
    # planned (waits for its channel) | done (no channel: fee, task, hold) | sent | delivered
    # | failed | bounced | returned | cancelled
    Column("status", String(20), nullable=False, default="planned"),
    Column("amount", Amount),
    Column("settings", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("flow", String(100)),
    Column("flow_version", Integer),
    Column("cycle", Integer, nullable=False, default=1),
    Column("fallback_depth", Integer, nullable=False, default=0),
    Column("contact", Boolean, nullable=False, default=False),
    Column("replaces", String(300)),
    Column("outcome_on", Date),
    Column("detail", JSON),
    Index("ix_actions_case", "case_id"),
    Index("ix_actions_status", "status"),
    Index("ix_actions_run_date", "run_date"),
)

holds = Table(
    "holds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("reason", Text, nullable=False),
    Column("start", Date, nullable=False),
    Column("until", Date),
    Column("released_on", Date),
    Column("source", String(300), nullable=False, unique=True),  # the action key or "manual:<id>"
    Index("ix_holds_case", "case_id"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_date", Date, nullable=False),
    Column("summary", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_runs_run_date", "run_date"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("action_id", ForeignKey("actions.id"), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("path", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("pages", Integer),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(300), nullable=False, unique=True),
    Column("action_id", ForeignKey("actions.id")),
    Column("channel", String(20), nullable=False),
    # pending (being sent) | sent | delivered | deferred (transient failure, retried) | failed | returned
    # | cancelled (deferred, then not tried again: its reminder went stale)
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("external_id", String(200)),
    Column("detail", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_deliveries_action", "action_id"),
    Index("ix_deliveries_external_id", "external_id"),  # the action token: bounces and receipts look it up
)

bank_files = Table(
    "bank_files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("file_name", String(500), nullable=False),
    Column("message", String(40)),
    Column("status", String(20), nullable=False),
    Column("summary", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

bank_transactions = Table(
    "bank_transactions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    # NULL for a payment an online provider confirmed (key ``provider:<name>:<checkout>``, migration 0011)
    Column("bank_file_id", ForeignKey("bank_files.id"), nullable=True),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("credit_debit", String(4), nullable=False),
    Column("booking_date", Date),
    Column("reference", String(40)),
    Column("remittance", Text),
    Column("status", String(20), nullable=False),  # matched | suggested | unmatched | ignored
    Column("detail", JSON, nullable=False),
)

allocations = Table(
    "allocations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("transaction_id", ForeignKey("bank_transactions.id"), nullable=False),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("invoice_id", ForeignKey("invoices.id")),
    Column("kind", String(20), nullable=False),  # principal | fee | interest | credit | write_off
    Column("amount", Amount, nullable=False),
    Column("rule", String(40), nullable=False),
    Column("reversed", Boolean, nullable=False, default=False),
    UniqueConstraint("transaction_id", "case_id", "invoice_id", "kind", name="uq_allocations_tx_target"),
)

review_items = Table(
    "review_items",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("transaction_id", ForeignKey("bank_transactions.id"), nullable=False),
    Column("case_id", ForeignKey("cases.id")),
    Column("status", String(20), nullable=False),  # open | accepted | rejected | refund | keep | ignore | cancelled
    Column("evidence", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # payment: a bank payment to apply; refund: a case's credit to refund or keep (migration 0008_owed)
    Column("kind", String(20), nullable=False, default="payment", server_default="payment"),
    Index("ix_review_items_case_kind", "case_id", "kind"),
)

# --- bank reconciliation (migration 0004) ------------------------------------------------------
# Every identity a bank transaction is known by (bank reference, UETR, TxId, the entry's reference):
# the same movement reported again (camt.052 then camt.053, camt.054 then camt.053) shares one of
# them and is recognised, so it is never booked twice (see dunning.bank.read).

bank_transaction_aliases = Table(
    "bank_transaction_aliases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alias", String(300), nullable=False, unique=True),
    Column("transaction_id", ForeignKey("bank_transactions.id"), nullable=False),
    Index("ix_bank_transaction_aliases_transaction", "transaction_id"),
)

# The matcher's item an allocation went to: an invoice number, "fees" or "interest" (so a write-off
# or a payment of costs says which cost it settled).
allocations.append_column(Column("item", String(100)))
Index("ix_allocations_case", allocations.c.case_id)
Index("ix_bank_transactions_status", bank_transactions.c.status)
Index("ix_review_items_status", review_items.c.status)
