"""Make a payment plan for a case, and list the plans.

:func:`create_plan` reads the case, proposes the due day from the debtor's payment history (unless
the creditor names one), checks the terms against the workspace's policy, builds the plan in the pure
core, stores it and places a ``plan_active`` hold on the case, so the nightly run pauses its flow
until the plan ends. A plan made by a person (``dunning plans create``) is agreed: active at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from dunning.domain.legal import select_pack
from dunning.domain.legal.base import DebtorType
from dunning.domain.planning.case_state import HoldKind
from dunning.domain.plans.dueday import DueDayProposal, propose_due_day
from dunning.domain.plans.model import Arrangement, ArrangementStatus, CreatedVia, PlanError
from dunning.domain.plans.policy import PlanPolicy, bounded_policy, check_terms
from dunning.domain.plans.schedule import PlanTerms, build_arrangement
from dunning.errors import NotFound
from dunning.store import Store
from dunning.store.actions import insert_hold
from dunning.store.cases import find_case, insert_case_event
from dunning.store.locks import holding_stage_lock
from dunning.store.plans import (
    StoredPlan,
    count_case_plans,
    insert_plan,
    load_case_for_plan,
    load_debtor_payment_dates,
    load_plans,
    open_plan_of_case,
)

__all__ = ["CreatedPlan", "create_plan", "list_plans", "plan_rows"]

_ENDED_CASE = ("closed", "written_off")


@dataclass(frozen=True, slots=True)
class CreatedPlan:
    plan: Arrangement
    case_id: int
    due_day: DueDayProposal


# A plan is made under the nightly run's lock: the run reads the case's holds to plan its next step, so a plan
# agreed while a run works on the case could get a reminder planned beside it; and two plans made for one case
# at once would both find none open (on PostgreSQL the second then fails on the plan key, a traceback).
# Refused (exit 8) while `dunning run` works; the run is short, so the creditor tries again a moment later.
@holding_stage_lock("run")
def create_plan(
    store: Store,
    case_ident: str,
    *,
    count: int,
    today: date,
    policy: PlanPolicy,
    created_by: str,
    day: int | None = None,
    start: date | None = None,
    created_via: CreatedVia = CreatedVia.CLI,
    ogm_prefix: str = "",
    recorded_at: datetime | None = None,
) -> CreatedPlan:
    """Make an active plan of ``count`` instalments for the case ``case_ident`` and pause its flow.

    ``day``: the day of the month chosen by the creditor (None: proposed from the debtor's payment
    history among the policy's days). ``start``: the first instalment falls due on or after it
    (default ``today``). Refused (:class:`PlanError`) when the case is closed, has an open plan, owes
    nothing, or the terms break the policy.
    """
    with store.begin() as conn:
        summary = find_case(conn, case_ident)
        if summary is None:
            raise NotFound(f"no case {case_ident!r}")
        case = load_case_for_plan(conn, summary.case_id)
        if case is None:  # not reached: found just above in the same transaction
            raise NotFound(f"no case {case_ident!r}")
        if case.status in _ENDED_CASE:
            raise PlanError(f"case {case.case_id} is {case.status}: no plan can be made")
        existing = open_plan_of_case(conn, case.case_id)
        if existing is not None:
            raise PlanError(f"case {case.case_id} already has plan {existing}; cancel it first")
        if not case.reference:
            raise PlanError(f"case {case.case_id} has no payment reference to derive instalment references from")
        owed = (case.fees_amount, case.open_amount, case.interest_amount)
        total = sum(owed, Decimal(0))
        if total <= 0:
            raise PlanError(f"case {case.case_id} owes nothing ({total})")
        proposal = propose_due_day(load_debtor_payment_dates(conn, case.case_id), policy.days_offered, day)
        pack = select_pack(case.country or "", DebtorType.BUSINESS if case.debtor_type == "company" else "consumer")
        bounded = bounded_policy(policy, pack, term=count - 1)
        terms = PlanTerms(
            count=count,
            day_of_month=proposal.day,
            start=start or today,
            created_by=created_by,
            created_via=created_via,
            terms_version=policy.terms_version,
            costs_frozen=bounded.costs_frozen,
            interest_policy=policy.interest,
        )
        check_terms(policy, terms, total, by_creditor=created_via == CreatedVia.CLI)
        plan_key = f"{case.case_id}-{count_case_plans(conn, case.case_id) + 1}"
        plan = build_arrangement(
            plan_key, (str(case.case_id),), case.reference, case.currency, owed, terms, today, pack.code, ogm_prefix
        )
        plan = replace(plan, status=ArrangementStatus.ACTIVE)  # made by a person with the debtor: agreed
        insert_plan(conn, plan, case.case_id, proposal.explanation)
        insert_hold(
            conn,
            case.case_id,
            kind=HoldKind.PLAN_ACTIVE.value,
            reason=f"payment plan {plan_key}",
            start=today,
            until=None,
            source=f"plan:{plan_key}",
        )
        insert_case_event(
            conn,
            case_id=case.case_id,
            on_date=today,
            kind="plan_created",
            detail={"plan": plan_key, "instalments": count, "total": str(plan.total), "by": created_via.value},
            source=f"plan:{plan_key}",
            recorded_at=recorded_at or datetime.now(UTC),
        )
    return CreatedPlan(plan, case.case_id, proposal)


def list_plans(store: Store, *, status: str | None = None) -> list[StoredPlan]:
    """The plans, optionally only those of ``status`` (proposed, active, completed, breached, cancelled)."""
    if status is not None and status not in {s.value for s in ArrangementStatus}:
        raise PlanError(f"status {status!r} is not one of {', '.join(s.value for s in ArrangementStatus)}")
    with store.begin() as conn:
        return load_plans(conn, status=status)


def plan_rows(stored: list[StoredPlan]) -> list[dict[str, Any]]:
    """One row per plan for ``dunning plans`` (table, CSV, JSON)."""
    rows = []
    for item in stored:
        plan = item.plan
        next_open = plan.open_instalments()
        rows.append(
            {
                "plan": plan.plan_id,
                "case": item.case_id,
                "status": plan.status.value,
                "instalments": len(plan.instalments),
                "total": str(plan.total),
                "paid": str(plan.paid),
                "open": str(plan.open),
                "next_due": next_open[0].due_date.isoformat() if next_open else None,
                "next_amount": str(next_open[0].open) if next_open else None,
                "created_on": plan.created_on.isoformat(),
                "created_by": plan.created_by,
                "pack": plan.pack,
            }
        )
    return rows
