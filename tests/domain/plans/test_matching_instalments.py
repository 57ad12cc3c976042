"""The matcher knows a plan's instalment references: a payment naming one is its case's (rule 1)."""

from __future__ import annotations

from dataclasses import replace

from dunning.domain.matching.match import Rule, match_payments
from dunning.domain.plans.references import instalment_reference
from tests.domain.matching.builders import D, allocated, case, credit, inv, ogm, outcome

CASE_REF = ogm(1234)
SECOND = instalment_reference(CASE_REF.replace("+", "").replace("/", ""), 2)


def _case(with_plan: bool) -> list:  # type: ignore[type-arg]
    base = case("C1", inv("I1", "300.00"), ref=CASE_REF)
    return [replace(base, other_references=(SECOND,) if with_plan else ())]


def test_a_payment_with_an_instalment_reference_is_matched_to_its_case() -> None:
    printed = f"+++{SECOND[:3]}/{SECOND[3:7]}/{SECOND[7:]}+++"
    result = match_payments([credit("T1", "100.00", ref=printed)], _case(with_plan=True))
    (m,) = result.matched
    assert m.rule is Rule.STRUCTURED_REFERENCE and m.case_id == "C1"
    assert allocated(result, "T1") == {"I1": D("100.00")}
    # the outcome carries the plan's references on to the next payment of the same run
    assert outcome(result, "C1").apply_to(_case(True)[0]).other_references == (SECOND,)


def test_without_an_active_plan_the_reference_matches_nothing() -> None:
    result = match_payments([credit("T1", "100.00", ref=SECOND)], _case(with_plan=False))
    assert result.matched == ()
