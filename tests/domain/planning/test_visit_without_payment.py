"""The ``visit_without_payment`` flow event in the pure planner: hours after the visit, no payment since,
one follow-up per flow step however many visits, its fallback, and the flow file's checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from dunning.domain.planning.case_state import Visit
from dunning.domain.planning.flows import load_flow
from dunning.domain.planning.planner import plan_case
from dunning.errors import FlowError

from .helpers import case, daterange, flow, record, run_nights

DUE = date(2025, 1, 10)
STEPS = [
    {"key": "r1", "day": 3, "action": "send_email"},
    {"key": "r2", "day": 20, "action": "send_email"},
]
ON_VISIT = {"after_hours": 24, "action": "send_pay_link", "fallback": {"action": "send_pay_link",
                                                                      "settings": {"channel": "sms"}}}


def visit_flow(**handler: object) -> object:
    return flow(STEPS, events={"visit_without_payment": {**ON_VISIT, **handler}})


def at(day: int, hour: int) -> datetime:
    return datetime.combine(DUE + timedelta(days=day), datetime.min.time()) + timedelta(hours=hour)


def test_one_follow_up_the_next_night_per_step_whatever_the_visits() -> None:
    f = visit_flow()
    state, _ = run_nights(case(has_phone=True), f, daterange(DUE, DUE + timedelta(days=4)))  # r1 on day 3
    state = replace(state, visits=(Visit(at(5, 20)), Visit(at(5, 22)), Visit(at(6, 9))))
    assert plan_case(state, f, DUE + timedelta(days=5)).actions == ()  # 24 hours not passed yet
    plan = plan_case(state, f, DUE + timedelta(days=6))
    [follow_up] = plan.actions
    assert (follow_up.step_key, follow_up.action, follow_up.channel) == ("on:visit_without_payment:r1",
                                                                        "send_pay_link", "email")
    assert "pay page visited 2025-01-15 20:00" in follow_up.reason
    state = record(state, plan)
    for day in (7, 8, 12):  # more nights, same step: nothing more
        assert plan_case(state, f, DUE + timedelta(days=day)).actions == ()
    # the next step starts; a visit during it gets its own follow-up, the old visits do not
    state, _ = run_nights(state, f, daterange(DUE + timedelta(days=20), DUE + timedelta(days=21)))
    assert not [h for h in state.history if h.step_key == "on:visit_without_payment:r2"]
    state = replace(state, visits=(*state.visits, Visit(at(22, 8))))
    [second] = plan_case(state, f, DUE + timedelta(days=23)).actions
    assert second.step_key == "on:visit_without_payment:r2"


def test_a_payment_on_or_after_the_visits_day_means_no_follow_up() -> None:
    f = visit_flow()
    state, _ = run_nights(case(), f, daterange(DUE, DUE + timedelta(days=4)))
    visited = replace(state, visits=(Visit(at(5, 10)),))
    night = DUE + timedelta(days=7)
    assert plan_case(replace(visited, last_payment_on=DUE + timedelta(days=5)), f, night).actions == ()
    # a payment before the visit does not count
    assert plan_case(replace(visited, last_payment_on=DUE + timedelta(days=4)), f, night).actions


def test_a_bounced_follow_up_falls_back_to_sms_and_a_held_case_gets_none() -> None:
    from dunning.domain.planning.case_state import Hold, HoldKind, Outcome

    f = visit_flow()
    state, _ = run_nights(case(has_phone=True), f, daterange(DUE, DUE + timedelta(days=4)))
    state = replace(state, visits=(Visit(at(5, 10)),))
    plan = plan_case(state, f, DUE + timedelta(days=6))
    state = record(state, plan)
    bounced = replace(state, history=tuple(
        replace(h, outcome=Outcome.BOUNCED, outcome_on=DUE + timedelta(days=7)) if h.step_key.startswith("on:") else h
        for h in state.history))
    [fallback] = plan_case(bounced, f, DUE + timedelta(days=8)).actions
    assert (fallback.channel, fallback.fallback_depth) == ("sms", 1)
    held = replace(case(), visits=(Visit(at(5, 10)),),
                   holds=(Hold(HoldKind.DISPUTE, "dispute from the pay page", DUE),))
    assert plan_case(held, f, DUE + timedelta(days=6)).status == "held"


def test_after_hours_is_only_for_visits_and_must_be_a_whole_number() -> None:
    with pytest.raises(FlowError, match="only visit_without_payment counts in hours"):
        load_flow({"name": "f", "version": 1, "steps": STEPS,
                   "events": {"pay_page_visit": {"after_hours": 5, "action": "send_pay_link"}}}, "f.yaml")
    with pytest.raises(FlowError, match="after_hours"):
        load_flow({"name": "f", "version": 1, "steps": STEPS,
                   "events": {"visit_without_payment": {"after_hours": "soon", "action": "send_pay_link"}}}, "f.yaml")
