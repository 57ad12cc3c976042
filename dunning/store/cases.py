"""Debtors, cases, invoices and case events: what the store knows of each claim.

Every function takes the open connection first (the use case owns the transaction) and returns
frozen records defined here. Importing writes these tables in bulk through
:mod:`dunning.store.ledger`; this module holds what the other stages read and change one case
at a time or all at once: the night's plannable cases, the credit controller's list and timeline,
the events the stages add.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, insert, or_, select, update

from dunning.store.bulk import in_chunks
from dunning.store.contacts import (
    CONTACTS,
    contact_email,
    contact_email_invalid,
    contact_phone,
    contact_preferred_channel,
    mark_confirmed_email_invalid,
)
from dunning.store.schema import case_events, cases, debtors, invoices

# ---- records -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseSummaryRecord:
    """A case as the case list shows it, with its debtor's id and name."""

    case_id: int
    debtor_id: str
    debtor: str
    currency: str
    status: str
    stage: str
    open_amount: Decimal
    next_action_on: date | None
    reference: str | None
    fees_charged: Decimal
    interest_charged: Decimal
    credit: Decimal


@dataclass(frozen=True, slots=True)
class CaseInvoiceRecord:
    """One invoice of a case."""

    id: int
    external_id: str
    invoice_date: date | None
    due_date: date
    original_amount: Decimal | None
    open_amount: Decimal
    status: str


@dataclass(frozen=True, slots=True)
class CaseEventRecord:
    """One recorded event of a case; ``detail`` is the JSON object the stage wrote."""

    id: int
    case_id: int
    on_date: date
    kind: str
    invoice_id: int | None
    amount: Decimal | None
    detail: dict[str, Any]
    source: str


@dataclass(frozen=True, slots=True)
class NewCaseEvent:
    """An event to add to a case's timeline."""

    case_id: int
    on_date: date
    kind: str
    detail: dict[str, Any]
    source: str
    recorded_at: datetime
    invoice_id: int | None = None
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PlannableCaseRecord:
    """A case the night plans, with what the planner needs of its debtor."""

    id: int
    debtor_id: int
    currency: str
    status: str
    stage: str
    flow: str | None
    flow_version: int | None
    debtor_external_id: str
    debtor_type: str
    country: str | None
    language: str | None
    segment: str | None
    email: str | None
    email_invalid: bool
    phone: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    preferred_channel: str | None = None  # said on the pay page (dunning.store.contacts)


@dataclass(frozen=True, slots=True)
class PlanningInvoiceRecord:
    """An open invoice as the planner reads it."""

    case_id: int | None
    external_id: str
    due_date: date
    open_amount: Decimal
    original_amount: Decimal | None
    regular_supply: bool | None


@dataclass(frozen=True, slots=True)
class SupplyItemRecord:
    """An invoice that bills a regular-supply contract (Book XIX counts their due dates)."""

    case_id: int
    debtor_id: int
    due_date: date
    closed_on: date | None


@dataclass(frozen=True, slots=True)
class CasePlanUpdate:
    """Where the night left a case: its flow, stage, next action date and status."""

    case_id: int
    flow: str
    flow_version: int
    stage: str
    next_action_on: date | None
    status: str


# ---- the case list and one case ----------------------------------------------------------------


def _summary_query() -> Select[Any]:
    return select(
        cases.c.id,
        debtors.c.external_id,
        debtors.c.name,
        cases.c.currency,
        cases.c.status,
        cases.c.stage,
        cases.c.open_amount,
        cases.c.next_action_on,
        cases.c.reference,
        cases.c.fees_amount,
        cases.c.interest_amount,
        cases.c.credit_amount,
    ).join(debtors, debtors.c.id == cases.c.debtor_id)


def load_case_summaries(
    conn: Connection, *, status: str | None = None, limit: int | None = None
) -> list[CaseSummaryRecord]:
    """Cases ordered by id, optionally only those with ``status``, at most ``limit`` of them."""
    query = _summary_query().order_by(cases.c.id)
    if status:
        query = query.where(cases.c.status == status)
    if limit:
        query = query.limit(limit)
    return [CaseSummaryRecord(*row) for row in conn.execute(query)]


def find_case(conn: Connection, ident: str) -> CaseSummaryRecord | None:
    """The case with number, payment reference (printed or compact) or debtor id ``ident``.

    A case number wins over the other readings; among a debtor's cases, the newest.
    """
    condition = [
        cases.c.reference == ident.replace("+", "").replace("/", "").replace(" ", ""),
        debtors.c.external_id == ident,
    ]
    if ident.isdigit():
        condition.append(cases.c.id == int(ident))
    row = conn.execute(
        _summary_query()
        .where(or_(*condition))
        .order_by((cases.c.id == (int(ident) if ident.isdigit() else -1)).desc(), cases.c.id.desc())
    ).first()
    return None if row is None else CaseSummaryRecord(*row)


def load_case_invoices(conn: Connection, case_id: int, *, open_only: bool = False) -> list[CaseInvoiceRecord]:
    """The invoices of a case (only the open ones with ``open_only``), by due date and number."""
    query = select(
        invoices.c.id,
        invoices.c.external_id,
        invoices.c.invoice_date,
        invoices.c.due_date,
        invoices.c.original_amount,
        invoices.c.open_amount,
        invoices.c.status,
    ).where(invoices.c.case_id == case_id)
    if open_only:
        query = query.where(invoices.c.status == "open")
    query = query.order_by(invoices.c.due_date, invoices.c.external_id)
    return [CaseInvoiceRecord(*row) for row in conn.execute(query)]


def _event(row: Any) -> CaseEventRecord:
    return CaseEventRecord(
        row.id, row.case_id, row.on_date, row.kind, row.invoice_id, row.amount, dict(row.detail or {}), row.source
    )


_EVENT_COLUMNS = (
    case_events.c.id,
    case_events.c.case_id,
    case_events.c.on_date,
    case_events.c.kind,
    case_events.c.invoice_id,
    case_events.c.amount,
    case_events.c.detail,
    case_events.c.source,
)


def load_case_events(conn: Connection, case_id: int, *, kinds: Sequence[str] = ()) -> list[CaseEventRecord]:
    """The events of one case in the order they were recorded (only ``kinds`` when given)."""
    query = select(*_EVENT_COLUMNS).where(case_events.c.case_id == case_id)
    if kinds:
        query = query.where(case_events.c.kind.in_(kinds))
    return [_event(row) for row in conn.execute(query.order_by(case_events.c.id))]


def load_events_of_kinds(conn: Connection, kinds: Sequence[str]) -> list[CaseEventRecord]:
    """Every event of the given kinds, of all cases, in the order they were recorded."""
    query = select(*_EVENT_COLUMNS).where(case_events.c.kind.in_(kinds)).order_by(case_events.c.id)
    return [_event(row) for row in conn.execute(query)]


def insert_case_events(conn: Connection, events: Iterable[NewCaseEvent]) -> None:
    """Add events to the timelines of their cases."""
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
    if rows:
        conn.execute(insert(case_events), rows)


def load_case_status(conn: Connection, case_id: int) -> str:
    """The status of a case as it is now (open, on_hold, closed)."""
    status: str = conn.execute(select(cases.c.status).where(cases.c.id == case_id)).scalar_one()
    return status


# ---- the night ---------------------------------------------------------------------------------


def load_plannable_cases(conn: Connection) -> list[PlannableCaseRecord]:
    """Open and held cases, and closed ones that had dunning and may still get their thank-you, by id."""
    query = (
        select(
            cases.c.id,
            cases.c.debtor_id,
            cases.c.currency,
            cases.c.status,
            cases.c.stage,
            cases.c.flow,
            cases.c.flow_version,
            debtors.c.external_id,
            debtors.c.debtor_type,
            debtors.c.country,
            debtors.c.language,
            debtors.c.segment,
            contact_email(),  # the email and phone the debtor confirmed win over the ledger's
            contact_email_invalid(),
            contact_phone(),
            debtors.c.street,
            debtors.c.postal_code,
            debtors.c.city,
            contact_preferred_channel(),
        )
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .outerjoin(*CONTACTS)
        .where(
            or_(
                cases.c.status.in_(("open", "on_hold")),
                and_(cases.c.status == "closed", cases.c.stage.notin_(("new", "finished"))),
            )
        )
        .order_by(cases.c.id)
    )
    return [PlannableCaseRecord(*tuple(row)) for row in conn.execute(query)]


def load_all_open_invoices(conn: Connection) -> list[PlanningInvoiceRecord]:
    """Every open invoice, of every case."""
    query = select(
        invoices.c.case_id,
        invoices.c.external_id,
        invoices.c.due_date,
        invoices.c.open_amount,
        invoices.c.original_amount,
        invoices.c.regular_supply,
    ).where(invoices.c.status == "open")
    return [PlanningInvoiceRecord(*row) for row in conn.execute(query)]


def load_regular_supply_items(conn: Connection) -> list[SupplyItemRecord]:
    """Every invoice of a case that bills a regular-supply contract, open or closed."""
    query = select(invoices.c.case_id, invoices.c.debtor_id, invoices.c.due_date, invoices.c.closed_on).where(
        invoices.c.regular_supply.is_(True), invoices.c.case_id.is_not(None)
    )
    return [SupplyItemRecord(*row) for row in conn.execute(query)]


def add_case_interest(conn: Connection, case_id: int, amount: Decimal) -> None:
    """Add interest to what the case owes."""
    conn.execute(update(cases).where(cases.c.id == case_id).values(interest_amount=cases.c.interest_amount + amount))


def write_off_case(conn: Connection, case_id: int, on: date) -> None:
    """Close a case as written off."""
    conn.execute(
        update(cases)
        .where(cases.c.id == case_id)
        .values(status="closed", closed_on=on, close_reason="written_off", next_action_on=None)
    )


def update_case_plans(conn: Connection, updates: Sequence[CasePlanUpdate]) -> None:
    """Record where the night left each case: flow, version, stage, next action date, status."""
    if not updates:
        return
    conn.execute(
        update(cases)
        .where(cases.c.id == bindparam("b_id"))
        .values(
            flow=bindparam("b_flow"),
            flow_version=bindparam("b_version"),
            stage=bindparam("b_stage"),
            next_action_on=bindparam("b_next"),
            status=bindparam("b_status"),
        ),
        [
            {
                "b_id": u.case_id,
                "b_flow": u.flow,
                "b_version": u.flow_version,
                "b_stage": u.stage,
                "b_next": u.next_action_on,
                "b_status": u.status,
            }
            for u in updates
        ],
    )


def update_case_stages(conn: Connection, stages: Sequence[tuple[int, str]]) -> None:
    """Move only the stage of each (case id, stage): a closed case keeps its status."""
    if not stages:
        return
    conn.execute(
        update(cases).where(cases.c.id == bindparam("b_id")).values(stage=bindparam("b_stage")),
        [{"b_id": case_id, "b_stage": stage} for case_id, stage in stages],
    )


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
        select(debtors.c.id, contact_email(), contact_email_invalid())
        .join(cases, cases.c.debtor_id == debtors.c.id)
        .outerjoin(*CONTACTS)
        .where(cases.c.id == case_id)
    ).first()
    return None if row is None else DebtorEmailRecord(row.id, row.email, bool(row.email_invalid))


def mark_debtor_email_invalid(conn: Connection, debtor_id: int) -> None:
    """The debtor's email bounced: the planner stops choosing email for them until it changes."""
    if mark_confirmed_email_invalid(conn, debtor_id):  # the address they confirmed is the one messages used
        return
    conn.execute(update(debtors).where(debtors.c.id == debtor_id).values(email_invalid=True))


def load_case_fees_charged(conn: Connection, case_id: int) -> Decimal:
    """The fees charged to the case so far (``cases.fees_amount``)."""
    return Decimal(conn.execute(select(cases.c.fees_amount).where(cases.c.id == case_id)).scalar_one())


def add_case_fee(conn: Connection, case_id: int, amount: Decimal) -> None:
    """Charge ``amount`` more fees to the case (a negative amount takes fees back)."""
    conn.execute(update(cases).where(cases.c.id == case_id).values(fees_amount=cases.c.fees_amount + amount))
