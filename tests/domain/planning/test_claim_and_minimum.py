"""Only what is due is claimed, and nothing below a flow's minimum (issue 17, items 2 and 8)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from dunning.domain.legal import select_pack
from dunning.domain.legal.base import DebtorType
from dunning.domain.planning.actions import validate_settings
from dunning.domain.planning.flows import DEFAULT_MINIMUM_AMOUNT, parse_flow
from dunning.domain.planning.planner import plan_case

from .helpers import case, daterange, flow, run_nights

DUE = date(2025, 1, 10)  # the helper's invoices fall due on DUE, DUE + 7, DUE + 14...


def test_the_directive_compensation_counts_late_invoices_only() -> None:
    # Two invoices: due 10 and 17 January. On 11 January only the first is late: €40, not 2 × €40.
    f = flow([{"key": "fee", "day": 1, "action": "add_fee"}])
    state = case(country="BE", kind="business", amounts=("1000.00", "500.00"))
    plan = plan_case(state, f, date(2025, 1, 11))
    fee = next(a for a in plan.actions if a.action == "add_fee")
    assert fee.amount == D("40.00")
    assert "× 1" in fee.figures[0].explanation


def test_interest_runs_only_on_invoices_already_late() -> None:
    f = flow([{"key": "interest", "day": 5, "action": "add_interest"}])
    state = case(country="BE", kind="business", amounts=("1000.00", "500.00"))
    plan = plan_case(state, f, date(2025, 1, 15))
    interest = next(a for a in plan.actions if a.action == "add_interest")
    assert [invoice for invoice, _ in interest.interest] == ["INV-0"]  # INV-1 falls due on the 17th


def test_the_book_xix_notice_states_damages_on_the_overdue_amount() -> None:
    # The first reminder (day 3, 13 January) claims INV-0 only; its damages figure is computed on it.
    f = flow([{"key": "letter", "day": 3, "action": "send_letter"}])
    state = case(country="BE", amounts=("1000.00", "4000.00"), has_email=False)
    plan = plan_case(state, f, date(2025, 1, 13))
    letter = next(a for a in plan.actions if a.action == "send_letter")
    figures = {fig.name: fig.amount for fig in letter.figures}
    expected = {fig.name: fig.amount for fig in select_pack("BE", DebtorType.CONSUMER).notice_figures(D("1000.00"), 1)}
    assert figures["penalty_clause_amount"] == expected["penalty_clause_amount"]
    wrong = {fig.name: fig.amount for fig in select_pack("BE", DebtorType.CONSUMER).notice_figures(D("5000.00"), 2)}
    assert figures["penalty_clause_amount"] != wrong["penalty_clause_amount"]


def test_a_cent_gets_no_letter_and_no_fee() -> None:
    steps = [
        {"key": "letter", "day": 3, "action": "send_letter"},
        {"key": "fee", "day": 40, "action": "add_fee", "settings": {"mode": "fixed", "amount": "20.00"}},
    ]
    state, plans = run_nights(
        case(country="BE", kind="business", amounts=("0.01",)), flow(steps), daterange(DUE, date(2025, 3, 31))
    )
    assert state.history == ()
    assert plans[-1].status == "waiting" and "minimum amount 5.00" in plans[-1].note
    # The same cent on a flow that turns the minimum off is dunned (the old behaviour, on purpose).
    state, _ = run_nights(
        case(country="BE", kind="business", amounts=("0.01",)),
        flow(steps, minimum_amount="0"),
        daterange(DUE, date(2025, 3, 31)),
    )
    assert [h.action for h in state.history] == ["send_letter", "add_fee"]


def test_below_the_minimum_the_case_waits_for_its_next_invoice_to_fall_due() -> None:
    f = flow([{"key": "letter", "day": 3, "action": "send_letter"}], minimum_amount="10.00")
    state = case(country="BE", kind="business", amounts=("3.00", "50.00"))  # due 10 and 17 January
    plan = plan_case(state, f, date(2025, 1, 14))
    assert plan.actions == () and plan.next_date == date(2025, 1, 18)
    plan = plan_case(state, f, date(2025, 1, 18))
    assert [a.action for a in plan.actions] == ["send_letter"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5.5, "quote decimals"),
        ("-1", "zero or more"),
        ("five", "zero or more"),
    ],
)
def test_flows_check_refuses_a_bad_minimum_amount(value: object, message: str) -> None:
    data = {
        "name": "t",
        "version": 1,
        "minimum_amount": value,
        "steps": [{"key": "a", "day": 1, "action": "send_letter"}],
    }
    found, problems = parse_flow(data, "flows/t.yaml")
    assert found is None and any(p.where == "minimum_amount" and message in p.message for p in problems)


def test_the_default_minimum_is_five() -> None:
    assert flow([{"key": "a", "day": 1, "action": "send_letter"}]).minimum_amount == DEFAULT_MINIMUM_AMOUNT == D("5.00")


def test_a_step_may_force_the_letter_kind_and_show_invoices_not_yet_due() -> None:
    settings, errors = validate_settings("send_letter", {"kind": "final_notice", "show_not_yet_due": True})
    assert errors == [] and settings["kind"] == "final_notice" and settings["show_not_yet_due"] is True
    assert validate_settings("send_letter", {"kind": "third_reminder"})[1] == [
        ("kind", "expected one of first_reminder, second_reminder, final_notice, got 'third_reminder' (str)")
    ]


def test_include_statement_is_refused_with_what_to_do_instead() -> None:
    errors = validate_settings("send_letter", {"include_statement": True})[1]
    assert errors and errors[0][0] == "include_statement" and "account_statement" in errors[0][1]
