"""The review queue: payments that need a person (unmatched, suggested, partly explained), and their decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, insert, select, update

from dunning.store.payments import JsonObject
from dunning.store.schema import bank_transactions, review_items

__all__ = ["NewReviewItem", "PaymentInReview", "ReviewRecord", "cancel_open_reviews", "decide_review_item",
           "insert_review_items", "load_payments_in_review", "load_review_items"]


@dataclass(frozen=True, slots=True)
class NewReviewItem:
    """A payment for a person to decide (``review_items``)."""

    transaction_id: int
    case_id: int | None
    evidence: JsonObject
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """A review item with the bank transaction it asks about."""

    id: int
    status: str
    case_id: int | None
    evidence: JsonObject
    transaction_id: int
    key: str
    booking_date: date | None
    amount: Decimal
    currency: str
    remittance: str | None
    detail: JsonObject
    #: payment: a bank payment to apply; refund: a case's credit to refund, keep or ignore
    kind: str = "payment"


@dataclass(frozen=True, slots=True)
class PaymentInReview:
    """A payment waiting in the review queue that may be case ``case_id``'s (one row per candidate case)."""

    item_id: int
    case_id: int
    amount: Decimal
    currency: str
    booking_date: date | None
    recorded_on: date


# ---------------------------------------------------------------------------------- the review queue


def insert_review_items(conn: Connection, items: Sequence[NewReviewItem]) -> None:
    """Open review items for these transactions."""
    if items:
        conn.execute(
            insert(review_items),
            [
                {
                    "transaction_id": i.transaction_id,
                    "case_id": i.case_id,
                    "status": "open",
                    "evidence": i.evidence,
                    "recorded_at": i.recorded_at,
                }
                for i in items
            ],
        )


def cancel_open_reviews(conn: Connection, tx_id: int) -> None:
    """Cancel the open payment items of transaction ``tx_id``: what they asked is answered.

    A refund item of the same transaction stays: it asks about the case's credit, which
    :func:`dunning.usecases.reconcile.credits.raise_refund_items` keeps in step.
    """
    conn.execute(
        update(review_items)
        .where(review_items.c.transaction_id == tx_id, review_items.c.status == "open",
               review_items.c.kind == "payment")
        .values(status="cancelled")
    )


def load_review_items(conn: Connection, *, status: str | None = None, item_id: int | None = None) -> list[ReviewRecord]:
    """Review items, oldest first: those with ``status`` (all when None), or the one item ``item_id``."""
    query = (
        select(
            review_items.c.id,
            review_items.c.status,
            review_items.c.case_id,
            review_items.c.evidence,
            bank_transactions.c.id.label("tx_id"),
            bank_transactions.c.key,
            bank_transactions.c.booking_date,
            bank_transactions.c.amount,
            bank_transactions.c.currency,
            bank_transactions.c.remittance,
            bank_transactions.c.detail,
            review_items.c.kind,
        )
        .join(bank_transactions, bank_transactions.c.id == review_items.c.transaction_id)
        .order_by(review_items.c.id)
    )
    if status:
        query = query.where(review_items.c.status == status)
    if item_id is not None:
        query = query.where(review_items.c.id == item_id)
    return [
        ReviewRecord(
            id=int(row.id),
            status=row.status,
            case_id=row.case_id,
            evidence=dict(row.evidence or {}),
            transaction_id=int(row.tx_id),
            key=row.key,
            booking_date=row.booking_date,
            amount=row.amount,
            currency=row.currency,
            remittance=row.remittance,
            detail=dict(row.detail or {}),
            kind=row.kind,
        )
        for row in conn.execute(query)
    ]


def decide_review_item(
    conn: Connection, item_id: int, *, status: str, evidence: JsonObject, case_id: int | None = None
) -> None:
    """Record a person's decision on a review item (``case_id``: the case it was applied to, if any)."""
    values: JsonObject = {"status": status, "evidence": evidence}
    if case_id is not None:
        values["case_id"] = case_id
    conn.execute(update(review_items).where(review_items.c.id == item_id).values(**values))




def load_payments_in_review(conn: Connection) -> list[PaymentInReview]:
    """Every open payment review item's payment, once for each case it names (its candidates), by item and case."""
    query = (
        select(
            review_items.c.id,
            review_items.c.case_id,
            review_items.c.evidence,
            review_items.c.recorded_at,
            bank_transactions.c.amount,
            bank_transactions.c.currency,
            bank_transactions.c.booking_date,
        )
        .join(bank_transactions, bank_transactions.c.id == review_items.c.transaction_id)
        # a refund item asks about a credit, not a payment: it holds nothing
        .where(review_items.c.status == "open", review_items.c.kind == "payment")
        .order_by(review_items.c.id)
    )
    found: list[PaymentInReview] = []
    for row in conn.execute(query):
        named = {int(row.case_id)} if row.case_id is not None else set()
        for candidate in (row.evidence or {}).get("candidates", ()):
            case = str(candidate.get("case", "")) if isinstance(candidate, dict) else ""
            if case.isdigit():
                named.add(int(case))
        recorded = row.recorded_at.date() if isinstance(row.recorded_at, datetime) else row.booking_date
        found.extend(
            PaymentInReview(int(row.id), case_id, row.amount, row.currency, row.booking_date, recorded)
            for case_id in sorted(named)
        )
    return found
