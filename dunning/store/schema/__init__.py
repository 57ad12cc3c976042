"""The state store's tables (SQLAlchemy Core), the one source the migrations follow.

Amounts use :class:`Amount`: NUMERIC on PostgreSQL, exact text on SQLite (whose
NUMERIC affinity would turn them into floats). Dates are calendar dates; the
``recorded_at`` timestamps are wall-clock UTC and only say when a row was written.

Tables filled by the foundation: debtors, invoices, cases, case_events,
ledger_imports. The others (actions, documents, deliveries, bank_files,
bank_transactions, allocations, review_items) are the room later stages fill.

The tables are in three modules, all re-exported here (callers import from this package):
:mod:`~dunning.store.schema.base` (metadata, :class:`Amount`, ``Id``), :mod:`~dunning.store.schema.core`
(the foundation and the first stages) and :mod:`~dunning.store.schema.extensions` (what later
features added, migrations 0006 onwards).
"""

from __future__ import annotations

from dunning.store.schema.base import Amount, Id, metadata
from dunning.store.schema.core import (
    actions,
    allocations,
    bank_files,
    bank_transaction_aliases,
    bank_transactions,
    case_events,
    cases,
    debtors,
    deliveries,
    documents,
    holds,
    invoices,
    ledger_imports,
    review_items,
    runs,
)
from dunning.store.schema.extensions import (
    contact_codes,
    contact_consents,
    debtor_contacts,
    outbox,
    page_visits,
    paylink_revocations,
    payment_plans,
    paypage_prepared,
    plan_credits,
    plan_instalments,
    provider_checkouts,
    provider_events,
    sepa_collections,
    sepa_files,
    sepa_mandates,
)

__all__ = [
    "Amount",
    "Id",
    "actions",
    "allocations",
    "bank_files",
    "bank_transaction_aliases",
    "bank_transactions",
    "case_events",
    "cases",
    "contact_codes",
    "contact_consents",
    "debtor_contacts",
    "debtors",
    "deliveries",
    "documents",
    "holds",
    "invoices",
    "ledger_imports",
    "metadata",
    "outbox",
    "page_visits",
    "paylink_revocations",
    "payment_plans",
    "paypage_prepared",
    "plan_credits",
    "plan_instalments",
    "provider_checkouts",
    "provider_events",
    "review_items",
    "runs",
    "sepa_collections",
    "sepa_files",
    "sepa_mandates",
]
