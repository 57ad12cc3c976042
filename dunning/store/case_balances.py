"""Reconciliation's reads and writes of cases: payable cases and their invoices, balances after payments.

What :mod:`dunning.usecases.reconcile.booking` needs of the case tables: the cases a payment can
go to (with the debtor's name and account the matcher compares), their open and paid invoices, and,
once payments are allocated, the invoices' and cases' new balances, passed-on return fees and the
timeline events of each payment, return, closure and notification. Every function takes the open
connection first (the use case owns the transaction); each write is one statement per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from dunning.store.bulk import in_chunks
from dunning.store.schema import case_events, cases, debtors, invoices

_EVENTS_PER_STATEMENT = 20000


@dataclass(frozen=True, slots=True)
class PayableCaseRecord:
    """A case that can receive a payment, with its debtor's name and account (what the matcher compares)."""

    id: int
    debtor_id: int
    debtor_name: str
    debtor_iban: str | None
    currency: str
    reference: str | None
    status: str
    opened_on: date
    closed_on: date | None
    close_reason: str | None
    next_action_on: date | None
    fees_amount: Decimal
    interest_amount: Decimal
    credit_amount: Decimal


@dataclass(frozen=True, slots=True)
class PayableInvoiceRecord:
    """An open or paid invoice of a payable case (``external_id``: the ledger's invoice number)."""

    id: int
    case_id: int
    external_id: str
    due_date: date
    open_amount: Decimal
    status: str


@dataclass(frozen=True, slots=True)
class InvoiceBalance:
    """An invoice's open amount and status after payments (``closed_on`` set when paid)."""

    invoice_id: int
    open_amount: Decimal
    status: str
    closed_on: date | None


@dataclass(frozen=True, slots=True)
class CaseBalance:
    """A case's open amount, credit and state after payments."""

    case_id: int
    open_amount: Decimal
    credit_amount: Decimal
    status: str
    closed_on: date | None
    close_reason: str | None
    next_action_on: date | None


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """One line of a case's timeline written by reconciliation (payment, return, closure, notification)."""

    case_id: int
    on_date: date
    kind: str
    invoice_id: int | None
    amount: Decimal | None
    detail: dict[str, Any]
    source: str
    recorded_at: datetime


def load_payable_cases(conn: Connection, *, since: date, only: Sequence[int] | None = None) -> list[PayableCaseRecord]:
    """Open and held cases and cases closed as paid since ``since`` (or the cases ``only`` names), by id."""
    query = select(cases, debtors.c.name.label("debtor_name"), debtors.c.iban.label("debtor_iban")).join(
        debtors, debtors.c.id == cases.c.debtor_id
    )
    if only is not None:
        query = query.where(cases.c.id.in_(list(only)))
    else:
        query = query.where(
            or_(
                cases.c.status != "closed",
                and_(cases.c.close_reason == "paid", cases.c.closed_on >= since),
            )
        )
    return [
        PayableCaseRecord(
            id=int(row.id),
            debtor_id=int(row.debtor_id),
            debtor_name=row.debtor_name,
            debtor_iban=row.debtor_iban,
            currency=row.currency,
            reference=row.reference,
            status=row.status,
            opened_on=row.opened_on,
            closed_on=row.closed_on,
            close_reason=row.close_reason,
            next_action_on=row.next_action_on,
            fees_amount=row.fees_amount,
            interest_amount=row.interest_amount,
            credit_amount=row.credit_amount,
        )
        for row in conn.execute(query.order_by(cases.c.id))
    ]


def load_payable_invoices(conn: Connection, case_ids: Sequence[int]) -> list[PayableInvoiceRecord]:
    """The open and paid invoices of these cases (settled-outside ones are no longer the bank's business)."""
    found: list[PayableInvoiceRecord] = []
    for chunk in in_chunks(case_ids, 5000):
        query = select(
            invoices.c.id,
            invoices.c.case_id,
            invoices.c.external_id,
            invoices.c.due_date,
            invoices.c.open_amount,
            invoices.c.status,
        ).where(invoices.c.case_id.in_(chunk), invoices.c.status.in_(("open", "paid")))
        found.extend(
            PayableInvoiceRecord(int(r.id), int(r.case_id), r.external_id, r.due_date, r.open_amount, r.status)
            for r in conn.execute(query)
        )
    return found


def write_invoice_balances(conn: Connection, balances: Sequence[InvoiceBalance]) -> None:
    """Set invoices' open amount, status and closing date, in one statement."""
    if balances:
        conn.execute(
            update(invoices)
            .where(invoices.c.id == bindparam("b_id"))
            .values(open_amount=bindparam("b_open"), status=bindparam("b_status"), closed_on=bindparam("b_closed")),
            [
                {"b_id": b.invoice_id, "b_open": b.open_amount, "b_status": b.status, "b_closed": b.closed_on}
                for b in balances
            ],
        )


def write_case_balances(conn: Connection, balances: Sequence[CaseBalance]) -> None:
    """Set cases' open amount, credit and state, in one statement."""
    if balances:
        conn.execute(
            update(cases)
            .where(cases.c.id == bindparam("b_id"))
            .values(
                open_amount=bindparam("b_open"),
                credit_amount=bindparam("b_credit"),
                status=bindparam("b_status"),
                closed_on=bindparam("b_closed_on"),
                close_reason=bindparam("b_close_reason"),
                next_action_on=bindparam("b_next"),
            ),
            [
                {
                    "b_id": b.case_id,
                    "b_open": b.open_amount,
                    "b_credit": b.credit_amount,
                    "b_status": b.status,
                    "b_closed_on": b.closed_on,
                    "b_close_reason": b.close_reason,
                    "b_next": b.next_action_on,
                }
                for b in balances
            ],
        )


def add_case_fees(conn: Connection, fees: Sequence[tuple[int, Decimal]]) -> None:
    """Add ``(case id, amount)`` to the cases' charged fees (a bank's return fee passed on)."""
    if fees:
        conn.execute(
            update(cases)
            .where(cases.c.id == bindparam("b_id"))
            .values(fees_amount=cases.c.fees_amount + bindparam("b_fee")),
            [{"b_id": case_id, "b_fee": amount} for case_id, amount in fees],
        )


def insert_payment_events(conn: Connection, events: Sequence[PaymentEvent]) -> None:
    """Append reconciliation's events to the cases' timelines."""
    rows = [
        {
            "case_id": e.case_id,
            "on_date": e.on_date,
            "kind": e.kind,
            "invoice_id": e.invoice_id,
            "amount": e.amount,
            "detail": e.detail,
            "source": e.source,
            "recorded_at": e.recorded_at,
        }
        for e in events
    ]
    for chunk in in_chunks(rows, _EVENTS_PER_STATEMENT):
        conn.execute(insert(case_events), chunk)
