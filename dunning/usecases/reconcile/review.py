"""The review queue: payments the matcher would not apply on its own, and a person's decision.

A suggestion (a known payer whose amount fits several invoices, a similar name and a fitting
amount, a repaired reference...) or an unmatched credit waits in ``review_items`` with its
evidence and scored candidates. :func:`accept_review` applies the payment to the case a person
chose (the best candidate unless told otherwise), through the same pure allocation as the
matcher (:func:`dunning.domain.matching.match.apply_reviewed`: costs, interest, then the oldest
invoice; an invoice the candidate named first), and advances the case exactly like an
automatic match. :func:`reject_review` records that the payment is not ours to apply; it stays
unapplied (to be refunded or booked elsewhere by the creditor).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from dunning.domain.matching.match import InvalidMatchInput, apply_reviewed
from dunning.errors import InputError, NotFound
from dunning.store import Store
from dunning.store.schema import bank_transactions, review_items
from dunning.usecases.reconcile.apply import HISTORY_DAYS
from dunning.usecases.reconcile.booking import Applier, CaseChange, load_cases, record_from_json, record_to_json
from dunning.workspace import Workspace

__all__ = ["ReviewError", "ReviewItem", "accept_review", "list_review", "reject_review"]


class ReviewError(InputError):
    """A review decision that cannot be applied (already decided, no case named, wrong currency)."""


@dataclass(frozen=True)
class ReviewItem:
    """One payment waiting for (or given) a person's decision."""

    id: int
    status: str
    transaction: str
    booking_date: date | None
    amount: Decimal
    currency: str
    payer_name: str | None
    payer_iban: str | None
    remittance: str | None
    rule: str
    reason: str
    case_id: int | None
    candidates: tuple[dict[str, Any], ...]
    evidence: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "transaction": self.transaction,
            "booking_date": self.booking_date.isoformat() if self.booking_date else None,
            "amount": str(self.amount),
            "currency": self.currency,
            "payer_name": self.payer_name,
            "payer_iban": self.payer_iban,
            "remittance": self.remittance,
            "rule": self.rule,
            "reason": self.reason,
            "case": self.case_id,
            "candidates": [dict(c) for c in self.candidates],
            "evidence": list(self.evidence),
        }

    def candidates_text(self) -> str:
        """``case 7 (0.92: similar name; equals the open total)``; for a table cell."""
        parts = []
        for c in self.candidates:
            notes = "; ".join(e[2] if isinstance(e, list | tuple) else str(e) for e in c.get("evidence", []))
            parts.append(f"case {c['case']} ({c['score']:.2f}: {notes})")
        return " | ".join(parts)


def _query() -> Any:
    return select(
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
    ).join(bank_transactions, bank_transactions.c.id == review_items.c.transaction_id)


def _item(row: Any) -> ReviewItem:
    evidence = row.evidence or {}
    detail = row.detail or {}
    return ReviewItem(
        id=row.id,
        status=row.status,
        transaction=row.key,
        booking_date=row.booking_date,
        amount=row.amount,
        currency=row.currency,
        payer_name=detail.get("debtor_name"),
        payer_iban=detail.get("debtor_iban"),
        remittance=row.remittance,
        rule=str(evidence.get("rule", "")),
        reason=str(evidence.get("reason", "")),
        case_id=row.case_id,
        candidates=tuple(evidence.get("candidates", ())),
        evidence=tuple(" ".join(map(str, e)) if isinstance(e, list) else str(e) for e in evidence.get("evidence", ())),
    )


def list_review(store: Store, *, status: str | None = "open") -> list[ReviewItem]:
    """The review queue (``status=None``: every item, decided ones too), oldest first."""
    query = _query().order_by(review_items.c.id)
    if status:
        query = query.where(review_items.c.status == status)
    with store.begin() as conn:
        return [_item(row) for row in conn.execute(query)]


def _open_item(conn: Any, item_id: int) -> Any:
    row = conn.execute(_query().where(review_items.c.id == item_id)).first()
    if row is None:
        raise NotFound(f"review item {item_id}: no such item (see 'dunning review')")
    if row.status != "open":
        raise ReviewError(f"review item {item_id}: already {row.status}")
    return row


def accept_review(
    store: Store,
    workspace: Workspace,
    item_id: int,
    *,
    as_of: date,
    case_id: int | None = None,
    recorded_at: datetime | None = None,
) -> dict[str, Any]:
    """Apply the payment of review item ``item_id`` to ``case_id`` (default: its best candidate)."""
    from dunning.usecases.reconcile.run import match_config  # the matcher's settings live with reconcile_files

    recorded_at = recorded_at or datetime.now(UTC)
    config = match_config(workspace)
    with store.begin() as conn:
        row = _open_item(conn, item_id)
        chosen = case_id if case_id is not None else row.case_id
        if chosen is None:
            raise ReviewError(f"review item {item_id}: no candidate case; name one with --case")
        record_data = (row.detail or {}).get("record")
        if not record_data:
            raise ReviewError(f"review item {item_id}: the payment has no record to apply")
        book = load_cases(conn, since=as_of - timedelta(days=HISTORY_DAYS), only=[chosen])
        case = book.refs.get(str(chosen))
        if case is None:
            raise NotFound(f"case {chosen}: no such case")
        named = [
            c["item"]
            for c in (row.evidence or {}).get("candidates", ())
            if str(c.get("case")) == str(chosen) and c.get("item")
        ]
        try:
            applied, allocated = apply_reviewed(
                record_from_json(record_data),
                case,
                named,
                order=config.allocation_order,
                tolerance=config.tolerance,
            )
        except InvalidMatchInput as exc:
            raise ReviewError(f"review item {item_id}: {exc}") from None
        applier = Applier(conn, book, on_date=as_of, source=f"review:{item_id}", recorded_at=recorded_at)
        applier.allocations(
            row.tx_id,
            "manual",
            allocated.allocations,
            allocated.write_offs,
            case.case_id if allocated.credit > 0 else None,
            allocated.credit,
        )
        change = CaseChange(
            case.case_id, {i.item_id: i.open_amount for i in allocated.case.items}, allocated.case.credit
        )
        outcome = applier.change_case(change, why=f"review item {item_id}")
        applier.event(
            case.case_id,
            "payment_received",
            {
                "reason": f"accepted from the review queue (item {item_id})",
                "transaction": row.key,
                "rule": "manual",
                "allocations": [f"{a.item_id} ({a.kind}) {a.amount}" for a in allocated.allocations],
                "credit": str(allocated.credit),
            },
            row.amount,
        )
        applier.event(
            case.case_id,
            "creditor_notified",
            {
                "reason": "tell the creditor's system: payment_received" + (", case_paid" if outcome == "paid" else ""),
                "events": ["payment_received", *(["case_paid"] if outcome == "paid" else [])],
                "status": outcome,
                "delivery": "queued: dunning notify posts it to webhook.url",
            },
        )
        applier.flush()
        detail = {**(row.detail or {}), "record": record_to_json(applied), "rule": "manual", "case": case.case_id}
        conn.execute(
            update(bank_transactions).where(bank_transactions.c.id == row.tx_id).values(status="matched", detail=detail)
        )
        evidence = {
            **(row.evidence or {}),
            "decision": {"on": as_of.isoformat(), "decision": "accepted", "case": chosen},
        }
        conn.execute(
            update(review_items)
            .where(review_items.c.id == item_id)
            .values(status="accepted", case_id=chosen, evidence=evidence)
        )
    return {
        "item": item_id,
        "case": chosen,
        "status": outcome,
        "applied": str(sum((a.amount for a in allocated.allocations), Decimal(0))),
        "credit": str(allocated.credit),
    }


def reject_review(store: Store, item_id: int, *, as_of: date, note: str | None = None) -> ReviewItem:
    """Mark review item ``item_id`` rejected: its payment stays unapplied."""
    with store.begin() as conn:
        row = _open_item(conn, item_id)
        decision = {"on": as_of.isoformat(), "decision": "rejected", "note": note}
        conn.execute(
            update(review_items)
            .where(review_items.c.id == item_id)
            .values(status="rejected", evidence={**(row.evidence or {}), "decision": decision})
        )
        return _item(conn.execute(_query().where(review_items.c.id == item_id)).one())
