"""The planner on concrete cases: legal dates, amounts, fallbacks, holds, cycles, migrations."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from dunning.domain.legal.belgium import damages_cap
from dunning.domain.legal.netherlands import wik_amount
from dunning.domain.planning.case_state import CaseEvent, CaseState, HistoryEntry, Hold, HoldKind, OpenInvoice, Outcome
from dunning.domain.planning.flow_set import FlowSet
from dunning.domain.planning.migration import migrate_case
from dunning.domain.planning.planner import plan_case, plan_cases

from .helpers import case, daterange, flow, record, run_night, run_nights, template_flow_set

DUE = date(2025, 1, 10)  # a Friday


def by_action(state: CaseState, name: str) -> list[HistoryEntry]:
    return [h for h in state.history if h.action == name]


def test_belgian_consumer_first_reminder_free_and_costs_after_the_legal_period() -> None:
    """Letter posted Thu 2025-01-16 (day 6): period starts Tue 21 (3rd working day), costs from Tue 02-04."""
    f = flow(
        [
            {"key": "r1", "day": 6, "action": "send_letter", "settings": {"fee": "legal_max"}},
            {"key": "fee", "day": 7, "action": "add_fee"},
            {"key": "int", "after": 0, "action": "add_interest"},
            {"key": "r2", "after": 0, "action": "send_letter"},
        ]
    )
    state = case(amounts=("1000.00",), has_email=False)
    state, plans = run_nights(state, f, daterange(DUE, date(2025, 3, 1)))
    first = by_action(state, "send_letter")[0]
    assert first.on == date(2025, 1, 16) and first.amount == D("0.00")
    planned_first = next(a for p in plans for a in p.actions if a.step_key == "r1")
    assert "the first reminder is free" in planned_first.rules[0]
    assert planned_first.earliest_legal_date == date(2025, 2, 4)
    assert {f.name: f.amount for f in planned_first.figures}["penalty_clause_amount"] == D("90.00")
    assert "creditor_enterprise_number" in planned_first.required_fields
    fee = by_action(state, "add_fee")[0]
    assert fee.on == date(2025, 2, 4) and fee.amount == damages_cap(D(1000)) == D("90.00")
    interest = by_action(state, "add_interest")[0]
    # interest runs from the end of the period: 1 day at 11.5 % on €1,000 = 0.32
    assert interest.on == date(2025, 2, 4) and interest.amount == D("0.32")
    # nothing was charged before the period ended
    assert all(h.on >= date(2025, 2, 4) for h in state.history if h.amount)
    waiting = [p for p in plans if p.status == "waiting" and p.next_date == date(2025, 2, 4)]
    assert waiting and "costs not before 2025-02-04" in waiting[0].note


def test_belgian_sme_creditor_interest_runs_from_the_day_after_the_reminder() -> None:
    f = flow([{"key": "r1", "day": 6, "action": "send_email"}, {"key": "int", "day": 30, "action": "add_interest"}])
    state = case(amounts=("1000.00",), creditor_is_sme=True)
    state, _ = run_nights(state, f, daterange(DUE, date(2025, 2, 10)))
    # email 2025-01-16; interest from 01-17 to 02-09 (24 days) at 11.5 % = 7.56
    assert by_action(state, "add_interest")[0].amount == D("7.56")


def test_dutch_consumer_fourteen_day_letter_states_exact_wik_before_any_cost() -> None:
    f = flow([{"key": "letter", "day": 6, "action": "send_letter"}, {"key": "fee", "day": 7, "action": "add_fee"}])
    state = case(country="NL", amounts=("2500.00",), has_email=False)
    state, plans = run_nights(state, f, daterange(DUE, date(2025, 3, 1)))
    letter = next(a for p in plans for a in p.actions if a.action == "send_letter")
    figures = {f.name: f for f in letter.figures}
    assert figures["collection_costs_amount"].amount == wik_amount(D(2500)) == D("375.00")
    assert figures["payment_deadline_phrase"].explanation == "binnen vijftien dagen nadat deze brief bij u is bezorgd"
    # posted Thu 01-16, presumed delivered Sat 01-18; days 1-14 are Sun 01-19 to Sat 02-01: costs from 02-02
    assert letter.earliest_legal_date == date(2025, 2, 2)
    fee = by_action(state, "add_fee")[0]
    assert (fee.on, fee.amount) == (date(2025, 2, 2), D("375.00"))


def test_dutch_consumer_without_any_letter_gets_no_costs() -> None:
    f = flow([{"key": "sms", "day": 3, "action": "send_sms"}, {"key": "fee", "day": 30, "action": "add_fee"}])
    state, plans = run_nights(case(country="NL"), f, daterange(DUE, date(2025, 2, 20)))
    assert by_action(state, "add_fee")[0].amount == D("0.00")
    assert any("no legal notice sent yet" in r for p in plans for a in p.actions for r in a.rules)


def test_german_reminder_costs_only_after_the_first_reminder() -> None:
    f = flow(
        [{"key": f"r{n}", "day": 10 * n, "action": "send_letter", "settings": {"fee": "legal_max"}} for n in (1, 2, 3)]
    )
    state, _ = run_nights(case(country="DE"), f, daterange(DUE, date(2025, 3, 1)))
    assert [h.amount for h in by_action(state, "send_letter")] == [D("0.00"), D("2.50"), D("2.50")]


def test_german_business_interest_and_flat_fee() -> None:
    f = flow([{"key": "fee", "day": 40, "action": "add_fee"}, {"key": "int", "after": 0, "action": "add_interest"}])
    state, plans = run_nights(
        case(country="DE", kind="business", amounts=("10000.00",), due=date(2024, 10, 31)),
        f,
        daterange(date(2024, 11, 1), date(2024, 12, 15)),
    )
    assert by_action(state, "add_fee")[0].amount == D("40.00")
    interest = next(a for p in plans for a in p.actions if a.action == "add_interest")
    # automatic default 30 days after the due date: from 2024-12-01 to 12-10 at 3.37 + 9 %
    ((_invoice_id, result),) = interest.interest
    assert (result.start, result.end, result.total) == (date(2024, 12, 1), date(2024, 12, 10), D("33.89"))


def test_business_fee_is_forty_per_invoice_and_never_charged_twice() -> None:
    f = flow([{"key": "fee1", "day": 20, "action": "add_fee"}, {"key": "fee2", "day": 40, "action": "add_fee"}])
    state, _ = run_nights(
        case(country="FR", kind="business", amounts=("10", "20", "30")), f, daterange(DUE, date(2025, 3, 30))
    )
    assert [h.amount for h in by_action(state, "add_fee")] == [D("120.00"), D("0.00")]


def test_fallback_when_email_is_missing_or_bounces() -> None:
    f = flow(
        [
            {
                "key": "r1",
                "day": 3,
                "action": "send_email",
                "fallback": {"action": "send_sms", "fallback": {"action": "send_letter"}},
            },
            {"key": "r2", "day": 20, "action": "send_letter"},
        ]
    )
    # no email: the SMS goes out on day 3 directly
    plan = plan_case(case(has_email=False), f, DUE + timedelta(days=3))
    assert [(a.action, a.fallback_depth) for a in plan.actions] == [("send_sms", 1)]
    assert "send_email impossible (no email)" in plan.actions[0].reason
    # email bounces the same night: the SMS follows the next night, then the SMS fails: the letter
    state, p1 = run_night(case(), f, DUE + timedelta(days=3))
    email_key = p1.actions[0].key
    state = replace(state, events=(CaseEvent("delivery_failed", DUE + timedelta(days=3), "e1", email_key),))
    state, p2 = run_night(state, f, DUE + timedelta(days=3))
    assert p2.actions == ()  # one contact per night
    state, p3 = run_night(state, f, DUE + timedelta(days=4))
    assert [(a.action, a.fallback_depth, a.replaces) for a in p3.actions] == [("send_sms", 1, email_key)]
    assert p3.actions[0].key.endswith("|fallback:1")
    sms = state.history[-1]
    state = replace(
        state, history=(*state.history[:-1], replace(sms, outcome=Outcome.FAILED, outcome_on=DUE + timedelta(days=6)))
    )
    state, p4 = run_night(state, f, DUE + timedelta(days=5))
    assert p4.actions == ()  # the failure is only known from day 6
    state, p5 = run_night(state, f, DUE + timedelta(days=6))
    assert [(a.action, a.fallback_depth) for a in p5.actions] == [("send_letter", 2)]
    state, _ = run_nights(state, f, daterange(DUE + timedelta(days=7), DUE + timedelta(days=30)))
    assert [h.step_key for h in state.history] == ["r1", "r1", "r1", "r2"]


def test_returned_letter_without_fallback_is_reported_and_the_flow_goes_on() -> None:
    f = flow([{"key": "r1", "day": 3, "action": "send_letter"}, {"key": "r2", "day": 9, "action": "send_letter"}])
    state, _p1 = run_night(case(), f, DUE + timedelta(days=3))
    state = replace(state, history=(replace(state.history[0], outcome=Outcome.RETURNED),))
    plan = plan_case(state, f, DUE + timedelta(days=9))
    assert [a.step_key for a in plan.actions] == ["r2"]
    assert "r1: send_letter failed and no fallback is left" in plan.warnings


def test_holds_stop_or_pause_and_a_broken_promise_triggers_its_handler() -> None:
    f = flow(
        [{"key": "r1", "day": 3, "action": "send_email"}],
        events={"promise_broken": {"after": 1, "action": "send_letter", "settings": {"template": "broken"}}},
    )
    day = DUE + timedelta(days=5)
    held = case(holds=(Hold(HoldKind.DISPUTE, "contests invoice", DUE),))
    assert plan_case(held, f, day).status == "held"
    dead = case(holds=(Hold(HoldKind.DECEASED, "notified by family", DUE),))
    assert plan_case(dead, f, day) == plan_case(dead, f, day) and plan_case(dead, f, day).status == "stopped"
    released = case(holds=(Hold(HoldKind.DISPUTE, "x", DUE, released_on=day),))
    assert [a.action for a in plan_case(released, f, day).actions] == ["send_email"]
    promise = case(holds=(Hold(HoldKind.PROMISE_TO_PAY, "pays on the 20th", DUE, until=DUE + timedelta(days=20)),))
    assert plan_case(promise, f, DUE + timedelta(days=19)).status == "held"
    state, p1 = run_night(promise, f, DUE + timedelta(days=20))
    assert [a.action for a in p1.actions] == ["send_email"]
    state, p2 = run_night(state, f, DUE + timedelta(days=21))
    assert p2.actions == ()  # its letter asks payment: not before the email's deadline
    state, p3 = run_night(state, f, DUE + timedelta(days=35))  # email of day 20: pay by day 34
    assert [(a.step_key, a.action) for a in p3.actions] == [("on:promise_broken:hold-2025-01-10", "send_letter")]


def test_pay_page_visit_follow_up_and_thank_you_when_paid() -> None:
    flows = template_flow_set()
    default = flows.latest("default")
    assert default is not None
    state = case(flow_name="default")
    state, _ = run_nights(state, default, daterange(DUE, DUE + timedelta(days=8)))
    state = replace(state, events=(CaseEvent("pay_page_visit", DUE + timedelta(days=9), "v1"),))
    plan = plan_case(state, default, DUE + timedelta(days=11))
    assert [a.action for a in plan.actions] == ["send_pay_link"]
    paid = replace(state, invoices=tuple(replace(i, open_amount=D(0)) for i in state.invoices))
    plan = plan_case(paid, default, DUE + timedelta(days=12))
    assert (plan.status, [a.action for a in plan.actions]) == ("paid", ["thank_you"])
    assert plan_case(record(paid, plan), default, DUE + timedelta(days=13)).actions == ()
    # a case paid before any contact gets no thank-you
    assert plan_case(replace(case(flow_name="default"), invoices=paid.invoices), default, DUE).actions == ()


def test_reopened_case_runs_the_flow_again_with_new_keys() -> None:
    f = flow([{"key": "r1", "day": 3, "action": "send_email"}])
    state, p1 = run_night(case(), f, DUE + timedelta(days=3))
    reopened = replace(state, cycle=2, invoices=(OpenInvoice("INV-9", date(2025, 3, 1), D(50), D(50)),))
    p2 = plan_case(reopened, f, date(2025, 3, 4))
    assert p1.actions[0].key == "case:c1|flow:t@1|step:r1|action:send_email|cycle:1"
    assert [a.key for a in p2.actions] == ["case:c1|flow:t@1|step:r1|action:send_email|cycle:2"]


def test_migrations_continue_map_and_restart() -> None:
    # each letter after the previous notice's deadline (a's: day 17; b's: day 34 or so)
    v1 = flow([{"key": "a", "day": 3, "action": "send_email"}, {"key": "b", "day": 18, "action": "send_letter"}])
    state, _ = run_nights(case(), v1, daterange(DUE, DUE + timedelta(days=20)))
    steps = [
        {"key": "x", "day": 3, "action": "send_email"},
        {"key": "new", "day": 5, "action": "send_sms"},
        {"key": "y", "day": 18, "action": "send_letter"},
        {"key": "z", "day": 40, "action": "send_letter"},
    ]

    def with_rule(rule: dict) -> FlowSet:  # type: ignore[type-arg]
        v2 = flow(steps, version=2, migrations=[rule])
        return FlowSet({("t", 1): v1, ("t", 2): v2}, None)

    day = DUE + timedelta(days=41)
    kept = with_rule({"from": 1, "rule": "continue"})
    assert migrate_case(state, kept) is state
    assert plan_cases([state], kept, day)[0].status == "finished"
    mapped = with_rule({"from": 1, "rule": "map", "map": {"a": "x", "b": "y"}})
    plan = plan_cases([state], mapped, day)[0]
    assert [a.step_key for a in plan.actions] == ["z"]  # "new" lies before a done step: passed over
    restarted = with_rule({"from": 1, "rule": "restart"})
    plan = plan_cases([state], restarted, day)[0]
    assert [a.key for a in plan.actions] == ["case:c1|flow:t@2|step:x|action:send_email|cycle:1"]


def test_step_conditions_and_unknown_flow() -> None:
    f = flow(
        [
            {"key": "big", "day": 3, "action": "phone_call_task", "when": {"min_open": "1000"}},
            {"key": "all", "day": 3, "action": "send_email"},
        ]
    )
    assert [a.step_key for a in plan_case(case(amounts=("50",)), f, DUE + timedelta(days=3)).actions] == ["all"]
    assert [a.step_key for a in plan_case(case(amounts=("5000",)), f, DUE + timedelta(days=3)).actions] == ["big"]
    assert plan_cases([case(flow_name="nope")], FlowSet({}, None), DUE)[0].status == "error"
    with pytest.raises(ValueError, match="is on nope@1, not t@1"):
        plan_case(case(flow_name="nope"), f, DUE)


def test_terminal_action_closes_the_case() -> None:
    f = flow(
        [
            {"key": "h", "day": 3, "action": "hand_over", "settings": {"agency": "acme"}},
            {"key": "late", "day": 9, "action": "send_letter"},
        ]
    )
    state, plans = run_nights(case(), f, daterange(DUE, DUE + timedelta(days=20)))
    assert [h.action for h in state.history] == ["hand_over"] and plans[-1].status == "closed"


def test_waived_fees_can_be_charged_again_up_to_the_cap_and_hold_steps_end_the_night() -> None:
    f = flow(
        [
            {"key": "fee", "day": 3, "action": "add_fee"},
            {"key": "waive", "day": 5, "action": "waive_fees", "settings": {"reason": "goodwill", "amount": "15"}},
            {"key": "fee2", "day": 7, "action": "add_fee"},
            {"key": "hold", "day": 9, "action": "hold", "settings": {"kind": "dispute", "reason": "call"}},
            {"key": "after", "after": 0, "action": "manual_task", "settings": {"title": "x"}},
        ]
    )
    state, plans = run_nights(case(country="FR", kind="business"), f, daterange(DUE, DUE + timedelta(days=9)))
    assert [(h.action, h.amount) for h in state.history] == [
        ("add_fee", D("40.00")),
        ("waive_fees", D("15.00")),
        ("add_fee", D("15.00")),
        ("hold", None),
    ]
    assert plans[-1].status == "held"


def test_stale_steps_marked_skip_if_late_are_skipped_after_missed_nights() -> None:
    f = flow(
        [
            {"key": "r1", "day": 3, "action": "send_email"},
            {"key": "promo", "day": 5, "action": "payment_plan_offer", "skip_if_late": 2},
            {"key": "r2", "day": 18, "action": "send_letter"},  # after r1's deadline (day 17)
        ]
    )
    nightly, _ = run_nights(case(), f, daterange(DUE, DUE + timedelta(days=20)))
    assert [h.step_key for h in nightly.history] == ["r1", "promo", "r2"]
    late, _ = run_nights(
        case(), f, [DUE + timedelta(days=3), *daterange(DUE + timedelta(days=16), DUE + timedelta(days=20))]
    )
    assert [(h.step_key, h.on.day) for h in late.history] == [("r1", 13), ("r2", 28)]


def test_a_payment_in_review_holds_the_case_and_says_why() -> None:
    f = flow([{"key": "r1", "day": 3, "action": "send_email"}, {"key": "fee", "day": 4, "action": "add_fee"}])
    day = DUE + timedelta(days=5)
    waiting = Hold(HoldKind.PAYMENT_IN_REVIEW, "payment of 320.00 EUR on 2025-01-14 waiting in review (item 4)", DUE)
    plan = plan_case(case(holds=(waiting,)), f, day)
    assert (plan.status, plan.actions) == ("held", ())
    assert plan.note == "held: payment of 320.00 EUR on 2025-01-14 waiting in review (item 4)"
    assert [a.action for a in plan_case(case(), f, day).actions][:1] == ["send_email"]


def test_a_principal_within_the_write_off_tolerance_is_paid() -> None:
    # minimum_amount 0: the flow's minimum would otherwise hold back a 0.35 debt on its own
    steps = [{"key": "r1", "day": 3, "action": "send_email"}, {"key": "fee", "day": 4, "action": "add_fee"}]
    f = flow(steps, minimum_amount="0")
    day = DUE + timedelta(days=5)
    residual = case(amounts=("0.35",), write_off_tolerance=D("0.35"))
    plan = plan_case(residual, f, day)
    assert (plan.status, plan.actions) == ("paid", ())
    assert plan.note == "residual 0.35 EUR within the write-off tolerance (0.35): settled"
    beyond = replace(residual, write_off_tolerance=D("0.34"))
    assert plan_case(beyond, f, day).actions


def test_dutch_consumer_costs_never_exceed_what_the_fourteen_day_letter_announced() -> None:
    """WIK (art. 6:96 lid 6 BW): the 14-day letter states the exact costs, the most ever charged. A later
    invoice that falls due before the costs are charged raises the principal, not the costs."""
    f = flow([{"key": "letter", "day": 6, "action": "send_letter"},
              {"key": "fee", "day": 30, "action": "add_fee", "settings": {"mode": "legal_max", "add_vat_percent": 21}}])
    state = case(country="NL", amounts=("100.00",), has_email=False)
    late = replace(state.invoices[0], id="i-later", due_date=DUE + timedelta(days=10), open_amount=D("5000.00"),
                   original_amount=D("5000.00"))
    state = replace(state, invoices=(*state.invoices, late))
    state, plans = run_nights(state, f, daterange(DUE, date(2025, 3, 15)))
    letter = next(a for p in plans for a in p.actions if a.action == "send_letter")
    announced = {f.name: f.amount for f in letter.figures}["collection_costs_amount"]
    assert announced == wik_amount(D(100)) == D("40.00")  # the letter claimed the 100.00 then overdue
    fee = by_action(state, "add_fee")[0]
    assert fee.amount == announced  # not the WIK on 5,100.00 plus 21 % VAT (€762.30)
