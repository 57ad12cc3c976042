"""What plans a case could have: the counts the policy allows, their instalments, and the due day that fits.

:func:`propose_plans` reads the case and its debtor's payment history, and asks the pure core: the
instalment counts the policy (bounded by the debtor's legal pack) offers for what is owed
(:func:`~dunning.domain.plans.policy.offered_counts`), each split exact to the cent, and the due day
from the days earlier payments arrived (:func:`~dunning.domain.plans.dueday.propose_due_day`) with its
one-line explanation. Nothing is stored: ``dunning plans create`` agrees one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from dunning.domain.legal import select_pack
from dunning.domain.legal.base import DebtorType
from dunning.domain.plans.dueday import DueDayProposal, propose_due_day
from dunning.domain.plans.model import InterestPolicy, PlanError
from dunning.domain.plans.policy import PlanPolicy, bounded_policy, offered_counts, term_months
from dunning.domain.plans.schedule import monthly_due_dates, split_amount
from dunning.errors import NotFound
from dunning.store import Store
from dunning.store.cases import find_case
from dunning.store.plans import load_case_for_plan, load_debtor_payment_dates, open_plan_of_case

__all__ = ["PlanOption", "PlanProposal", "propose_plans", "propose_plans_in"]


@dataclass(frozen=True, slots=True)
class PlanOption:
    count: int
    instalment: Decimal  # every instalment but the last
    last_instalment: Decimal  # takes the rounding
    first_due: date
    last_due: date

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "instalment": str(self.instalment),
            "last_instalment": str(self.last_instalment),
            "first_due": self.first_due.isoformat(),
            "last_due": self.last_due.isoformat(),
            "months": term_months(self.count),
        }


@dataclass(frozen=True, slots=True)
class PlanProposal:
    case_id: int
    currency: str
    total: Decimal
    pack: str
    due_day: DueDayProposal
    options: tuple[PlanOption, ...]
    law_changes: tuple[str, ...]
    existing_plan: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "currency": self.currency,
            "total": str(self.total),
            "pack": self.pack,
            "due_day": {"day": self.due_day.day, "explanation": self.due_day.explanation,
                        "from_history": self.due_day.from_history},
            "plans": [o.as_dict() for o in self.options],
            "law": list(self.law_changes),
            "existing_plan": self.existing_plan,
        }


def propose_plans(
    store: Store, case_ident: str | int, *, today: date, policy: PlanPolicy, start: date | None = None
) -> PlanProposal:
    """The plans the policy allows for case ``case_ident`` (see the module docstring); stores nothing.

    ``case_ident``: what a person types (a case number, a reference, a debtor id), or a case's id as an
    int (the pay page: one primary-key lookup, not the search over every case a typed one needs).
    """
    with store.begin() as conn:
        return propose_plans_in(conn, case_ident, today=today, policy=policy, start=start)


def propose_plans_in(
    conn: Connection,
    case_ident: str | int,
    *,
    today: date,
    policy: PlanPolicy,
    start: date | None = None,
    plans: bool = True,
) -> PlanProposal:
    """:func:`propose_plans` in the caller's transaction ``conn`` (the pay page reads its parts in one).

    ``plans=False``: the caller read in ``conn`` that the case has no plan row, so none is open.
    """
    if isinstance(case_ident, int):
        case = load_case_for_plan(conn, case_ident)
    else:
        summary = find_case(conn, case_ident)
        case = None if summary is None else load_case_for_plan(conn, summary.case_id)
    if case is None:
        raise NotFound(f"no case {case_ident!r}")
    history = load_debtor_payment_dates(conn, case.case_id)
    existing = open_plan_of_case(conn, case.case_id) if plans else None
    if case.status in ("closed", "written_off"):
        raise PlanError(f"case {case.case_id} is {case.status}: no plan can be made")
    interest = Decimal("0.00") if policy.interest == InterestPolicy.WAIVED else case.interest_amount
    total = case.fees_amount + case.open_amount + interest
    if total <= 0:
        raise PlanError(f"case {case.case_id} owes nothing ({total})")
    pack = select_pack(case.country or "", DebtorType.BUSINESS if case.debtor_type == "company" else "consumer")
    bounded = bounded_policy(policy, pack)
    due_day = propose_due_day(history, policy.days_offered)
    first_from = start or today
    options = []
    for count in offered_counts(policy, total):
        amounts = split_amount(total, count)
        dates = monthly_due_dates(first_from, due_day.day, count)
        options.append(PlanOption(count, amounts[0], amounts[-1], dates[0], dates[-1]))
    return PlanProposal(
        case.case_id, case.currency, total, pack.code, due_day, tuple(options), bounded.changes, existing
    )
