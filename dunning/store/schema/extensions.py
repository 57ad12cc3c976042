"""The tables later features added (migrations 0006 onwards): the creditor webhook outbox, payment
plans and their instalments, pay-page visits, SEPA direct debit, online payments at the provider,
the contact details a debtor confirmed, plan credits, pay-link revocations and prepared pay pages."""

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
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dunning.store.schema.base import Amount, Id, metadata
from dunning.store.schema.core import case_events

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

# --- prepared pay pages (migration 0016_prepared) ----------------------------------------------
# The landing page of one pay link as served on one day, kept so that an opening reads one row
# (dunning.store.prepared_pages). ``page_key`` is a digest of the link's token (the table holds no
# token that would open a page); ``stamp`` the case's claim stamp it was built from, ``fingerprint``
# the server's templates and settings; ``html`` the page, zlib-compressed. Served only when all three
# and ``day`` match what the request reads now, so a row is never stale, only unused.

paypage_prepared = Table(
    "paypage_prepared",
    metadata,
    Column("page_key", String(64), primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("stamp", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("html", LargeBinary, nullable=False),
    Column("prepared_at", DateTime(timezone=True), nullable=False),
    Index("ix_paypage_prepared_case", "case_id"),
)
