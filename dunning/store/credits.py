"""Cases' credits (money received beyond what was owed) and the refund items of the review queue.

A credit is written by reconciliation (``cases.credit_amount``, with an allocation of kind
``credit`` for the payment that brought it). A refund item is a ``review_items`` row of kind
``refund`` for such a case: a person decides to refund the credit, keep it for the next invoice
or ignore it (:mod:`dunning.usecases.reconcile.credits`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, insert, select, update

from dunning.store.payments import JsonObject
from dunning.store.schema import allocations, cases, review_items

__all__ = [
    "REFUND",
    "CreditCaseRecord",
    "RefundItemRecord",
    "insert_refund_item",
    "load_credit_cases",
    "load_refund_items",
    "set_case_credit",
    "update_refund_item",
]

#: ``review_items.kind`` of a credit to refund, keep or ignore (a payment to apply is ``payment``)
REFUND = "refund"


@dataclass(frozen=True, slots=True)
class CreditCaseRecord:
    """A case that holds or held a credit: its credit now and the payment that last brought one."""

    case_id: int
    currency: str
    status: str
    close_reason: str | None
    credit: Decimal
    transaction_id: int | None  # the newest payment that left a credit on the case (not reversed)


@dataclass(frozen=True, slots=True)
class RefundItemRecord:
    """A refund item of the review queue (``evidence.credit``: the credit it asks about)."""

    id: int
    case_id: int
    status: str
    transaction_id: int
    evidence: JsonObject


def load_credit_cases(conn: Connection, *, case_ids: Sequence[int] | None = None) -> list[CreditCaseRecord]:
    """Cases a payment left a credit on, and cases with a refund item (or only ``case_ids``), by id.

    Credits are written only with an allocation of kind ``credit``, so these are the only cases
    that can hold one; a case with a refund item is listed even when its credit is gone again.
    """
    credited = select(allocations.c.case_id).where(allocations.c.kind == "credit")
    asked = select(review_items.c.case_id).where(review_items.c.kind == REFUND)
    query = select(cases.c.id, cases.c.currency, cases.c.status, cases.c.close_reason, cases.c.credit_amount).where(
        cases.c.id.in_(credited.union(asked).scalar_subquery()) if case_ids is None else cases.c.id.in_(case_ids)
    )
    rows = list(conn.execute(query.order_by(cases.c.id)))
    newest: dict[int, int] = {}
    if rows:
        payments = select(allocations.c.case_id, allocations.c.transaction_id).where(
            allocations.c.kind == "credit",
            allocations.c.reversed.is_(False),
            allocations.c.case_id.in_([row.id for row in rows]),
        )
        for case_id, tx_id in conn.execute(payments.order_by(allocations.c.id)):
            newest[case_id] = tx_id
    return [
        CreditCaseRecord(int(r.id), r.currency, r.status, r.close_reason, r.credit_amount, newest.get(r.id))
        for r in rows
    ]


def load_refund_items(conn: Connection, case_ids: Sequence[int]) -> dict[int, list[RefundItemRecord]]:
    """The refund items of these cases, oldest first, by case id."""
    found: dict[int, list[RefundItemRecord]] = {}
    if not case_ids:
        return found
    query = (
        select(
            review_items.c.id,
            review_items.c.case_id,
            review_items.c.status,
            review_items.c.transaction_id,
            review_items.c.evidence,
        )
        .where(review_items.c.kind == REFUND, review_items.c.case_id.in_(list(case_ids)))
        .order_by(review_items.c.id)
    )
    for row in conn.execute(query):
        found.setdefault(int(row.case_id), []).append(
            RefundItemRecord(
                int(row.id), int(row.case_id), row.status, int(row.transaction_id), dict(row.evidence or {})
            )
        )
    return found


def insert_refund_item(
    conn: Connection, *, case_id: int, transaction_id: int, evidence: JsonObject, recorded_at: datetime
) -> int:
    """Open a refund item for the case's credit; returns its id."""
    result = conn.execute(
        insert(review_items).values(
            transaction_id=transaction_id,
            case_id=case_id,
            status="open",
            evidence=evidence,
            recorded_at=recorded_at,
            kind=REFUND,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def update_refund_item(conn: Connection, item_id: int, *, status: str, evidence: JsonObject) -> None:
    """Set a refund item's status (open, refund, keep, ignore, cancelled) and evidence."""
    conn.execute(
        update(review_items)
        .where(review_items.c.id == item_id, review_items.c.kind == REFUND)
        .values(status=status, evidence=evidence)
    )


def set_case_credit(conn: Connection, case_id: int, credit: Decimal) -> None:
    """Set what the case holds for the debtor (zero once the credit is refunded)."""
    conn.execute(update(cases).where(cases.c.id == case_id).values(credit_amount=credit))
