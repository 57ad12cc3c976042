"""Credits seen and handled: an overpaid case asks a person whether to refund, keep or ignore its credit.

A payment beyond what a case owes leaves a credit on it (``cases.credit_amount``, shown by
``dunning cases``, ``case`` and the reconciliation report). Every reconciliation, and every
payment accepted from the review queue, ends with :func:`raise_refund_items`, which keeps the
review queue in step with the cases' credits:

* a case with a credit and no open refund item gets one (kind ``refund``, tied to the payment
  that brought the credit, so the queue shows who paid, when and from which account), unless a
  person already decided on that credit (kept or ignored) and it did not grow since;
* an open item follows its case's credit when it changes, and is cancelled when the credit is
  gone (the overpaying payment was returned).

A person decides with :func:`decide_credit` (``dunning review refund|keep|ignore ID``):

* **refund**: the credit is to be paid back to the debtor; the case no longer holds it;
* **keep**: the credit stays on the case, for the creditor to set against the next invoice;
* **ignore**: nothing is done; the credit stays shown on the case.

Each decision is recorded on the item and on the case's timeline with who decided, when and why
(the note); a decided item leaves the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Connection

from dunning.errors import InputError, NotFound
from dunning.store import Store
from dunning.store.cases import insert_case_event
from dunning.store.credits import (
    REFUND,
    CreditCaseRecord,
    RefundItemRecord,
    insert_refund_item,
    load_credit_cases,
    load_refund_items,
    set_case_credit,
    update_refund_item,
)
from dunning.store.locks import holding_stage_lock
from dunning.store.payments import JsonObject
from dunning.store.review import load_review_items

__all__ = ["DECISIONS", "CreditDecision", "CreditDecisionError", "RefundOpened", "decide_credit", "raise_refund_items"]

#: what a person can decide about a credit
DECISIONS = ("refund", "keep", "ignore")
ZERO = Decimal("0.00")
_EVENT = {"refund": "credit_refunded", "keep": "credit_kept", "ignore": "credit_ignored"}


class CreditDecisionError(InputError):
    """A decision on a credit that cannot be recorded (a payment item, already decided, unknown decision)."""


@dataclass(frozen=True, slots=True)
class RefundOpened:
    """A refund item opened (or brought up to date) for a case's credit."""

    item_id: int
    case_id: int
    credit: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class CreditDecision:
    """What a person decided about a case's credit."""

    item_id: int
    case_id: int
    decision: str
    credit: Decimal
    currency: str
    credit_left: Decimal
    by: str
    on: date
    note: str | None

    def as_dict(self) -> JsonObject:
        return {
            "item": self.item_id,
            "case": self.case_id,
            "decision": self.decision,
            "credit": str(self.credit),
            "currency": self.currency,
            "credit_left": str(self.credit_left),
            "by": self.by,
            "on": self.on.isoformat(),
            "note": self.note,
        }


def _credit_of(item: RefundItemRecord) -> Decimal:
    return Decimal(str(item.evidence.get("credit", "0")))


def _why(case: CreditCaseRecord, grew_from: Decimal | None) -> str:
    closed = case.status == "closed"
    if grew_from is not None:
        head = f"the credit grew from {grew_from} to {case.credit} {case.currency}"
    else:
        head = f"paid {case.credit} {case.currency} more than was owed"
    where = " (case closed with a credit)" if closed else ""
    return f"{head}{where}: refund it, keep it for the next invoice, or ignore it"


def raise_refund_items(conn: Connection, *, on_date: date, recorded_at: datetime) -> list[RefundOpened]:
    """Open, update or cancel refund items so the queue matches the cases' credits; returns those opened.

    Idempotent: a second call on the same data changes nothing. Call it in the transaction that
    changed the credits.
    """
    credit_cases = load_credit_cases(conn)
    items = load_refund_items(conn, [c.case_id for c in credit_cases])
    opened: list[RefundOpened] = []
    for case in credit_cases:
        history = items.get(case.case_id, [])
        current = next((i for i in reversed(history) if i.status == "open"), None)
        if current is not None:
            if case.credit <= 0:
                decision = {
                    "on": on_date.isoformat(),
                    "decision": "cancelled",
                    "by": "dunning",
                    "note": "the credit is gone (the payment was returned or undone)",
                }
                update_refund_item(
                    conn, current.id, status="cancelled", evidence={**current.evidence, "decision": decision}
                )
                _event(
                    conn,
                    case.case_id,
                    on_date,
                    recorded_at,
                    "refund_item_cancelled",
                    None,
                    {"reason": f"review item {current.id} cancelled: the credit is gone", "item": current.id},
                    source="reconcile",
                )
            elif _credit_of(current) != case.credit:
                update_refund_item(
                    conn,
                    current.id,
                    status="open",
                    evidence={
                        **current.evidence,
                        "credit": str(case.credit),
                        "reason": _why(case, _credit_of(current)),
                    },
                )
            continue
        if case.credit <= 0 or case.transaction_id is None:
            continue
        decided = history[-1] if history else None
        if decided is not None and decided.status in ("keep", "ignore") and _credit_of(decided) >= case.credit:
            continue  # a person already decided on this credit
        grew_from = _credit_of(decided) if decided is not None and decided.status in ("keep", "ignore") else None
        reason = _why(case, grew_from)
        evidence: JsonObject = {
            "rule": "credit",
            "reason": reason,
            "credit": str(case.credit),
            "currency": case.currency,
            "case_status": case.status,
        }
        item_id = insert_refund_item(
            conn, case_id=case.case_id, transaction_id=case.transaction_id, evidence=evidence, recorded_at=recorded_at
        )
        _event(
            conn,
            case.case_id,
            on_date,
            recorded_at,
            "refund_item_opened",
            case.credit,
            {"reason": f"review item {item_id}: {reason}", "item": item_id},
            source="reconcile",
        )
        opened.append(RefundOpened(item_id, case.case_id, case.credit, case.currency))
    return opened


def _event(
    conn: Connection,
    case_id: int,
    on_date: date,
    recorded_at: datetime,
    kind: str,
    amount: Decimal | None,
    detail: JsonObject,
    *,
    source: str,
) -> None:
    insert_case_event(
        conn,
        case_id=case_id,
        on_date=on_date,
        kind=kind,
        detail=detail,
        source=source,
        recorded_at=recorded_at,
        amount=amount,
    )


@holding_stage_lock("reconcile")  # a refund decision writes the case's credit, as reconcile does
def decide_credit(
    store: Store,
    item_id: int,
    decision: str,
    *,
    as_of: date,
    by: str,
    note: str | None = None,
    recorded_at: datetime | None = None,
) -> CreditDecision:
    """Record a person's decision (refund, keep or ignore) on refund item ``item_id``.

    Raises NotFound for an unknown item and CreditDecisionError for a payment item, an item already
    decided or an unknown decision.
    """
    if decision not in DECISIONS:
        raise CreditDecisionError(
            f"review item {item_id}: {decision!r} is not a decision on a credit ({', '.join(DECISIONS)})"
        )
    recorded_at = recorded_at or datetime.now(UTC)
    with store.begin() as conn:
        found = load_review_items(conn, item_id=item_id)
        if not found:
            raise NotFound(f"review item {item_id}: no such item (see 'dunning review')")
        row = found[0]
        if row.kind != REFUND or row.case_id is None:
            raise CreditDecisionError(
                f"review item {item_id} is a payment: apply it with 'dunning review accept "
                f"{item_id}' or 'dunning review reject {item_id}'"
            )
        if row.status != "open":
            raise CreditDecisionError(f"review item {item_id}: already decided ({row.status})")
        case = load_credit_cases(conn, case_ids=[row.case_id])[0]
        left = ZERO if decision == "refund" else case.credit
        if decision == "refund":
            set_case_credit(conn, case.case_id, ZERO)
        record = {"on": as_of.isoformat(), "decision": decision, "by": by, "note": note, "at": recorded_at.isoformat()}
        update_refund_item(
            conn, item_id, status=decision, evidence={**row.evidence, "credit": str(case.credit), "decision": record}
        )
        what = {
            "refund": "to be refunded to the debtor",
            "keep": "kept for the next invoice",
            "ignore": "left as it is",
        }[decision]
        reason = f"credit {case.credit} {case.currency} {what}: decided by {by}" + (f" ({note})" if note else "")
        _event(
            conn,
            case.case_id,
            as_of,
            recorded_at,
            _EVENT[decision],
            case.credit,
            {"reason": reason, "item": item_id, "by": by, "note": note},
            source=f"review:{item_id}",
        )
    return CreditDecision(item_id, case.case_id, decision, case.credit, case.currency, left, by, as_of, note)
