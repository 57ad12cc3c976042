"""The plan policy: clear errors, the law as floor per pack, the plans offered, terms checked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dunning.domain.legal import ALL_PACKS, select_pack
from dunning.domain.plans.model import CreatedVia, PlanError
from dunning.domain.plans.policy import (
    BreachRule,
    PlanPolicy,
    bounded_policy,
    check_policy,
    check_terms,
    offered_counts,
)
from dunning.domain.plans.schedule import PlanTerms


def test_a_contradictory_policy_names_each_setting() -> None:
    with pytest.raises(PlanError) as caught:
        PlanPolicy(max_count=13, max_term_months=6, days_offered=(1, 30), min_instalment=Decimal(0))
    message = str(caught.value)
    assert "max_count: 13 monthly instalments take 12 months, more than max_term_months: 6" in message
    assert "days_offered: 30 is not between 1 and 28" in message
    assert "min_instalment: 0 is not above zero" in message


def test_german_consumer_law_raises_the_breach_rule_and_sets_the_order() -> None:
    policy = PlanPolicy(breach=BreachRule(missed_in_a_row=1))
    de = bounded_policy(policy, select_pack("DE", "consumer"))
    assert (de.breach.missed_in_a_row, de.breach.arrears_percent, de.breach.notice_days) == (2, Decimal(10), 14)
    assert de.allocation == ("costs", "principal", "interest")
    lenient = BreachRule(arrears_percent=Decimal(0))
    de_consumer = select_pack("DE", "consumer")
    long_plan = bounded_policy(PlanPolicy(max_count=48, max_term_months=48, breach=lenient), de_consumer)
    assert long_plan.breach.arrears_percent == Decimal(5)  # § 498: at least 5 % above three years
    strict = bounded_policy(PlanPolicy(max_count=48, max_term_months=48), select_pack("DE", "consumer"))
    assert strict.breach.arrears_percent == Decimal(10)  # a policy stricter than the law is kept
    business = bounded_policy(policy, select_pack("DE", "business"))
    assert business.breach.missed_in_a_row == 1 and business.changes == ()


def test_costs_stop_for_belgian_consumers_even_when_the_policy_says_otherwise() -> None:
    policy = PlanPolicy(costs_frozen=False)
    assert bounded_policy(policy, select_pack("BE", "consumer")).costs_frozen is True
    assert bounded_policy(policy, select_pack("NL", "consumer")).costs_frozen is False


def test_check_policy_reports_what_the_law_changed_per_pack() -> None:
    problems = check_policy(PlanPolicy(breach=BreachRule(missed_in_a_row=1), costs_frozen=False), ALL_PACKS)
    messages = [p.message for p in problems]
    assert all(p.severity == "warning" and p.where == "plans" for p in problems)
    assert any(m.startswith("DE-consumer: breach.missed_in_a_row 1 raised to 2 (§ 498(1) BGB") for m in messages)
    assert any(m.startswith("BE-consumer: costs_frozen false overridden") for m in messages)
    assert any("paid deferral, consumer credit" in m for m in messages)
    assert check_policy(PlanPolicy(enabled=False), ALL_PACKS) == []


def test_offered_counts_keep_the_minimum_instalment_and_the_term() -> None:
    policy = PlanPolicy(max_count=12, max_term_months=12, min_instalment=Decimal("25.00"))
    assert offered_counts(policy, Decimal("100.00")) == (2, 3, 4)
    assert offered_counts(policy, Decimal("10000.00")) == tuple(range(2, 13))
    assert offered_counts(PlanPolicy(enabled=False), Decimal("10000.00")) == ()


def test_terms_outside_the_policy_are_refused_with_reasons() -> None:
    policy = PlanPolicy(max_count=6, max_term_months=6, min_instalment=Decimal("25.00"), days_offered=(1, 15))
    terms = PlanTerms(6, 10, date(2027, 1, 1), "debtor", CreatedVia.PAY_PAGE, "1")
    with pytest.raises(PlanError) as caught:
        check_terms(policy, terms, Decimal("120.00"))
    assert "120.00 in 6 instalments gives 20.00, below the minimum instalment 25.00" in str(caught.value)
    assert "day 10 is not offered (days offered: 1, 15)" in str(caught.value)
    check_terms(
        policy, PlanTerms(4, 10, date(2027, 1, 1), "clerk", CreatedVia.CLI, "1"), Decimal("120.00"), by_creditor=True
    )
    with pytest.raises(PlanError, match="the policy allows 2 to 6"):
        check_terms(policy, PlanTerms(7, 1, date(2027, 1, 1), "clerk", CreatedVia.CLI, "1"), Decimal("900"))
