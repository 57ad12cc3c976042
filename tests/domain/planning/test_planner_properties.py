"""Property tests of the planner: re-runs are no-ops, catch-up loses nothing and keeps the gaps,
results converge to the night-by-night run, and plans do not depend on the order of cases."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning.domain.legal import select_pack
from dunning.domain.planning.actions import CATALOGUE, Channel
from dunning.domain.planning.case_state import CaseEvent, CaseState
from dunning.domain.planning.flow_set import FlowSet
from dunning.domain.planning.flows import Flow
from dunning.domain.planning.planner import plan_case, plan_cases

from .helpers import case, daterange, done, fails, flow, run_nights, template_flow_set

START = date(2025, 1, 1)
TEMPLATES = template_flow_set()
CONTACTS = ["send_email", "send_letter", "send_sms", "phone_call_task", "send_final_notice", "send_pay_link"]
OTHERS = ["add_fee", "add_interest", "manual_task", "notify_creditor", "wait"]


def _call(action: str, fee: bool) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if action == "manual_task":
        settings["title"] = "look"
    if fee and action in ("send_letter", "send_email", "send_final_notice"):
        settings["fee"] = "legal_max"
    return {"action": action, "settings": settings}


@st.composite
def flows(draw: st.DrawFn) -> Flow:
    if draw(st.booleans()):
        name = draw(st.sampled_from(["default", "b2b"]))
        chosen = TEMPLATES.latest(name)
        assert chosen is not None
        return chosen
    steps: list[dict[str, Any]] = []
    day = draw(st.integers(0, 10))  # a negative day is refused by the flow parser
    for n in range(draw(st.integers(1, 7))):
        action = draw(st.sampled_from(CONTACTS + OTHERS))
        step: dict[str, Any] = {"key": f"s{n}", **_call(action, draw(st.booleans()))}
        if draw(st.booleans()):
            day += draw(st.integers(0, 20))
            step["day"] = day
        else:
            step["after"] = draw(st.integers(0, 15))
        if action in CONTACTS and draw(st.booleans()):
            chain = draw(st.lists(st.sampled_from([*CONTACTS, "manual_task"]), min_size=1, max_size=3))
            fallback: dict[str, Any] | None = None
            for fb in reversed(chain):
                block = _call(fb, False)
                if fallback is not None:
                    block["fallback"] = fallback
                fallback = block
            step["fallback"] = fallback
        if draw(st.integers(0, 5)) == 0:
            step["when"] = draw(st.sampled_from([{"has_email": True}, {"min_open": "200"}, {"country": ["BE"]}]))
        steps.append(step)
    if draw(st.integers(0, 4)) == 0:
        steps.append(
            {"key": "end", "after": draw(st.integers(0, 10)), "action": "hand_over", "settings": {"agency": "acme"}}
        )
    return flow(steps, name="gen", min_contact_gap_days=draw(st.integers(1, 3)))


@st.composite
def cases(draw: st.DrawFn, the_flow: Flow, case_id: str = "c1") -> CaseState:
    amounts = tuple(str(draw(st.integers(1, 500_000)) / Decimal(100)) for _ in range(draw(st.integers(1, 3))))
    return case(
        case_id=case_id,
        country=draw(st.sampled_from(["BE", "NL", "DE", "FR"])),
        kind=draw(st.sampled_from(["consumer", "business"])),
        amounts=amounts,
        due=START + timedelta(days=draw(st.integers(0, 20))),
        flow_name=the_flow.name,
        version=the_flow.version,
        has_email=draw(st.booleans()),
        has_phone=draw(st.booleans()),
        has_address=draw(st.integers(0, 5)) > 0,
        creditor_is_sme=draw(st.booleans()),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Flow, CaseState, int]:
    the_flow = draw(flows())
    return the_flow, draw(cases(the_flow)), draw(st.sampled_from([0, 0, 20, 50]))


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_history_is_legal(state: CaseState, the_flow: Flow) -> None:
    """Contacts keep the flow's gap (so never two in a night); costs respect the pack's dates."""
    pack = select_pack(state.debtor.country, state.debtor.type)
    failed = {e.ref for e in state.events if e.kind == "delivery_failed"}
    contact_days = sorted(h.on for h in state.history if CATALOGUE[h.action].contact)
    gaps = [(b - a).days for a, b in itertools.pairwise(contact_days)]
    assert all(g >= the_flow.min_contact_gap_days for g in gaps), contact_days
    assert len({h.key for h in state.history}) == len(state.history)  # no key planned twice
    history = sorted(state.history, key=lambda h: (h.on, h.key))
    notices = [h for h in history if CATALOGUE[h.action].legal_notice and h.key not in failed]
    if notices and pack.first_reminder_free:
        assert not notices[0].amount, "the first reminder must be free"
    for h in history:
        if not h.amount:
            continue
        if CATALOGUE[h.action].charges == "interest":
            needs_notice = pack.notice_before_interest
        else:
            needs_notice = pack.notice_before_fees
        if not needs_notice:
            continue
        earlier = [n for n in notices if (n.on, n.key) < (h.on, h.key)]
        assert earlier, f"{h.action} charged {h.amount} before any legal notice"
        first = earlier[0]
        assert h.on >= pack.earliest_cost_date(first.on, Channel(first.channel or Channel.LETTER)), (h, first)


@SETTINGS
@given(scenarios(), st.integers(0, 120))
def test_running_the_same_night_twice_is_a_no_op(scenario: tuple[Flow, CaseState, int], nights: int) -> None:
    the_flow, state, fail_rate = scenario
    for day in daterange(START, START + timedelta(days=nights)):
        first = plan_case(state, the_flow, day)
        assert plan_case(state, the_flow, day) == first  # a pure function of its input
        state = replace(state, history=state.history + tuple(a.as_history() for a in first.actions))
        again = plan_case(state, the_flow, day)
        assert again.actions == (), (day, first.actions, again.actions)
        # the history order as stored does not matter either
        assert plan_case(replace(state, history=state.history[::-1]), the_flow, day) == again
        failures = tuple(
            CaseEvent("delivery_failed", day, f"ev-{a.key}", a.key)
            for a in first.actions
            if a.contact and fail_rate and fails(a.key, fail_rate)
        )
        state = replace(state, events=state.events + failures)


@SETTINGS
@given(scenarios(), st.integers(0, 60), st.integers(2, 40))
def test_catch_up_after_missed_nights_loses_nothing_and_converges(
    scenario: tuple[Flow, CaseState, int], before: int, missed: int
) -> None:
    the_flow, state, fail_rate = scenario
    gap_start = START + timedelta(days=before)
    catch_up_night = gap_start + timedelta(days=missed)
    end = START + timedelta(days=400)
    state, _ = run_nights(state, the_flow, daterange(START, gap_start - timedelta(days=1)), fail_rate)

    nightly, nightly_plans = run_nights(state, the_flow, daterange(gap_start, end), fail_rate)
    caught, caught_plans = run_nights(state, the_flow, daterange(catch_up_night, end), fail_rate)

    # every step that fell due in the gap: the first one (and whatever followed it that night) is
    # planned by the single catch-up run, in the same order
    gap_plans = [p for p in nightly_plans[: missed + 1] if p.actions]
    if gap_plans:
        expected = [(a.step_key, a.action, a.fallback_depth) for a in gap_plans[0].actions]
        got = [(a.step_key, a.action, a.fallback_depth) for a in caught_plans[0].actions]
        assert got[: len(expected)] == expected
    for plan in nightly_plans + caught_plans:
        assert sum(a.contact for a in plan.actions) <= 1
    _check_history_is_legal(nightly, the_flow)
    _check_history_is_legal(caught, the_flow)
    # both end in the same place: the same steps and fallbacks, each once
    assert done(caught) == done(nightly)


@SETTINGS
@given(st.data())
def test_plans_do_not_depend_on_the_order_of_cases(data: st.DataObject) -> None:
    the_flow = data.draw(flows())
    states = [data.draw(cases(the_flow, f"c{n}")) for n in range(data.draw(st.integers(2, 6)))]
    nights = data.draw(st.integers(0, 90))
    history = []
    for state in states:
        simulated, _ = run_nights(state, the_flow, daterange(START, START + timedelta(days=nights)), 20)
        history.append(simulated)
    flow_set = FlowSet({(the_flow.name, the_flow.version): the_flow}, None)
    day = START + timedelta(days=nights + 1)
    forward = {p.case_id: p for p in plan_cases(history, flow_set, day)}
    shuffled = data.draw(st.permutations(history))
    backward = {p.case_id: p for p in plan_cases(shuffled, flow_set, day)}
    assert forward == backward
    # the plan of one case is the same whether it is planned alone or among others
    alone = plan_cases([history[0]], flow_set, day)[0]
    assert alone == forward[history[0].case_id]
