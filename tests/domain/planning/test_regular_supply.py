"""Book XIX regular-supply contracts: 3 unpaid due dates a calendar year are reminded free, later ones
may cost at most €7.50 plus postage (pure core: the rule, the planner and the flow check)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from dunning.domain.legal import select_pack
from dunning.domain.legal.belgium import damages_cap, regular_supply_reminder
from dunning.domain.legal.compliance import check_flow
from dunning.domain.planning.assignment import Assignment, assign_flow
from dunning.domain.planning.case_state import CaseState, Debtor, OpenInvoice
from dunning.domain.planning.flows import Condition, parse_flow
from dunning.domain.planning.plan import PlannedAction
from dunning.domain.planning.planner import plan_case

from .helpers import case, daterange, flow, run_nights

JAN, FEB, MAR, APR = (date(2026, m, 15) for m in (1, 2, 3, 4))
BE_CONSUMER = select_pack("BE", "consumer")


def _supply_case(
    dues: tuple[date, ...], reminded: tuple[date, ...], *, supply: tuple[bool, ...] | None = None, **extra: Any
) -> CaseState:
    """A Belgian consumer case whose open bills fall due on ``dues`` (all regular supply by default)."""
    flags = supply if supply is not None else (True,) * len(dues)
    invoices = tuple(
        OpenInvoice(f"BILL-{n}", due, D("84.00"), D("84.00"), flag)
        for n, (due, flag) in enumerate(zip(dues, flags, strict=True))
    )
    return replace(case(**extra), invoices=invoices, regular_supply_reminded=reminded)


def _first_letter(state: CaseState, settings: dict[str, Any], action: str = "send_letter") -> PlannedAction:
    """Plan the first reminder 6 days after the oldest due date and return it."""
    the_flow = flow([{"key": "r1", "day": 6, "action": action, "settings": settings}])
    day = min(i.due_date for i in state.invoices) + timedelta(days=6)
    plan = plan_case(state, the_flow, day)
    (planned,) = plan.actions
    return planned


# ---- the rule --------------------------------------------------------------------------------------------


def test_reminder_for_the_third_unpaid_due_date_of_the_year_is_free() -> None:
    figure = regular_supply_reminder([MAR], [JAN, FEB], D("1.45"))
    assert figure.amount == D("0.00")
    assert "3rd unpaid due date in 2026 (2026-03-15)" in figure.explanation
    assert "first 3 unpaid due dates of a calendar year are free" in figure.explanation


def test_reminder_for_the_fourth_unpaid_due_date_costs_at_most_7_50_plus_postage() -> None:
    by_email = regular_supply_reminder([APR], [JAN, FEB, MAR])
    assert by_email.amount == D("7.50")
    assert by_email.explanation.startswith("€7.50 = Book XIX regular supply: 4th unpaid due date in 2026")
    by_post = regular_supply_reminder([APR], [JAN, FEB, MAR], D("1.45"))
    assert by_post.amount == D("8.95") and "plus postage €1.45" in by_post.explanation
    later = regular_supply_reminder([date(2026, 9, 15)], [JAN, FEB, MAR, APR, date(2026, 6, 15)])
    assert later.amount == D("7.50") and "6th unpaid due date in 2026" in later.explanation


def test_a_new_calendar_year_starts_the_count_again() -> None:
    reminded = [JAN, FEB, MAR, APR, date(2026, 5, 15)]
    january = regular_supply_reminder([date(2027, 1, 15)], reminded)
    assert january.amount == D("0.00") and "1st unpaid due date in 2027" in january.explanation
    # a reminder for December (the 6th of 2026) and January (the 1st of 2027) is for a 4th-or-later one
    both = regular_supply_reminder([date(2026, 12, 15), date(2027, 1, 15)], reminded)
    assert both.amount == D("7.50") and "6th unpaid due date in 2026" in both.explanation
    # the count is by the due date's year, not the reminder's: three 2026 dates and one from 2025
    assert regular_supply_reminder([MAR], [date(2025, 12, 15), JAN, FEB]).amount == D("0.00")


def test_due_dates_count_once_and_a_reminder_for_old_due_dates_only_is_free() -> None:
    # two bills falling due on one day are one due date: the 3rd, not the 3rd and 4th
    assert regular_supply_reminder([MAR, MAR], [JAN, FEB]).amount == D("0.00")
    # a reminder for due dates that earlier reminders were already for adds none
    assert regular_supply_reminder([MAR], [JAN, FEB, MAR, APR]).amount == D("0.00")
    # a reminder for the 3rd and 4th at once is a reminder for the 4th
    assert regular_supply_reminder([MAR, APR], [JAN, FEB]).amount == D("7.50")


def test_packs_without_the_rule_keep_every_first_reminder_free() -> None:
    for country in ("DE", "NL", "FR"):
        pack = select_pack(country, "consumer")
        assert pack.regular_supply_fee is None
        assert pack.regular_supply_allowance([APR], [JAN, FEB, MAR], D(0)) is None
    assert BE_CONSUMER.regular_supply_fee == D("7.50")


# ---- the planner -----------------------------------------------------------------------------------------


def test_planner_charges_the_fourth_due_date_reminder_with_postage_and_explains_it() -> None:
    state = _supply_case((APR,), (JAN, FEB, MAR), has_email=False)
    letter = _first_letter(state, {"fee": "legal_max", "postage": "1.45"})
    assert letter.amount == D("8.95")
    figure = next(f for f in letter.figures if f.name == "regular_supply_fee")
    assert figure.explanation == (
        "€8.95 = Book XIX regular supply: 4th unpaid due date in 2026 (2026-04-15): at most €7.50 plus postage €1.45"
    )
    assert any("4th unpaid due date in 2026" in r for r in letter.rules)
    # still the first reminder: the Book XIX mentions and the 14-day period apply as before
    assert "penalty_clause_amount" in {f.name for f in letter.figures}
    assert letter.earliest_legal_date == date(2026, 5, 8)  # posted Tue 04-21, period from Fri 04-24, +14 days


def test_planner_caps_the_fee_and_ignores_postage_by_email() -> None:
    state = _supply_case((APR,), (JAN, FEB, MAR))
    assert _first_letter(state, {"fee": "20.00", "postage": "1.45"}).amount == D("8.95")
    assert _first_letter(state, {"fee": "5.00"}).amount == D("5.00")
    assert _first_letter(state, {"fee": "legal_max"}, "send_email").amount == D("7.50")
    final = _first_letter(state, {"fee": "legal_max", "postage": "1.45", "channel": "email"}, "send_final_notice")
    assert final.amount == D("7.50")


def test_planner_keeps_the_third_due_date_reminder_free_and_says_why() -> None:
    letter = _first_letter(_supply_case((MAR,), (JAN, FEB)), {"fee": "legal_max", "postage": "1.45"})
    assert letter.amount == D("0.00")
    assert "3rd unpaid due date in 2026" in letter.rules[0] and letter.rules[0].endswith("its fee is dropped")
    assert {f.name: f.amount for f in letter.figures}["regular_supply_fee"] == D("0.00")


def test_planner_counts_only_bills_overdue_on_the_reminder_day() -> None:
    # Reminder on 03-21 for March; April's bill is in the case but not yet due: it is the 3rd, free.
    letter = _first_letter(_supply_case((MAR, APR), (JAN, FEB)), {"fee": "legal_max"})
    assert letter.amount == D("0.00")


def test_planner_year_boundary_resets_the_count() -> None:
    reminded = (date(2025, 9, 15), date(2025, 10, 15), date(2025, 11, 15), date(2025, 12, 15))
    letter = _first_letter(_supply_case((JAN,), reminded), {"fee": "legal_max"})
    assert letter.amount == D("0.00") and "1st unpaid due date in 2026" in letter.rules[0]
    late_in_year = _first_letter(_supply_case((date(2025, 12, 20),), reminded), {"fee": "legal_max"})
    assert late_in_year.amount == D("7.50") and "5th unpaid due date in 2025" in late_in_year.rules[0]


def test_non_regular_and_mixed_cases_are_unaffected() -> None:
    plain = _supply_case((APR,), (JAN, FEB, MAR), supply=(False,))
    letter = _first_letter(plain, {"fee": "legal_max", "postage": "1.45"})
    assert letter.amount == D("0.00")
    assert letter.rules[0] == "BE-consumer: the first reminder is free; its fee is dropped"
    assert "regular_supply_fee" not in {f.name for f in letter.figures}
    # a case that also holds another debt keeps the free first reminder
    mixed = _supply_case((APR, APR), (JAN, FEB, MAR), supply=(True, False))
    assert not mixed.regular_supply and _first_letter(mixed, {"fee": "legal_max"}).amount == D("0.00")
    # other packs: a German regular-supply consumer's first reminder stays free
    german = _supply_case((APR,), (JAN, FEB, MAR), country="DE")
    assert _first_letter(german, {"fee": "legal_max"}).amount == D("0.00")


def test_the_charged_reminder_counts_against_the_later_damages_cap() -> None:
    the_flow = flow(
        [
            {"key": "r1", "day": 6, "action": "send_letter", "settings": {"fee": "legal_max", "postage": "1.45"}},
            {"key": "fee", "day": 40, "action": "add_fee"},
        ]
    )
    state = _supply_case((APR,), (JAN, FEB, MAR), has_email=False)
    state, _ = run_nights(state, the_flow, daterange(APR, date(2026, 6, 30)))
    amounts = {h.step_key: h.amount for h in state.history}
    assert amounts == {"r1": D("8.95"), "fee": damages_cap(D("84.00")) - D("8.95")}


def test_when_regular_supply_routes_steps_and_assignment() -> None:
    the_flow = flow(
        [
            {"key": "supply", "day": 6, "action": "send_email", "when": {"regular_supply": True}},
            {"key": "other", "day": 6, "action": "send_letter", "when": {"regular_supply": False}},
        ]
    )
    supply_plan = plan_case(_supply_case((APR,), ()), the_flow, APR + timedelta(days=6))
    other_plan = plan_case(_supply_case((APR,), (), supply=(False,)), the_flow, APR + timedelta(days=6))
    assert [a.step_key for a in supply_plan.actions] == ["supply"]
    assert [a.step_key for a in other_plan.actions] == ["other"]
    rules = Assignment(((Condition(regular_supply=True), "utility"),), "default")
    debtor = Debtor("d1", "consumer", "BE")  # type: ignore[arg-type]
    assert assign_flow(rules, debtor, D(84), regular_supply=True) == "utility"
    assert assign_flow(rules, debtor, D(84)) == "default"
    assert not Condition(regular_supply=True).is_certain
    bad, problems = parse_flow(
        {"name": "t", "version": 1, "steps": [{"day": 1, "action": "wait", "when": {"regular_supply": "yes"}}]}, "t"
    )
    assert bad is None and "expected true or false" in problems[0].message


# ---- the flow check --------------------------------------------------------------------------------------


def _errors(steps: list[dict[str, Any]], country: str = "BE") -> list[str]:
    return [p.message for p in check_flow(flow(steps), select_pack(country, "consumer")) if p.severity == "error"]


SUPPLY = {"regular_supply": True}


@pytest.mark.parametrize(
    ("action", "settings"),
    [
        ("send_letter", {"fee": "7.50"}),
        ("send_letter", {"fee": "legal_max"}),
        ("send_letter", {"fee": "8.95", "postage": "1.45"}),
        ("send_email", {"fee": "7.50"}),
    ],
)
def test_flow_check_accepts_a_regular_supply_reminder_fee_within_the_maximum(
    action: str, settings: dict[str, Any]
) -> None:
    assert _errors([{"day": 6, "action": action, "settings": settings, "when": SUPPLY}]) == []


@pytest.mark.parametrize(
    ("action", "settings"),
    [
        ("send_letter", {"fee": "7.51"}),
        ("send_letter", {"fee": "9.00", "postage": "1.45"}),
        ("send_final_notice", {"fee": "8.95", "postage": "1.45", "channel": "email"}),  # no postage by email
        ("send_letter", {"fee": "25.00"}),
    ],
)
def test_flow_check_refuses_a_regular_supply_reminder_fee_above_the_maximum(
    action: str, settings: dict[str, Any]
) -> None:
    (error,) = _errors([{"day": 6, "action": action, "settings": settings, "when": SUPPLY}])
    assert "regular-supply contract: at most 7.50" in error and "4th unpaid due date" in error


def test_flow_check_still_refuses_a_first_reminder_fee_not_limited_to_regular_supply() -> None:
    (error,) = _errors([{"day": 6, "action": "send_letter", "settings": {"fee": "7.50"}}])
    assert "must be free: remove its fee" in error
    not_supply = {"regular_supply": False}
    (error,) = _errors([{"day": 6, "action": "send_letter", "settings": {"fee": "7.50"}, "when": not_supply}])
    assert "must be free" in error
    # a German consumer's first reminder is free even under a supply contract
    (error,) = _errors([{"day": 6, "action": "send_letter", "settings": {"fee": "1.00"}, "when": SUPPLY}], "DE")
    assert "must be free" in error


def test_flow_check_keeps_the_waiting_period_for_costs_after_the_regular_supply_reminder() -> None:
    errors = _errors(
        [
            {"key": "r1", "day": 6, "action": "send_letter", "settings": {"fee": "legal_max"}, "when": SUPPLY},
            {"key": "fee", "day": 10, "action": "add_fee"},
        ]
    )
    assert len(errors) == 1 and "falls inside the 14-day period" in errors[0]
