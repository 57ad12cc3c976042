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

from sqlalchemy import Connection

from dunning.domain.matching.match import InvalidMatchInput, apply_reviewed
from dunning.domain.planning.case_state import REVIEW_HOLD_EVENT, REVIEW_HOLD_LIFTED
from dunning.errors import InputError, NotFound
from dunning.store import Store
from dunning.store.cases import NewCaseEvent, insert_case_events, load_events_of_kinds
from dunning.store.credits import REFUND
from dunning.store.locks import holding_stage_lock
from dunning.store.payments import (
    JsonObject,
    record_from_json,
    record_to_json,
    set_transaction_matched,
)
from dunning.store.review import ReviewRecord, decide_review_item, load_review_items
from dunning.usecases.reconcile.booking import Applier, CaseChange, load_cases
from dunning.usecases.reconcile.credits import raise_refund_items
from dunning.usecases.reconcile.decisions import write_off_detail
from dunning.usecases.reconcile.settings import HISTORY_DAYS, match_config
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
    candidates: tuple[JsonObject, ...]
    evidence: tuple[str, ...]
    #: payment: a bank payment to apply (accept, reject); refund: a case's credit (refund, keep, ignore)
    kind: str = "payment"
    #: a refund item's credit (the money the case holds for the debtor)
    credit: Decimal | None = None

    def as_dict(self) -> JsonObject:
        return {
            "id": self.id,
            "kind": self.kind,
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
            "credit": None if self.credit is None else str(self.credit),
        }

    def candidates_text(self) -> str:
        """``case 7 (0.92: similar name; equals the open total)``; for a table cell."""
        parts = []
        for c in self.candidates:
            notes = "; ".join(e[2] if isinstance(e, list | tuple) else str(e) for e in c.get("evidence", []))
            parts.append(f"case {c['case']} ({c['score']:.2f}: {notes})")
        return " | ".join(parts)


def _item(record: ReviewRecord) -> ReviewItem:
    evidence = record.evidence
    detail = record.detail
    return ReviewItem(
        id=record.id,
        status=record.status,
        transaction=record.key,
        booking_date=record.booking_date,
        amount=record.amount,
        currency=record.currency,
        payer_name=detail.get("debtor_name"),
        payer_iban=detail.get("debtor_iban"),
        remittance=record.remittance,
        rule=str(evidence.get("rule", "")),
        reason=str(evidence.get("reason", "")),
        case_id=record.case_id,
        candidates=tuple(evidence.get("candidates", ())),
        evidence=tuple(" ".join(map(str, e)) if isinstance(e, list) else str(e) for e in evidence.get("evidence", ())),
        kind=record.kind,
        credit=Decimal(str(evidence["credit"])) if record.kind == REFUND and "credit" in evidence else None,
    )


def list_review(store: Store, *, status: str | None = "open") -> list[ReviewItem]:
    """The review queue (``status=None``: every item, decided ones too), oldest first."""
    with store.begin() as conn:
        return [_item(record) for record in load_review_items(conn, status=status)]


def _held_cases(conn: Connection, item_id: int) -> list[int]:
    """The cases whose timeline says review item ``item_id`` held them."""
    return sorted(
        {e.case_id for e in load_events_of_kinds(conn, (REVIEW_HOLD_EVENT,)) if e.detail.get("item") == item_id}
    )


def _lifted(item_id: int, how: str) -> JsonObject:
    return {"item": item_id, "reason": f"hold lifted: review item {item_id} {how}; the flow goes on"}


def _open_item(conn: Connection, item_id: int) -> ReviewRecord:
    found = load_review_items(conn, item_id=item_id)
    if not found:
        raise NotFound(f"review item {item_id}: no such item (see 'dunning review')")
    record = found[0]
    if record.kind == REFUND:
        raise ReviewError(
            f"review item {item_id} asks about case {record.case_id}'s credit: decide it with "
            f"'dunning review refund|keep|ignore {item_id}'"
        )
    if record.status != "open":
        raise ReviewError(f"review item {item_id}: already {record.status}")
    return record


# A decision writes payments and cases, as `reconcile` does: it holds reconcile's lock, so a person's accept
# and a night's reconcile never apply to the same case at once.
@holding_stage_lock("reconcile")
def accept_review(
    store: Store,
    workspace: Workspace,
    item_id: int,
    *,
    as_of: date,
    case_id: int | None = None,
    recorded_at: datetime | None = None,
) -> JsonObject:
    """Apply the payment of review item ``item_id`` to ``case_id`` (default: its best candidate)."""
    recorded_at = recorded_at or datetime.now(UTC)
    config = match_config(workspace)
    with store.begin() as conn:
        row = _open_item(conn, item_id)
        chosen = case_id if case_id is not None else row.case_id
        if chosen is None:
            raise ReviewError(f"review item {item_id}: no candidate case; name one with --case")
        record_data = row.detail.get("record")
        if not record_data:
            raise ReviewError(f"review item {item_id}: the payment has no record to apply")
        book = load_cases(conn, since=as_of - timedelta(days=HISTORY_DAYS), only=[chosen])
        case = book.refs.get(str(chosen))
        if case is None:
            raise NotFound(f"case {chosen}: no such case")
        named = [
            c["item"] for c in row.evidence.get("candidates", ()) if str(c.get("case")) == str(chosen) and c.get("item")
        ]
        try:
            applied, allocated = apply_reviewed(
                record_from_json(record_data),
                case,
                named,
                order=config.allocation_order,
                tolerance=config.tolerance_for(row.currency),
                charges=Decimal(str(row.detail.get("charges") or "0")),
            )
        except InvalidMatchInput as exc:
            raise ReviewError(f"review item {item_id}: {exc}") from None
        applier = Applier(conn, book, on_date=as_of, source=f"review:{item_id}", recorded_at=recorded_at)
        applier.allocations(
            row.transaction_id,
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
                **({"write_off": write_off_detail(allocated.write_offs)} if allocated.write_offs else {}),
            },
            row.amount,
        )
        for held in _held_cases(conn, item_id):
            applier.event(str(held), REVIEW_HOLD_LIFTED, _lifted(item_id, f"accepted for case {case.case_id}"))
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
        detail = {**row.detail, "record": record_to_json(applied), "rule": "manual", "case": case.case_id}
        set_transaction_matched(conn, row.transaction_id, detail)
        evidence = {**row.evidence, "decision": {"on": as_of.isoformat(), "decision": "accepted", "case": chosen}}
        decide_review_item(conn, item_id, status="accepted", evidence=evidence, case_id=chosen)
        raise_refund_items(conn, on_date=as_of, recorded_at=recorded_at)  # the payment may have left a credit
    return {
        "item": item_id,
        "case": chosen,
        "status": outcome,
        "applied": str(sum((a.amount for a in allocated.allocations), Decimal(0))),
        "credit": str(allocated.credit),
    }


@holding_stage_lock("reconcile")
def reject_review(store: Store, item_id: int, *, as_of: date, note: str | None = None) -> ReviewItem:
    """Mark review item ``item_id`` rejected: its payment stays unapplied."""
    with store.begin() as conn:
        row = _open_item(conn, item_id)
        decision = {"on": as_of.isoformat(), "decision": "rejected", "note": note}
        decide_review_item(conn, item_id, status="rejected", evidence={**row.evidence, "decision": decision})
        insert_case_events(
            conn,
            [
                NewCaseEvent(
                    held,
                    as_of,
                    REVIEW_HOLD_LIFTED,
                    _lifted(item_id, "rejected"),
                    f"review:{item_id}",
                    datetime.now(UTC),
                )
                for held in _held_cases(conn, item_id)
            ],
        )
        return _item(load_review_items(conn, item_id=item_id)[0])
