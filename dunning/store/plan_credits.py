"""What the bank paid into a plan, and what each payment paid of each instalment (``plan_credits``).

A payment counts for a plan when reconciliation (or a person, from the review queue) applied it to
the plan's case after the plan was agreed: a ``payment_received`` event recorded after the plan's
``plan_created`` event. What it brought is what its allocations gave the case (principal, costs,
interest and bank charges written off; a surplus booked as credit is not the plan's, nor what it paid of
an invoice added to the case after the plan was made (an ``invoices_added`` event after ``plan_created``):
the plan covers what was owed when it was agreed; that money pays that invoice, the instalments stay open).
It is undone when every allocation of it was reversed (a return or a camt reversal).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, and_, insert, select, update

from dunning.store.schema import (
    actions,
    allocations,
    bank_transactions,
    case_events,
    cases,
    debtors,
    holds,
    invoices,
    payment_plans,
    plan_credits,
)

__all__ = [
    "CreditRecord",
    "PlanContact",
    "PlanPaymentRecord",
    "close_case_for_plan",
    "insert_credits",
    "load_credits",
    "load_last_plan_actions",
    "load_plan_contact",
    "load_plan_payments",
    "mark_credits_reversed",
    "plan_row_id",
    "release_plan_hold",
    "restore_plan_hold",
]

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class PlanPaymentRecord:
    """A bank payment applied to the plan's case after the plan was agreed."""

    transaction_id: int
    key: str
    reference: str | None
    amount: Decimal  # what it brought to the case (credit aside)
    reversed: bool


@dataclass(frozen=True, slots=True)
class CreditRecord:
    transaction_id: int
    key: str
    number: int
    amount: Decimal
    reversed_on: date | None


def plan_row_id(conn: Connection, plan_key: str) -> int:
    return int(conn.execute(select(payment_plans.c.id).where(payment_plans.c.plan_key == plan_key)).scalar_one())


def _invoice_ids(conn: Connection, numbers: Iterable[str]) -> set[int]:
    wanted = sorted(set(numbers))
    if not wanted:
        return set()
    return {int(i) for i in conn.execute(select(invoices.c.id).where(invoices.c.external_id.in_(wanted))).scalars()}


def load_plan_payments(conn: Connection, case_id: int, plan_key: str) -> list[PlanPaymentRecord]:
    """The payments applied to ``case_id`` after plan ``plan_key`` was made, in the order they were applied."""
    made = conn.execute(
        select(case_events.c.id).where(
            case_events.c.case_id == case_id,
            case_events.c.kind == "plan_created",
            case_events.c.source == f"plan:{plan_key}",
        )
    ).scalar()
    if made is None:
        return []
    keys: list[str] = []
    later: set[str] = set()  # invoices added to the case after the plan was made: not the plan's
    query = (
        select(case_events.c.kind, case_events.c.detail)
        .where(case_events.c.case_id == case_id, case_events.c.kind.in_(("payment_received", "invoices_added")),
               case_events.c.id > made)
        .order_by(case_events.c.id)
    )
    for kind, detail in conn.execute(query):
        if kind == "invoices_added":
            later.update(str(number) for number in (detail or {}).get("invoices") or ())
            continue
        key = (detail or {}).get("transaction")
        if key and key not in keys:
            keys.append(str(key))
    if not keys:
        return []
    not_the_plans = _invoice_ids(conn, later)
    rows = conn.execute(
        select(
            bank_transactions.c.id,
            bank_transactions.c.key,
            bank_transactions.c.reference,
            allocations.c.amount,
            allocations.c.reversed,
            allocations.c.invoice_id,
        )
        .join(allocations, allocations.c.transaction_id == bank_transactions.c.id)
        .where(bank_transactions.c.key.in_(keys), allocations.c.case_id == case_id, allocations.c.kind != "credit")
    )
    amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    undone: dict[str, bool] = {}
    meta: dict[str, tuple[int, str | None]] = {}
    for tx_id, key, reference, amount, is_reversed, invoice_id in rows:
        if invoice_id is not None and int(invoice_id) in not_the_plans:
            continue  # it paid an invoice the plan does not cover (added later): that invoice's, not an instalment's
        amounts[key] += amount
        undone[key] = undone.get(key, True) and bool(is_reversed)
        meta[key] = (int(tx_id), reference)
    return [
        PlanPaymentRecord(meta[k][0], k, meta[k][1], amounts[k], undone[k])
        for k in keys
        if k in meta and amounts[k] > 0
    ]


def load_credits(conn: Connection, plan_id: int) -> list[CreditRecord]:
    query = (
        select(
            plan_credits.c.transaction_id,
            bank_transactions.c.key,
            plan_credits.c.number,
            plan_credits.c.amount,
            plan_credits.c.reversed_on,
        )
        .join(bank_transactions, bank_transactions.c.id == plan_credits.c.transaction_id)
        .where(plan_credits.c.plan_id == plan_id)
        .order_by(plan_credits.c.id)
    )
    return [CreditRecord(int(r[0]), r[1], int(r[2]), r[3], r[4]) for r in conn.execute(query)]


def insert_credits(
    conn: Connection, plan_id: int, transaction_id: int, parts: Iterable[tuple[int, Decimal]], on_date: date
) -> None:
    rows = [
        {"plan_id": plan_id, "transaction_id": transaction_id, "number": n, "amount": a, "on_date": on_date}
        for n, a in parts
    ]
    if rows:
        conn.execute(insert(plan_credits), rows)


def mark_credits_reversed(conn: Connection, plan_id: int, transaction_id: int, on_date: date) -> None:
    conn.execute(
        update(plan_credits)
        .where(
            plan_credits.c.plan_id == plan_id,
            plan_credits.c.transaction_id == transaction_id,
            plan_credits.c.reversed_on.is_(None),
        )
        .values(reversed_on=on_date)
    )


def release_plan_hold(conn: Connection, case_id: int, plan_key: str, on: date) -> None:
    """Lift the plan's own ``plan_active`` hold (other holds of the case stay)."""
    conn.execute(
        update(holds)
        .where(and_(holds.c.case_id == case_id, holds.c.source == f"plan:{plan_key}", holds.c.released_on.is_(None)))
        .values(released_on=on)
    )


def close_case_for_plan(conn: Connection, case_id: int, on: date, recorded_at: datetime) -> bool:
    """Close the case of a completed plan unless reconciliation already closed it; True when closed here."""
    status = conn.execute(select(cases.c.status).where(cases.c.id == case_id)).scalar_one()
    if status == "closed":
        return False
    conn.execute(
        update(cases)
        .where(cases.c.id == case_id)
        .values(status="closed", closed_on=on, close_reason="plan_completed", next_action_on=None)
    )
    return True


@dataclass(frozen=True, slots=True)
class PlanContact:
    """How the bot reaches a plan's debtor, and the debtor's rule pack inputs (personal data: never logged)."""

    email: bool
    phone: bool
    country: str | None
    debtor_type: str
    case_status: str
    flow: str | None = None
    flow_version: int | None = None
    postal: bool = False  # street, postal code and city: a letter can reach the debtor


def load_plan_contact(conn: Connection, case_id: int) -> PlanContact:
    row = conn.execute(
        select(debtors.c.email, debtors.c.email_invalid, debtors.c.phone, debtors.c.country, debtors.c.debtor_type,
               cases.c.status, cases.c.flow, cases.c.flow_version, debtors.c.street, debtors.c.postal_code,
               debtors.c.city)
        .join(cases, cases.c.debtor_id == debtors.c.id)
        .where(cases.c.id == case_id)
    ).one()
    postal = all(str(part or "").strip() for part in row[8:11])
    return PlanContact(bool(row[0]) and not row[1], bool(row[2]), row[3], row[4], row[5], row[6], row[7], postal)


def load_last_plan_actions(conn: Connection, names: Iterable[str]) -> dict[str, tuple[str, date, str]]:
    """Each plan's latest bot action (``plan:<plan key>:...`` keys): (action, day, status)."""
    query = (
        select(actions.c.idempotency_key, actions.c.action, actions.c.due_on, actions.c.status)
        .where(actions.c.action.in_(list(names)))
        .order_by(actions.c.id)
    )
    found: dict[str, tuple[str, date, str]] = {}
    for key, action, due_on, status in conn.execute(query):
        parts = str(key).split(":")
        if len(parts) >= 3 and parts[0] == "plan":
            found[parts[1]] = (action, due_on, status)
    return found


def restore_plan_hold(conn: Connection, case_id: int, plan_key: str) -> None:
    """Place the plan's ``plan_active`` hold again (a reversal made a completed plan active again)."""
    conn.execute(
        update(holds).where(holds.c.case_id == case_id, holds.c.source == f"plan:{plan_key}").values(released_on=None)
    )
