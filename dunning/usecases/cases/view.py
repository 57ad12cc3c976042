"""Reading cases back: the case list and one case's timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from dunning.domain.owed import Owed
from dunning.domain.references import InvalidReference, parse_reference
from dunning.errors import NotFound
from dunning.store import Store
from dunning.store.actions import load_case_actions
from dunning.store.cases import (
    CaseSummaryRecord,
    find_case,
    load_case_events,
    load_case_invoices,
    load_case_summaries,
)
from dunning.store.payments import load_costs_paid
from dunning.store.plans import StoredPlan, load_plans
from dunning.store.visits import VisitRecord, load_case_visits
from dunning.usecases.outgoing.due import owed_by


def printed_reference(compact: str | None) -> str | None:
    """The payment reference as the letters print it (``+++000/0000/00101+++``)."""
    if not compact:
        return None
    try:
        return parse_reference(compact).printed
    except InvalidReference:
        return compact


#: the columns of ``dunning cases`` in every format (table, CSV, JSON), in this order
CASE_COLUMNS = (
    "case",
    "debtor_id",
    "debtor",
    "status",
    "stage",
    "principal",
    "costs",
    "interest",
    "paid",
    "total_due",
    "credit",
    "currency",
    "next_action_on",
    "reference",
)


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """A case as the list shows it; ``owed`` holds its figures (``owed.total``: what the last message asked)."""

    case_id: int
    debtor_id: str
    debtor: str
    currency: str
    status: str
    stage: str
    next_action_on: date | None
    reference: str | None
    owed: Owed

    @property
    def open_amount(self) -> Decimal:
        """The open principal (open invoices net of credit notes)."""
        return self.owed.principal_open

    @property
    def total_due(self) -> Decimal:
        """Principal + costs + interest - paid: the total a letter, email or SMS asks for now."""
        return self.owed.total

    @property
    def credit(self) -> Decimal:
        """Money received beyond what was owed, held for the debtor."""
        return self.owed.credit

    def as_dict(self) -> dict[str, Any]:
        """The :data:`CASE_COLUMNS`, amounts as exact strings."""
        owed = self.owed
        return {
            "case": self.case_id,
            "debtor_id": self.debtor_id,
            "debtor": self.debtor,
            "status": self.status,
            "stage": self.stage,
            "principal": str(owed.principal),
            "costs": str(owed.fees),
            "interest": str(owed.interest),
            "paid": str(owed.paid),
            "total_due": str(owed.total),
            "credit": str(owed.credit),
            "currency": self.currency,
            "next_action_on": self.next_action_on.isoformat() if self.next_action_on else None,
            "reference": printed_reference(self.reference),
        }


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    on_date: date
    kind: str
    what: str
    amount: Decimal | None
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.on_date.isoformat(),
            "kind": self.kind,
            "what": self.what,
            "amount": None if self.amount is None else str(self.amount),
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class CaseDetail:
    summary: CaseSummary
    invoices: list[dict[str, Any]]
    timeline: list[TimelineEntry]
    instalments: list[dict[str, Any]] = field(default_factory=list)  # the schedules of the case's plans

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.summary.as_dict(),
            "invoices": self.invoices,
            "instalments": self.instalments,
            "timeline": [entry.as_dict() for entry in self.timeline],
        }


def _summaries(conn: Connection, records: Sequence[CaseSummaryRecord]) -> list[CaseSummary]:
    paid = load_costs_paid(conn, [r.case_id for r in records])
    return [
        CaseSummary(
            r.case_id,
            r.debtor_id,
            r.debtor,
            r.currency,
            r.status,
            r.stage,
            r.next_action_on,
            r.reference,
            owed_by(r.open_amount, r.fees_charged, r.interest_charged, paid[r.case_id], r.credit),
        )
        for r in records
    ]


def _instalment_rows(stored: list[StoredPlan]) -> list[dict[str, Any]]:
    """One row per instalment of each plan: when, how much, paid, its status and its own reference."""
    return [
        {
            "plan": item.plan.plan_id,
            "plan_status": item.plan.status.value,
            "number": i.number,
            "due_date": i.due_date.isoformat(),
            "amount": str(i.amount),
            "paid": str(i.paid),
            "status": i.status.value,
            "reference": printed_reference(i.reference),
        }
        for item in stored
        for i in item.plan.instalments
    ]



def list_cases(store: Store, *, status: str | None = None, limit: int | None = None) -> list[CaseSummary]:
    """Cases ordered by id, optionally only those with ``status`` (open, closed, on_hold...)."""
    with store.begin() as conn:
        return _summaries(conn, load_case_summaries(conn, status=status, limit=limit))


_WHAT = {
    "case_opened": "case opened",
    "case_closed": "case closed",
    "invoices_added": "{count} invoice(s) added: {invoices}",
    "invoices_settled_outside": "{count} invoice(s) settled outside dunning: {invoices}",
    "invoice_changed": "invoice {invoice} changed",
    "invoice_reopened": "invoice {invoice} open again",
    "debtor_updated": "debtor details updated ({fields})",
    "payment_received": "payment received",
    "payment_reversed": "payment returned or reversed",
    "case_paid": "case paid in full",
    "case_reopened": "case reopened",
    "creditor_notified": "creditor's system notified",
    "message_sent": "{channel} sent ({template})",
    "delivery_failed": "delivery failed",
    "refund_item_opened": "credit to refund, keep or ignore (review item {item})",
    "refund_item_cancelled": "credit gone, review item {item} cancelled",
    "credit_refunded": "credit to be refunded (review item {item})",
    "credit_kept": "credit kept for the next invoice (review item {item})",
    "credit_ignored": "credit ignored (review item {item})",
    "task_done": "{kind} task {task} ({step}) closed as {outcome} by {by}: {note}",
    "dispute_opened": "{kind} from the pay page ({reason}), task {task}: {text}",
    "acknowledgement_sent": "acknowledgement of task {task} sent by {channel}",
    "acknowledgement_failed": "acknowledgement of task {task} not sent by {channel} ({status})",
    "dispute_hold_lifted": "dispute hold of task {task} lifted by {by}",
    "plan_created": "payment plan {plan}: {instalments} instalments, {total} in all",
    "mandate_signed": "SEPA direct debit mandate {mandate} signed {signed_on} (plan {plan})",
    "paylinks_revoked": "pay links revoked by {by}",
    "paylinks_restored": "pay links restored by {by}",
    "direct_debit_returned": "direct debit of instalment {instalment} returned ({return_reason})",
}


def _describe(kind: str, detail: dict[str, Any]) -> str:
    template = _WHAT.get(kind)
    values = {k: (", ".join(v) if isinstance(v, list) else v) for k, v in detail.items()}
    try:
        return template.format(**values) if template else kind.replace("_", " ")
    except KeyError:
        return kind.replace("_", " ")


def _why(kind: str, detail: dict[str, Any], source: str) -> str:
    if source.startswith("ledger:"):
        origin = f"ledger import {source.removeprefix('ledger:')[:12]}"
        if "old_amount" in detail:
            return f"{origin}: amount {detail['old_amount']} → {detail['new_amount']}"
        if "reason" in detail:
            return f"{origin}: {detail['reason'].replace('_', ' ')}"
        return origin
    return str(detail.get("reason") or source)


def _action_why(reason: str, detail: dict[str, Any] | None) -> str:
    """The flow step, then the legal figures with their rule ("€90.00 = Book XIX cap ...")."""
    figures = [f["explanation"] for f in (detail or {}).get("figures", []) if f.get("explanation")]
    return "; ".join([reason, *figures])


_MEDIUMS = {"letter_qr": "the letter's QR code", "letter_text": "the link printed in the letter",
            "email": "the email's link", "sms": "the SMS's link"}


def _utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; the store writes them in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _visit_entry(visit: VisitRecord) -> TimelineEntry:
    return TimelineEntry(_utc(visit.visited_at).date(), "page_visited",
                         f"pay page visited at {_utc(visit.visited_at):%H:%M} UTC", None,
                         f"opened through {_MEDIUMS.get(visit.medium, visit.medium)}")


def case_detail(store: Store, ident: str) -> CaseDetail:
    """One case by case number, payment reference or debtor id (its newest case)."""
    with store.begin() as conn:
        found = find_case(conn, ident)
        if found is None:
            raise NotFound(f"no case with number, reference or debtor id {ident!r}")
        summary = _summaries(conn, [found])[0]
        case_invoices = load_case_invoices(conn, summary.case_id)
        events = load_case_events(conn, summary.case_id)
        case_actions = load_case_actions(conn, summary.case_id)
        plans = load_plans(conn, case_id=summary.case_id)
        visits = load_case_visits(conn, summary.case_id)
    invoice_rows = [
        {
            "invoice": i.external_id,
            "due_date": i.due_date.isoformat(),
            "open_amount": str(i.open_amount),
            "status": i.status,
        }
        for i in case_invoices
    ]
    # On one day the events come before the actions, each in the order it was recorded.
    entries = [
        (e.on_date, 0, e.id, TimelineEntry(e.on_date, e.kind, _describe(e.kind, e.detail), e.amount,
                                           _why(e.kind, e.detail, e.source)))
        for e in events
    ]
    entries += [
        (
            a.due_on,
            1,
            a.id,
            TimelineEntry(
                a.due_on,
                f"action:{a.status}",
                a.action.replace("_", " ") + (f" by {a.channel.replace('_', ' ')}" if a.channel else ""),
                a.amount,
                _action_why(a.reason, a.detail),
            ),
        )
        for a in case_actions
    ]
    entries += [(_utc(v.visited_at).date(), 2, v.id, _visit_entry(v)) for v in visits]
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    return CaseDetail(summary, invoice_rows, [e[3] for e in entries], _instalment_rows(plans))
