"""Cases in the store: debtors, cases, their invoices and timeline (``case_events``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from dunning.store.bulk import in_chunks
from dunning.store.schema import case_events, cases, debtors, invoices

# ---- used by reconcile ----

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


# ---- used by letters ----
# What a letter prints of its case (the debtor's postal address, the open invoices, the costs
# charged) and the events the letter channel adds to a case.


@dataclass(frozen=True, slots=True)
class LetterCaseRecord:
    """A case with its costs as charged and its debtor's postal address."""

    case_id: int
    fees_amount: Decimal
    interest_amount: Decimal
    debtor_id: int
    debtor_external_id: str
    street: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    debtor_type: str | None


@dataclass(frozen=True, slots=True)
class CaseHeaderRecord:
    """A case's status, currency and payment reference, with its debtor's name, language and country."""

    case_id: int
    status: str
    currency: str
    reference: str | None
    debtor_name: str
    language: str | None
    country: str | None


def load_letter_cases(conn: Connection, case_ids: Sequence[int]) -> list[LetterCaseRecord]:
    """These cases with their debtor's address (unknown ids are left out)."""
    if not case_ids:
        return []
    query = (
        select(cases.c.id, cases.c.fees_amount, cases.c.interest_amount, debtors.c.id.label("debtor_pk"),
               debtors.c.external_id, debtors.c.street, debtors.c.postal_code, debtors.c.city,
               debtors.c.country, debtors.c.debtor_type)
        .join(debtors, debtors.c.id == cases.c.debtor_id).where(cases.c.id.in_(list(case_ids)))
    )
    return [LetterCaseRecord(row.id, row.fees_amount, row.interest_amount, row.debtor_pk, row.external_id,
                             row.street, row.postal_code, row.city, row.country, row.debtor_type)
            for row in conn.execute(query)]


def load_case_header(conn: Connection, case_id: int) -> CaseHeaderRecord | None:
    """The case and its debtor's name, language and country; None for an unknown case."""
    row = conn.execute(
        select(cases.c.id, cases.c.currency, cases.c.reference, cases.c.status, debtors.c.name,
               debtors.c.language, debtors.c.country)
        .join(debtors, debtors.c.id == cases.c.debtor_id).where(cases.c.id == case_id)
    ).first()
    if row is None:
        return None
    return CaseHeaderRecord(case_id=row.id, status=row.status, currency=row.currency, reference=row.reference,
                            debtor_name=row.name, language=row.language, country=row.country)


# ---- used by letters and messages ----
# What letters, email and SMS read of a case (its open invoices, its debtor's email) and write to it
# (the events of a message, the fees a message carries).



@dataclass(frozen=True, slots=True)
class OpenInvoiceRecord:
    """An open item of a case (a credit note is one with a negative amount)."""

    case_id: int
    external_id: str  # the invoice number
    invoice_date: date | None
    due_date: date
    open_amount: Decimal
    currency: str
    description: str | None


def load_open_invoices(conn: Connection, case_ids: Sequence[int]) -> list[OpenInvoiceRecord]:
    """The open invoices of ``case_ids``, per case by due date, then number."""
    found: list[OpenInvoiceRecord] = []
    for chunk in in_chunks(case_ids):
        query = (
            select(invoices.c.case_id, invoices.c.external_id, invoices.c.invoice_date, invoices.c.due_date,
                   invoices.c.open_amount, invoices.c.currency, invoices.c.description)
            .where(invoices.c.case_id.in_(chunk), invoices.c.status == "open")
            .order_by(invoices.c.due_date, invoices.c.external_id)
        )
        found.extend(OpenInvoiceRecord(row.case_id, row.external_id, row.invoice_date, row.due_date,
                                       row.open_amount, row.currency, row.description) for row in conn.execute(query))
    return found


def insert_case_event(conn: Connection, *, case_id: int, on_date: date, kind: str, detail: Mapping[str, Any],
                      source: str, recorded_at: datetime, amount: Decimal | None = None) -> None:
    """Add one event to the case's timeline (``source`` is cut to the column's 120 characters)."""
    conn.execute(insert(case_events).values(
        case_id=case_id, on_date=on_date, kind=kind, invoice_id=None, amount=amount, detail=dict(detail),
        source=source[:120], recorded_at=recorded_at))


@dataclass(frozen=True, slots=True)
class DebtorEmailRecord:
    """The email address of a case's debtor and whether it is known to bounce (personal data)."""

    debtor_id: int
    email: str | None
    email_invalid: bool


def load_case_debtor_email(conn: Connection, case_id: int) -> DebtorEmailRecord | None:
    row = conn.execute(
        select(debtors.c.id, debtors.c.email, debtors.c.email_invalid)
        .join(cases, cases.c.debtor_id == debtors.c.id)
        .where(cases.c.id == case_id)
    ).first()
    return None if row is None else DebtorEmailRecord(row.id, row.email, bool(row.email_invalid))


def mark_debtor_email_invalid(conn: Connection, debtor_id: int) -> None:
    """The debtor's email bounced: the planner stops choosing email for them until it changes."""
    conn.execute(update(debtors).where(debtors.c.id == debtor_id).values(email_invalid=True))


def load_case_fees_charged(conn: Connection, case_id: int) -> Decimal:
    """The fees charged to the case so far (``cases.fees_amount``)."""
    return Decimal(conn.execute(select(cases.c.fees_amount).where(cases.c.id == case_id)).scalar_one())


def add_case_fee(conn: Connection, case_id: int, amount: Decimal) -> None:
    """Charge ``amount`` more fees to the case (a negative amount takes fees back)."""
    conn.execute(update(cases).where(cases.c.id == case_id).values(fees_amount=cases.c.fees_amount + amount))
