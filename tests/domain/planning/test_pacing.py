"""Catch-up keeps every legal gap and every person's decision (issue 17, item 5), pure planner.

A ledger aged 120 days is run night by night from its first run, and as one catch-up run after
missed nights: no two steps of a case closer than the flow's gap counted from the day the earlier
one really happened, no escalation (hand-over, lawyer, service block) before every deadline given
has passed, no notice asking payment (reminder, final notice) on or before the deadline the previous
notice printed, and no step past a task the flow waits for until a person closed it.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning.domain.legal import select_pack
from dunning.domain.planning.actions import CATALOGUE, Channel
from dunning.domain.planning.case_state import CaseState, HistoryEntry, Outcome
from dunning.domain.planning.flows import Flow
from dunning.domain.planning.pacing import (
    ESCALATIONS,
    TASK_ACTIONS,
    asks_payment,
    call_settings,
    nominal_days,
    notice_deadline,
    pay_days,
    waits_for_person,
)
from dunning.domain.planning.plan import CasePlan
from dunning.domain.planning.planner import plan_case

from .helpers import case, close_tasks, daterange, flow, record, template_flow_set
from .test_planner_properties import flows

AGED = 120
TEMPLATES = template_flow_set()


def _simulate(
    state: CaseState, the_flow: Flow, nights: list[date], person_every: int
) -> tuple[CaseState, list[CasePlan]]:
    """Plan each night, send its messages that night; a person closes the open tasks every ``person_every`` nights."""
    plans = []
    for n, day in enumerate(nights):
        if person_every and n % person_every == person_every - 1:
            state = close_tasks(state, day)  # before the night's run, as a person does during the day
        plan = plan_case(state, the_flow, day)
        state = record(state, plan)
        plans.append(plan)
    return state, plans


def _first_attempts(state: CaseState, the_flow: Flow) -> list[tuple[int, HistoryEntry]]:
    """The first entry of each started flow step, in flow order, with the step's index."""
    index = {s.key: s.index for s in the_flow.steps}
    firsts: dict[str, HistoryEntry] = {}
    for h in sorted(state.history, key=lambda h: (h.on, h.fallback_depth, h.key)):
        if h.step_key in index:
            firsts.setdefault(h.step_key, h)
    return sorted(((index[k], h) for k, h in firsts.items()), key=lambda p: p[0])


def _check_pacing(state: CaseState, the_flow: Flow) -> None:
    """The legal gaps and the tasks, read from the history alone."""
    nominal = nominal_days(the_flow)
    pack = select_pack(state.debtor.country, state.debtor.type)
    steps = _first_attempts(state, the_flow)
    for (i, a), (j, b) in itertools.pairwise(steps):
        # without failures each step is one attempt: the next one keeps the flow's gap from the day it happened
        gap = max(nominal[j] - nominal[i], 0)
        happened = a.sent_on or a.on
        assert b.on >= happened + timedelta(days=gap), (a, b, gap)
        if waits_for_person(a.action, call_settings(the_flow, a.step_key, a.fallback_depth)):
            assert a.outcome != Outcome.PLANNED, f"{b.step_key} went past the open task of {a.step_key}"
            assert a.outcome_on is not None and b.on >= a.outcome_on, (a, b)
    # a flow never goes past a task a person has not closed
    for index, h in steps:
        if h.outcome == Outcome.PLANNED and waits_for_person(h.action, call_settings(the_flow, h.step_key, 0)):
            assert all(i <= index for i, _ in steps), f"steps after the open task {h.step_key}"
    contacts = sorted(h.on for h in state.history if CATALOGUE[h.action].contact)
    assert all((b - a).days >= the_flow.min_contact_gap_days for a, b in itertools.pairwise(contacts))
    _check_notice_deadlines(state, the_flow)
    notices = [h for h in state.history if CATALOGUE[h.action].legal_notice]
    for escalation in (h for h in state.history if h.action in ESCALATIONS):
        for notice in notices:
            if notice.on > escalation.on:
                continue
            sent = notice.sent_on or notice.on
            days = pay_days(call_settings(the_flow, notice.step_key, notice.fallback_depth))
            # after the deadline the notice states (sending day + its days) and the pack's (from receipt)
            assert escalation.on > sent + timedelta(days=days), (notice, escalation)
            assert escalation.on > notice_deadline(pack, sent, Channel(notice.channel or "letter"), days)


def _check_notice_deadlines(state: CaseState, the_flow: Flow) -> None:
    """Every notice asking payment comes after the day the previous notice's printed deadline ends (issue 17).

    The deadline as its letter, email or SMS prints it: the step's days from the first day of the
    pack's period (a Belgian letter from the 3rd working day after posting), for the legal notice at
    least the law's period, never before the deadline recorded when it was rendered.
    """
    pack = select_pack(state.debtor.country, state.debtor.type)
    asking = [
        h
        for h in sorted(state.history, key=lambda h: (h.on, h.key))
        if asks_payment(h.action) and h.outcome != Outcome.FAILED
    ]
    for a, b in itertools.pairwise(asking):
        sent = a.sent_on or a.on
        days = pay_days(call_settings(the_flow, a.step_key, a.fallback_depth))
        printed = pack.payment_deadline(sent, Channel(a.channel or "letter"), days, legal_notice=a.legal_notice).day
        printed = max(printed, a.deadline_floor or printed)
        assert b.on > printed, f"{b.step_key} ({b.action}) on {b.on} asks payment before {a.step_key}'s {printed}"


def _aged_case(the_flow: Flow, country: str, kind: str, **extra: Any) -> tuple[CaseState, date]:
    due = date(2026, 8, 1)
    state = case(country=country, kind=kind, due=due, flow_name=the_flow.name, version=the_flow.version, **extra)
    return state, due + timedelta(days=AGED)


@pytest.mark.parametrize("name,kind", [("b2b", "business"), ("default", "consumer")])
@pytest.mark.parametrize("country", ["BE", "NL", "DE"])
@pytest.mark.parametrize("first_run", [0, 1, 2, 5])  # days after the ledger turned 120 days old
@pytest.mark.parametrize("missed", [0, 20])  # nights missed after the first run (the catch-up run)
def test_shipped_flows_over_a_ledger_aged_120_days_keep_every_gap(
    name: str, kind: str, country: str, first_run: int, missed: int
) -> None:
    the_flow = TEMPLATES.latest(name)
    assert the_flow is not None
    state, aged = _aged_case(the_flow, country, kind, amounts=("320.00", "1500.00"))
    start = aged + timedelta(days=first_run)
    nights = [start, *daterange(start + timedelta(days=missed + 1), start + timedelta(days=200))]
    first = plan_case(state, the_flow, start)
    # the first run over the aged ledger: the first step and what the flow puts on its day, nothing more
    nominal = nominal_days(the_flow)
    first_days = {nominal[the_flow.step(a.step_key).index] for a in first.actions}  # type: ignore[union-attr]
    assert len(first_days) == 1 and sum(a.contact for a in first.actions) == 1
    assert not {a.action for a in first.actions} & (ESCALATIONS | TASK_ACTIONS | {"send_final_notice"})
    final, _ = _simulate(state, the_flow, nights, person_every=3)
    _check_pacing(final, the_flow)
    by_night: dict[date, set[str]] = {}
    for h in final.history:
        by_night.setdefault(h.on, set()).add(h.action)
    for actions in by_night.values():  # the bunching seen: final notice, review and hand-over in one night
        assert not ("send_final_notice" in actions and actions & (ESCALATIONS | TASK_ACTIONS))
    assert [h.action for h in final.history][-1] == "hand_over"  # the flow still gets to its end
    hand_over = next(h for h in final.history if h.action == "hand_over")
    final_notice = next(h for h in final.history if h.action == "send_final_notice")
    days = pay_days(call_settings(the_flow, final_notice.step_key, 0))
    assert hand_over.on > final_notice.on + timedelta(days=days)


def test_a_task_the_flow_waits_for_holds_it_until_a_person_closes_it() -> None:
    the_flow = TEMPLATES.latest("b2b")
    assert the_flow is not None
    state, aged = _aged_case(the_flow, "BE", "business")
    nights = daterange(aged, aged + timedelta(days=150))
    waiting, plans = _simulate(state, the_flow, nights, person_every=0)  # nobody closes the review
    review = next(h for h in waiting.history if h.step_key == "review")
    assert review.outcome == Outcome.PLANNED and review.action == "manual_task"
    assert [h.step_key for h in waiting.history][-1] == "review"  # never the hand-over
    assert plans[-1].status == "waiting" and plans[-1].next_date is None
    assert "waits for a person to close its manual task" in plans[-1].note
    # a person closes it: the hand-over follows, 11 days (day 55 - day 44) after the review was opened
    closed_on = nights[-1]
    state = close_tasks(waiting, closed_on)
    plan = plan_case(state, the_flow, closed_on)
    assert [a.action for a in plan.actions] == ["hand_over"]
    assert review.on + timedelta(days=11) <= closed_on


def test_a_task_with_wait_false_lets_the_flow_go_on_and_a_failed_call_sets_off_the_fallback() -> None:
    the_flow = flow(
        [
            {"key": "r1", "day": 3, "action": "send_email"},
            {
                "key": "call",
                "day": 10,
                "action": "phone_call_task",
                "fallback": {"action": "manual_task", "settings": {"title": "no answer: decide"}},
            },
            {"key": "note", "day": 12, "action": "manual_task", "settings": {"title": "fyi", "wait": False}},
            {"key": "r2", "day": 20, "action": "send_letter"},
        ]
    )
    state, aged = _aged_case(the_flow, "FR", "business")
    state, _ = _simulate(state, the_flow, daterange(aged, aged + timedelta(days=30)), person_every=0)
    assert [(h.step_key, h.outcome) for h in state.history] == [("r1", Outcome.SENT), ("call", Outcome.PLANNED)]
    # the agent reports no answer: the fallback task opens the next night, and the flow waits for it
    day = aged + timedelta(days=31)
    state = close_tasks(state, day, failed=True)
    plan = plan_case(state, the_flow, day)
    assert [(a.step_key, a.action, a.fallback_depth) for a in plan.actions] == [("call", "manual_task", 1)]
    state = record(state, plan)
    assert plan_case(state, the_flow, day + timedelta(days=5)).actions == ()
    state = close_tasks(state, day + timedelta(days=6))
    # closed: "note" (2 days after the call step) opens, does not wait, and r2 follows 8 days after it
    later, _ = _simulate(state, the_flow, daterange(day + timedelta(days=6), day + timedelta(days=30)), 0)
    steps = {h.step_key: h for h in later.history}
    assert steps["note"].outcome == Outcome.PLANNED  # still open: nobody closed it, the flow went on
    assert steps["r2"].on == steps["note"].on + timedelta(days=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flows(),
    st.sampled_from(["BE", "NL", "DE", "FR"]),
    st.sampled_from(["consumer", "business"]),
    st.integers(0, 40),
    st.integers(0, 5),
)
def test_any_flow_over_an_aged_ledger_keeps_its_gaps_deadlines_and_tasks(
    the_flow: Flow, country: str, kind: str, missed: int, person_every: int
) -> None:
    state, aged = _aged_case(the_flow, country, kind, amounts=("900.00",), has_email=True, has_phone=True)
    nights = [aged, *daterange(aged + timedelta(days=missed + 1), aged + timedelta(days=400))]
    final, _ = _simulate(state, the_flow, nights, person_every)
    _check_pacing(final, the_flow)
    if not person_every:  # nobody closes a task: every task the planner opened is still open
        assert all(h.outcome == Outcome.PLANNED for h in final.history if h.action in TASK_ACTIONS)


def test_history_order_does_not_change_the_pacing() -> None:
    the_flow = TEMPLATES.latest("default")
    assert the_flow is not None
    state, aged = _aged_case(the_flow, "BE", "consumer")
    state, _ = _simulate(state, the_flow, daterange(aged, aged + timedelta(days=40)), 2)
    day = aged + timedelta(days=41)
    assert plan_case(state, the_flow, day) == plan_case(replace(state, history=state.history[::-1]), the_flow, day)


def test_a_hand_over_waits_for_the_final_notice_deadline_counted_from_the_day_it_went_out() -> None:
    the_flow = flow(
        [
            {
                "key": "final",
                "day": 28,
                "action": "send_final_notice",
                "settings": {"channel": "letter", "deadline_days": 8},
            },
            {"key": "agency", "after": 0, "action": "hand_over", "settings": {"agency": "acme"}},
        ]
    )
    state, aged = _aged_case(the_flow, "BE", "consumer", has_email=False)
    plan = plan_case(state, the_flow, aged)
    assert [a.action for a in plan.actions] == ["send_final_notice"]  # the hand-over waits for it to go out
    assert "waits for the notice planned" in plan.note
    state = record(state, plan, sent=False)
    posted = aged + timedelta(days=2)  # the print house posted it two days later (a Saturday)
    state = replace(state, history=tuple(replace(h, outcome=Outcome.SENT, sent_on=posted) for h in state.history))
    # Book XIX: a letter's period runs from the 3rd working day after posting; 8 days from then
    deadline = notice_deadline(select_pack("BE", "consumer"), posted, Channel.LETTER, 8)
    assert deadline > posted + timedelta(days=8)
    assert plan_case(state, the_flow, deadline).actions == ()
    (hand_over,) = plan_case(state, the_flow, deadline + timedelta(days=1)).actions
    assert hand_over.action == "hand_over" and any("deadline" in r for r in hand_over.rules)


def test_a_hand_over_waits_for_the_deadline_the_notice_printed_not_a_shorter_one() -> None:
    """One deadline (issue 17): pacing counts on the very date the notice's letter printed. A first legal
    notice gets at least the law's period even when its step asks for fewer days; the planner's earliest legal
    date and the deadline recorded when the letter was rendered move it later, never earlier."""
    from dunning.usecases.outgoing.legal import action_deadline

    the_flow = flow(
        [
            {
                "key": "final",
                "day": 28,
                "action": "send_final_notice",
                "settings": {"channel": "letter", "deadline_days": 8},
            },
            {"key": "agency", "after": 0, "action": "hand_over", "settings": {"agency": "acme"}},
        ]
    )
    pack = select_pack("BE", "consumer")
    state, aged = _aged_case(the_flow, "BE", "consumer", has_email=False)
    state = record(state, plan_case(state, the_flow, aged), sent=False)
    posted = aged + timedelta(days=2)
    detail: dict[str, Any] = {"rules": ["BE-consumer: legal notice"], "required_fields": ["debtor_name"]}
    printed = action_deadline(detail, country="BE", consumer=True, sent_on=posted, channel="letter", pay_days=8).day
    eight_days = notice_deadline(pack, posted, Channel.LETTER, 8)
    assert printed > eight_days  # Book XIX: 14 days for the first legal notice, whatever the step says
    rendered_later = printed + timedelta(days=3)  # e.g. the letter was rendered (and dated) later
    for entry_fields, last_day in (
        ({"legal_notice": True}, printed),
        ({"legal_notice": True, "deadline_floor": rendered_later}, rendered_later),
        ({"deadline_floor": printed}, printed),
    ):
        sent = replace(
            state,
            history=tuple(replace(h, outcome=Outcome.SENT, sent_on=posted, **entry_fields) for h in state.history),
        )
        for day in daterange(eight_days + timedelta(days=1), last_day):
            assert plan_case(sent, the_flow, day).actions == (), (entry_fields, day)
        (hand_over,) = plan_case(sent, the_flow, last_day + timedelta(days=1)).actions
        assert hand_over.action == "hand_over" and any(last_day.isoformat() in r for r in hand_over.rules)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([("b2b", "business"), ("default", "consumer"), ("default", "business")]),
    st.sampled_from(["BE", "NL", "DE", "FR"]),
    st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    st.lists(st.integers(600, 900_000), min_size=1, max_size=4),  # above the flows' minimum amount
    st.integers(0, 120),
    st.integers(0, 30),
)
def test_shipped_flows_never_ask_payment_before_the_previous_notice_deadline_has_passed(
    flow_kind: tuple[str, str], country: str, due: date, cents: list[int], age: int, missed: int
) -> None:
    """Issue 17: a second reminder or final notice only after the previous notice's printed deadline.

    The shipped flows over random ledgers, due dates (any weekday, holidays) and first-run days, run
    night by night and as a catch-up after missed nights: no notice asking payment is planned on or
    before the day the previous one's deadline ends.
    """
    name, kind = flow_kind
    the_flow = TEMPLATES.latest(name)
    assert the_flow is not None
    amounts = tuple(str(c / 100) for c in cents)
    state = case(country=country, kind=kind, due=due, flow_name=name, version=the_flow.version, amounts=amounts)
    start = due + timedelta(days=age)
    nights = [start, *daterange(start + timedelta(days=missed + 1), start + timedelta(days=160))]
    final, _ = _simulate(state, the_flow, nights, person_every=2)
    _check_pacing(final, the_flow)
    asking = [h for h in final.history if asks_payment(h.action)]
    assert len(asking) >= 2  # the flow got past its first reminder: the rule was exercised


def test_a_second_reminder_waits_for_the_first_reminders_printed_deadline() -> None:
    """b2b: the email reminder of day 3 asks payment by day 17; its second reminder comes on day 18, not before."""
    the_flow = TEMPLATES.latest("b2b")
    assert the_flow is not None
    state = case(country="BE", kind="business", due=date(2026, 10, 1), flow_name="b2b", version=the_flow.version)
    state, plans = _simulate(state, the_flow, daterange(date(2026, 10, 1), date(2026, 10, 25)), 0)
    on = {h.step_key: h.on for h in state.history}
    assert on["reminder"] == date(2026, 10, 4)  # day 3: pay by 18 October (the 5th to the 18th)
    assert on["second_reminder"] == date(2026, 10, 19)  # day 18: the day after
    # a flow whose steps come sooner: each notice is postponed to the day after the previous deadline
    tight = flow(
        [
            {"key": "r1", "day": 3, "action": "send_email"},
            {"key": "r2", "day": 10, "action": "send_letter"},
            {"key": "r3", "after": 2, "action": "send_final_notice", "settings": {"channel": "letter"}},
        ]
    )
    early = case(country="BE", kind="business", due=date(2026, 10, 1))
    early, plans = _simulate(early, tight, daterange(date(2026, 10, 1), date(2026, 11, 10)), 0)
    on = {h.step_key: h.on for h in early.history}
    assert on == {"r1": date(2026, 10, 4), "r2": date(2026, 10, 19), "r3": date(2026, 11, 3)}
    (r2,) = (a for p in plans for a in p.actions if a.step_key == "r2")
    assert "deadline of 2026-10-18" in r2.rules[-1]
    held = plan_case(replace(early, history=early.history[:1]), tight, date(2026, 10, 18))
    assert (held.actions, held.next_date) == ((), date(2026, 10, 19))
