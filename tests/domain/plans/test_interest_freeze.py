"""No interest runs on the days a plan with frozen (or waived) interest was kept: planner and pure rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

from dunning.domain.legal import select_pack
from dunning.domain.legal.rates import BUNDESBANK_BASE_RATE
from dunning.domain.planning.interest import accrue
from dunning.domain.plans.interest_freeze import accrue_outside, frozen_span
from dunning.domain.plans.model import ArrangementStatus, InterestPolicy
from tests.domain.planning.helpers import case, daterange, flow, run_nights

DUE = date(2025, 1, 10)


def test_frozen_days_accrue_nothing_and_the_rest_accrues_as_before() -> None:
    spans = ((date(2024, 3, 1), date(2024, 5, 31)),)
    cut = accrue_outside(D("1000"), date(2024, 1, 1), date(2024, 8, 31), spans, BUNDESBANK_BASE_RATE, spread=D(9))
    before = accrue(D("1000"), date(2024, 1, 1), date(2024, 2, 29), BUNDESBANK_BASE_RATE, spread=D(9))
    after = accrue(D("1000"), date(2024, 6, 1), date(2024, 8, 31), BUNDESBANK_BASE_RATE, spread=D(9))
    assert cut.total == before.total + after.total
    assert all(not (s.start <= date(2024, 4, 1) <= s.end) for s in cut.segments)
    assert sum(s.days for s in cut.segments) == 60 + 92


def test_which_plans_freeze() -> None:
    made, ended = date(2025, 3, 1), date(2025, 6, 1)
    assert frozen_span(ArrangementStatus.BREACHED, InterestPolicy.FROZEN, made, ended) == (made, ended)
    assert frozen_span(ArrangementStatus.ACTIVE, InterestPolicy.WAIVED, made, None) == (made, date.max)
    assert frozen_span(ArrangementStatus.PROPOSED, InterestPolicy.FROZEN, made, None) is None


def test_the_planner_charges_no_interest_for_the_plan_months() -> None:
    """Interest charged after a breached plan leaves out the months the plan ran."""
    f = flow([{"key": "r1", "day": 6, "action": "send_email"}, {"key": "int", "day": 200, "action": "add_interest"}])
    plain = case(amounts=("1000.00",), creditor_is_sme=True)
    plan = (date(2025, 3, 1), date(2025, 6, 30))
    frozen = replace(plain, interest_frozen=(plan,))
    end = date(2025, 7, 31)
    charged_plain, _ = run_nights(plain, f, daterange(DUE, end))
    charged_frozen, _ = run_nights(frozen, f, daterange(DUE, end))
    [full] = [h for h in charged_plain.history if h.action == "add_interest"]
    [cut] = [h for h in charged_frozen.history if h.action == "add_interest"]
    terms = select_pack(plain.debtor.country, plain.debtor.type).interest_terms()
    assert terms is not None
    lost = accrue(D("1000"), plan[0], plan[1], terms.table, spread=terms.spread).total
    assert full.on == cut.on and full.amount is not None and cut.amount is not None
    assert D(0) < cut.amount < full.amount
    # the difference is what the plan months would have cost (each stretch rounded to the cent on its own)
    assert abs(full.amount - cut.amount - lost) <= D("0.02"), (full.amount, cut.amount, lost)
