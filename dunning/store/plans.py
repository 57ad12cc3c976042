"""Payment arrangements in the store: a plan row and its instalment rows, read back as the pure records.

The pure :class:`~dunning.domain.plans.model.Arrangement` is what goes in and comes out; ``plan_key``
is its ``plan_id``. :func:`save_plan` writes a changed plan back (status, instalments added by a
deferral or a re-spread), so the night's review can be stored as it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from dunning.domain.plans.model import (
    Arrangement,
    ArrangementStatus,
    CreatedVia,
    Instalment,
    InstalmentStatus,
    InterestPolicy,
)
from dunning.store.schema import case_events, cases, debtors, payment_plans, plan_instalments

__all__ = [
    "CaseForPlan",
    "StoredPlan",
    "count_case_plans",
    "insert_plan",
    "load_active_plan_references",
    "load_case_for_plan",
    "load_debtor_payment_dates",
    "load_plan",
    "load_plans",
    "open_plan_of_case",
    "save_plan",
]

#: plan statuses that keep a case from getting another plan
OPEN_PLAN_STATUSES = (ArrangementStatus.PROPOSED.value, ArrangementStatus.ACTIVE.value)


@dataclass(frozen=True, slots=True)
class CaseForPlan:
    """What making a plan needs to know of a case."""

    case_id: int
    status: str
    currency: str
    reference: str | None
    open_amount: Decimal
    fees_amount: Decimal
    interest_amount: Decimal
    country: str | None
    debtor_type: str


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """A plan as stored: the pure record, the case it pauses, and how its due day was chosen."""

    plan: Arrangement
    case_id: int
    due_day_explanation: str | None


def load_case_for_plan(conn: Connection, case_id: int) -> CaseForPlan | None:
    row = conn.execute(
        select(
            cases.c.id,
            cases.c.status,
            cases.c.currency,
            cases.c.reference,
            cases.c.open_amount,
            cases.c.fees_amount,
            cases.c.interest_amount,
            debtors.c.country,
            debtors.c.debtor_type,
        )
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(cases.c.id == case_id)
    ).first()
    return None if row is None else CaseForPlan(int(row[0]), *row[1:])


def load_debtor_payment_dates(conn: Connection, case_id: int) -> list[date]:
    """The days payments of the case's debtor arrived (any of its cases), oldest first."""
    debtor = select(cases.c.debtor_id).where(cases.c.id == case_id).scalar_subquery()
    query = (
        select(case_events.c.on_date)
        .join(cases, cases.c.id == case_events.c.case_id)
        .where(cases.c.debtor_id == debtor, case_events.c.kind == "payment_received")
        .order_by(case_events.c.on_date, case_events.c.id)
    )
    return [row[0] for row in conn.execute(query)]


def count_case_plans(conn: Connection, case_id: int) -> int:
    """How many plans the case has had (any status)."""
    count: int = conn.execute(
        select(func.count()).select_from(payment_plans).where(payment_plans.c.case_id == case_id)
    ).scalar_one()
    return count


def open_plan_of_case(conn: Connection, case_id: int) -> str | None:
    """The key of the case's proposed or active plan, if it has one."""
    key: str | None = conn.execute(
        select(payment_plans.c.plan_key).where(
            payment_plans.c.case_id == case_id, payment_plans.c.status.in_(OPEN_PLAN_STATUSES)
        )
    ).scalar()
    return key


def _plan_values(plan: Arrangement) -> dict[str, Any]:
    return {
        "status": plan.status.value,
        "deferrals_used": plan.deferrals_used,
        "breach_notice_on": plan.breach_notice_on,
        "ended_on": plan.ended_on,
    }


def _instalment_values(item: Instalment) -> dict[str, Any]:
    return {
        "due_date": item.due_date,
        "amount": item.amount,
        "reference": item.reference,
        "status": item.status.value,
        "paid": item.paid,
        "waived": item.waived,
        "payments": list(item.payments),
        "deferred_to": item.deferred_to,
    }


def insert_plan(conn: Connection, plan: Arrangement, case_id: int, due_day_explanation: str | None) -> int:
    """Store a new plan and its instalments; returns the plan's row id."""
    plan_row = conn.execute(
        insert(payment_plans).values(
            plan_key=plan.plan_id,
            case_id=case_id,
            case_ids=list(plan.case_ids),
            case_reference=plan.case_reference,
            currency=plan.currency,
            principal=plan.principal,
            costs=plan.costs,
            interest=plan.interest,
            costs_frozen=plan.costs_frozen,
            interest_policy=plan.interest_policy.value,
            created_on=plan.created_on,
            created_by=plan.created_by,
            created_via=plan.created_via.value,
            terms_version=plan.terms_version,
            pack=plan.pack,
            ogm_prefix=plan.ogm_prefix,
            due_day_explanation=due_day_explanation,
            **_plan_values(plan),
        )
    ).inserted_primary_key
    plan_row_id = int(plan_row[0]) if plan_row is not None else 0
    conn.execute(
        insert(plan_instalments),
        [{"plan_id": plan_row_id, "number": i.number, **_instalment_values(i)} for i in plan.instalments],
    )
    return plan_row_id


def save_plan(conn: Connection, plan: Arrangement) -> None:
    """Write a changed plan back: its status and dates, changed instalments, instalments added."""
    row_id = conn.execute(select(payment_plans.c.id).where(payment_plans.c.plan_key == plan.plan_id)).scalar_one()
    conn.execute(update(payment_plans).where(payment_plans.c.id == row_id).values(**_plan_values(plan)))
    stored = {
        int(n)
        for n in conn.execute(select(plan_instalments.c.number).where(plan_instalments.c.plan_id == row_id)).scalars()
    }
    for item in plan.instalments:
        if item.number in stored:
            conn.execute(
                update(plan_instalments)
                .where(plan_instalments.c.plan_id == row_id, plan_instalments.c.number == item.number)
                .values(**_instalment_values(item))
            )
        else:
            conn.execute(
                insert(plan_instalments).values(plan_id=row_id, number=item.number, **_instalment_values(item))
            )


def _instalments(conn: Connection, plan_ids: Sequence[int]) -> dict[int, list[Instalment]]:
    found: dict[int, list[Instalment]] = {i: [] for i in plan_ids}
    if not plan_ids:
        return found
    query = (
        select(plan_instalments)
        .where(plan_instalments.c.plan_id.in_(plan_ids))
        .order_by(plan_instalments.c.plan_id, plan_instalments.c.number)
    )
    for row in conn.execute(query).mappings():
        found[int(row["plan_id"])].append(
            Instalment(
                number=int(row["number"]),
                due_date=row["due_date"],
                amount=row["amount"],
                reference=row["reference"],
                status=InstalmentStatus(row["status"]),
                paid=row["paid"],
                payments=tuple(row["payments"]),
                waived=row["waived"],
                deferred_to=row["deferred_to"],
            )
        )
    return found


def _stored(row: Any, instalments: list[Instalment]) -> StoredPlan:
    plan = Arrangement(
        plan_id=row["plan_key"],
        case_ids=tuple(row["case_ids"]),
        case_reference=row["case_reference"],
        currency=row["currency"],
        principal=row["principal"],
        costs=row["costs"],
        interest=row["interest"],
        instalments=tuple(instalments),
        created_on=row["created_on"],
        created_by=row["created_by"],
        created_via=CreatedVia(row["created_via"]),
        terms_version=row["terms_version"],
        pack=row["pack"],
        costs_frozen=bool(row["costs_frozen"]),
        interest_policy=InterestPolicy(row["interest_policy"]),
        status=ArrangementStatus(row["status"]),
        deferrals_used=int(row["deferrals_used"]),
        breach_notice_on=row["breach_notice_on"],
        ended_on=row["ended_on"],
        ogm_prefix=row["ogm_prefix"],
    )
    return StoredPlan(plan, int(row["case_id"]), row["due_day_explanation"])


def load_plans(conn: Connection, *, status: str | None = None, case_id: int | None = None) -> list[StoredPlan]:
    """Plans in the order they were made, optionally only those of ``status`` or of ``case_id``."""
    query = select(payment_plans).order_by(payment_plans.c.id)
    if status is not None:
        query = query.where(payment_plans.c.status == status)
    if case_id is not None:
        query = query.where(payment_plans.c.case_id == case_id)
    rows = list(conn.execute(query).mappings())
    instalments = _instalments(conn, [int(r["id"]) for r in rows])
    return [_stored(r, instalments[int(r["id"])]) for r in rows]


def load_plan(conn: Connection, plan_key: str) -> StoredPlan | None:
    row = conn.execute(select(payment_plans).where(payment_plans.c.plan_key == plan_key)).mappings().first()
    if row is None:
        return None
    return _stored(row, _instalments(conn, [int(row["id"])])[int(row["id"])])


def load_active_plan_references(conn: Connection, case_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The instalment references of each case's active plan (a payment naming one is the case's)."""
    found: dict[int, list[str]] = {}
    if not case_ids:
        return {}
    query = (
        select(payment_plans.c.case_id, plan_instalments.c.reference)
        .join(plan_instalments, plan_instalments.c.plan_id == payment_plans.c.id)
        .where(payment_plans.c.status == ArrangementStatus.ACTIVE.value, payment_plans.c.case_id.in_(case_ids))
        .order_by(payment_plans.c.case_id, plan_instalments.c.number)
    )
    for case_id, reference in conn.execute(query):
        found.setdefault(int(case_id), []).append(reference)
    return {case_id: tuple(refs) for case_id, refs in found.items()}
