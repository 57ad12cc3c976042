"""The state store's tables (SQLAlchemy Core), the one source the migrations follow.

Amounts use :class:`Amount`: NUMERIC on PostgreSQL, exact text on SQLite (whose
NUMERIC affinity would turn them into floats). Dates are calendar dates; the
``recorded_at`` timestamps are wall-clock UTC and only say when a row was written.

Tables filled by the foundation: debtors, invoices, cases, case_events,
ledger_imports. The others (actions, documents, deliveries, bank_files,
bank_transactions, allocations, review_items) are the room later stages fill.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Amount(TypeDecorator[Decimal]):
    """An exact decimal amount: NUMERIC(20, 4) on PostgreSQL, text on SQLite."""

    impl = Numeric(20, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(20, 4, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"amounts must be Decimal, got {type(value).__name__}")
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        # PostgreSQL returns NUMERIC(20,4) with four decimals; normalise to two where exact.
        result = Decimal(value)
        two = result.quantize(Decimal("0.01"))
        return two if two == result else result


Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

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

# --- creditor webhooks (migration 0006) ---------------------------------------------------
# One row per webhook to deliver: a planned webhook action (notify_creditor, block_service,
# unblock_service) or a recorded ``creditor_notified`` case event. ``body`` holds the exact bytes
# posted, fixed when the row is written, so a retry or a re-post after a crash sends the same body
# under the same Idempotency-Key (see dunning.usecases.notify.webhooks).

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(300), nullable=False, unique=True),  # action:<key> | event:<id>
    Column("action_id", ForeignKey("actions.id"), unique=True),
    Column("case_event_id", ForeignKey("case_events.id"), unique=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("target", String(20), nullable=False),  # webhook | export (the action's ``via``)
    Column("body", Text, nullable=False),
    # pending (never tried, or posted without an answer recorded) | deferred (transient failure,
    # retried from next_attempt_at) | delivered | failed | cancelled
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_status", Integer),  # the HTTP status of the last answer
    Column("last_error", Text),
    Column("created_on", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_outbox_status", "status"),
)
Index("ix_case_events_kind", case_events.c.kind, case_events.c.id)

# Payment arrangements (issue 19): a plan over one or more cases of a debtor and its instalments, each
# with its own payment reference. ``plan_key`` is the plan's id in the pure core (action keys use it);
# what is owed is frozen when the plan is agreed (costs + principal + interest = the instalments' sum).

payment_plans = Table(
    "payment_plans",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("plan_key", String(60), nullable=False, unique=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),  # the case whose flow pauses and reference is used
    Column("case_ids", JSON, nullable=False),
    Column("case_reference", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("principal", Amount, nullable=False),
    Column("costs", Amount, nullable=False),
    Column("interest", Amount, nullable=False),
    Column("costs_frozen", Boolean, nullable=False),
    Column("interest_policy", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_on", Date, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_via", String(20), nullable=False),
    Column("terms_version", String(40), nullable=False),
    Column("pack", String(40), nullable=False),
    Column("deferrals_used", Integer, nullable=False, default=0),
    Column("breach_notice_on", Date),
    Column("ended_on", Date),
    Column("ogm_prefix", String(10), nullable=False, default=""),
    Column("due_day_explanation", Text),
    Index("ix_payment_plans_case", "case_id"),
    Index("ix_payment_plans_status", "status"),
)

plan_instalments = Table(
    "plan_instalments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("plan_id", ForeignKey("payment_plans.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("amount", Amount, nullable=False),
    Column("reference", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("paid", Amount, nullable=False),
    Column("waived", Amount, nullable=False),
    Column("payments", JSON, nullable=False),  # ids of the bank transactions matched to it
    Column("deferred_to", Integer),
    UniqueConstraint("plan_id", "number"),
    Index("ix_plan_instalments_reference", "reference"),
)

# --- pay-page visits (migration 0010_paypage) -------------------------------------------------
# One row per opening of the pay page through a genuine link: when (wall-clock UTC, from the web
# server) and the medium the link came by (letter_qr, letter_text, email, sms). No address, agent
# or token is kept: the visit is counted on the server, never with pixels (EDPB Guidelines 2/2023).

page_visits = Table(
    "page_visits",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("visited_at", DateTime(timezone=True), nullable=False),
    Column("medium", String(20), nullable=False),
    Index("ix_page_visits_case", "case_id", "id"),
)

# --- SEPA direct debit for plans (migration 0011_sepa) -----------------------------------------
# A mandate per plan (its reference derived from the plan key); every instalment collected is one
# row of sepa_collections (unique per plan and instalment, and by EndToEndId), claimed in the same
# transaction as the row of the pain.008 file holding it (sepa_files, with the file's content), so a
# crash before the file is written or delivered is finished by the next run and nothing is collected twice.

sepa_mandates = Table(
    "sepa_mandates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("reference", String(35), nullable=False, unique=True),
    Column("plan_key", String(60), nullable=False, unique=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("iban", String(34), nullable=False),
    Column("bic", String(11)),
    Column("debtor_name", String(140), nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("text_version", String(40), nullable=False),
    Column("consent_source", String(40), nullable=False),
    Column("captured_by", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

sepa_files = Table(
    "sepa_files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("message_id", String(35), nullable=False),
    Column("collection_date", Date, nullable=False),
    Column("made_on", Date, nullable=False),
    Column("count", Integer, nullable=False),
    Column("control_sum", Amount, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("status", String(20), nullable=False),  # prepared → written → delivered
    Column("delivered_to", String(300)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

sepa_collections = Table(
    "sepa_collections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("end_to_end_id", String(35), nullable=False, unique=True),
    Column("file_id", ForeignKey("sepa_files.id"), nullable=False),
    Column("mandate_reference", String(35), nullable=False),
    Column("plan_key", String(60), nullable=False),
    Column("instalment", Integer, nullable=False),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("sequence", String(4), nullable=False),
    Column("collection_date", Date, nullable=False),
    Column("status", String(20), nullable=False),  # collected | returned
    Column("return_reason", String(10)),
    Column("returned_on", Date),
    Column("return_transaction", String(200)),
    UniqueConstraint("plan_key", "instalment"),
    Index("ix_sepa_collections_mandate", "mandate_reference"),
)

# --- online payments (migration 0012_provider) -------------------------------------------------
# Each checkout the pay page created at the payment provider, and each provider event received: an
# event id is recorded once (a webhook delivered twice is acknowledged, never acted on twice), and a
# paid checkout is booked once as a bank_transactions row of its own (``transaction_id``).

provider_checkouts = Table(
    "provider_checkouts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("provider", String(20), nullable=False),
    Column("checkout_id", String(200), nullable=False, unique=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),  # open | paid | failed | expired
    Column("payment_id", String(200)),
    Column("transaction_id", ForeignKey("bank_transactions.id")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_provider_checkouts_case", "case_id"),
)

provider_events = Table(
    "provider_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("provider", String(20), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("type", String(100), nullable=False),
    Column("checkout_id", String(200)),
    Column("outcome", String(40), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("provider", "event_id", name="uq_provider_events_provider_event"),
)

# ---- contact details the debtor confirmed on the pay page (migration 0013_contact) ----
# One row per debtor: what the debtor confirmed with a one-time code wins over the ledger's email and
# phone (a later import rewrites ``debtors``, never this table); NULL fields leave the ledger's value.

debtor_contacts = Table(
    "debtor_contacts",
    metadata,
    Column("debtor_id", ForeignKey("debtors.id"), primary_key=True),
    Column("email", String(254)),
    Column("email_invalid", Boolean, nullable=False, default=False),
    Column("email_confirmed_at", DateTime(timezone=True)),
    Column("phone", String(20)),
    Column("phone_confirmed_at", DateTime(timezone=True)),
    Column("preferred_channel", String(10)),  # email, sms or letter
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per code sent: the value it confirms, the code's HMAC (never the code), its expiry and tries.
contact_codes = Table(
    "contact_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("channel", String(10), nullable=False),  # email or sms
    Column("value", String(254), nullable=False),
    Column("preferred_channel", String(10)),
    Column("text_version", String(40), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("tries", Integer, nullable=False, default=0),
    Column("status", String(10), nullable=False, default="pending"),  # pending confirmed replaced locked failed
    Index("ix_contact_codes_case", "case_id", "id"),
)

# The consent record per channel: what was agreed (the wording's version), to which value, when, where.
contact_consents = Table(
    "contact_consents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("debtor_id", ForeignKey("debtors.id"), nullable=False),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("value", String(254), nullable=False),
    Column("text_version", String(40), nullable=False),
    Column("given_at", DateTime(timezone=True), nullable=False),
    Column("source", String(20), nullable=False),
    Index("ix_contact_consents_debtor", "debtor_id", "id"),
)

# --- plan credits (migration 0014_planbot) ----------------------------------------------------
# What each bank payment paid of each instalment of a plan (one row per payment and instalment), so
# a return or reversal of the payment takes exactly its credits back, and a re-run credits nothing twice.

plan_credits = Table(
    "plan_credits",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("plan_id", ForeignKey("payment_plans.id"), nullable=False),
    Column("transaction_id", ForeignKey("bank_transactions.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("amount", Amount, nullable=False),
    Column("on_date", Date, nullable=False),
    Column("reversed_on", Date),
    UniqueConstraint("plan_id", "transaction_id", "number"),
)

# --- pay-link revocations (migration 0015_revoke) ---------------------------------------------
# A case whose pay links a person (or a hand-over, or a write-off) revoked: one row per case, looked
# up by its primary key on every page request; restoring the links deletes the row (the timeline keeps both).

paylink_revocations = Table(
    "paylink_revocations",
    metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True, autoincrement=False),
    Column("revoked_on", Date, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("by", String(120), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
