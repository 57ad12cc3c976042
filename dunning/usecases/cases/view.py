"""Reading cases back: the case list and one case's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select

from dunning.domain.references import InvalidReference, parse_reference
from dunning.errors import NotFound
from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, debtors, invoices


def printed_reference(compact: str | None) -> str | None:
    """The payment reference as the letters print it (``+++000/0000/00101+++``)."""
    if not compact:
        return None
    try:
        return parse_reference(compact).printed
    except InvalidReference:
        return compact


@dataclass(frozen=True)
class CaseSummary:
    case_id: int
    debtor_id: str
    debtor: str
    currency: str
    status: str
    stage: str
    open_amount: Decimal
    next_action_on: date | None
    reference: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "debtor_id": self.debtor_id,
            "debtor": self.debtor,
            "status": self.status,
            "stage": self.stage,
            "open_amount": str(self.open_amount),
            "currency": self.currency,
            "next_action_on": self.next_action_on.isoformat() if self.next_action_on else None,
            "reference": printed_reference(self.reference),
        }


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class CaseDetail:
    summary: CaseSummary
    invoices: list[dict[str, Any]]
    timeline: list[TimelineEntry]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.summary.as_dict(),
            "invoices": self.invoices,
            "timeline": [entry.as_dict() for entry in self.timeline],
        }


def _summary_query() -> Any:
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
    ).join(debtors, debtors.c.id == cases.c.debtor_id)


def list_cases(store: Store, *, status: str | None = None, limit: int | None = None) -> list[CaseSummary]:
    """Cases ordered by id, optionally only those with ``status`` (open, closed, on_hold...)."""
    query = _summary_query().order_by(cases.c.id)
    if status:
        query = query.where(cases.c.status == status)
    if limit:
        query = query.limit(limit)
    with store.begin() as conn:
        return [CaseSummary(*row) for row in conn.execute(query)]


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


def case_detail(store: Store, ident: str) -> CaseDetail:
    """One case by case number, payment reference or debtor id (its newest case)."""
    with store.begin() as conn:
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
        if row is None:
            raise NotFound(f"no case with number, reference or debtor id {ident!r}")
        summary = CaseSummary(*row)
        invoice_rows = [
            {
                "invoice": r.external_id,
                "due_date": r.due_date.isoformat(),
                "open_amount": str(r.open_amount),
                "status": r.status,
            }
            for r in conn.execute(
                select(invoices)
                .where(invoices.c.case_id == summary.case_id)
                .order_by(invoices.c.due_date, invoices.c.external_id)
            )
        ]
        entries = [
            (
                r.on_date,
                0,
                r.id,
                TimelineEntry(
                    r.on_date, r.kind, _describe(r.kind, r.detail), r.amount, _why(r.kind, r.detail, r.source)
                ),
            )
            for r in conn.execute(select(case_events).where(case_events.c.case_id == summary.case_id))
        ]
        entries += [
            (
                r.due_on,
                1,
                r.id,
                TimelineEntry(
                    r.due_on,
                    f"action:{r.status}",
                    r.action.replace("_", " ") + (f" by {r.channel.replace('_', ' ')}" if r.channel else ""),
                    r.amount,
                    _action_why(r.reason, r.detail),
                ),
            )
            for r in conn.execute(select(actions).where(actions.c.case_id == summary.case_id))
        ]
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    return CaseDetail(summary, invoice_rows, [e[3] for e in entries])
