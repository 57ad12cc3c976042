"""Legal periods run from the day a notice really went out, not the day it was planned (pure planner).

Book XIX (BE): the 14 days start the 3rd working day after a letter is posted, the day after an email
is sent; WIK (NL): 14 days from the day after presumed delivery. A letter the print house posts late
pushes the costs later; a notice that has not gone out at all keeps them waiting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

from dunning.domain.legal import select_pack
from dunning.domain.planning.actions import Channel
from dunning.domain.planning.case_state import CaseState, HistoryEntry, Outcome
from dunning.domain.planning.flows import Flow
from dunning.domain.planning.plan import CasePlan
from dunning.domain.planning.planner import plan_case

from .helpers import case, daterange, flow, record


def _flow(contact: str = "send_letter") -> Flow:
    """A free first reminder, then damages and interest as soon as the law allows."""
    return flow([
        {"key": "r1", "day": 7, "action": contact},
        {"key": "damages", "day": 8, "action": "add_fee", "settings": {"mode": "legal_max"}},
        {"key": "interest", "after": 0, "action": "add_interest"},
    ])


def _went_out(state: CaseState, step: str, on: date) -> CaseState:
    """What the store reports once the message of ``step`` went out on ``on`` (e.g. the posting date)."""
    history = tuple(replace(h, outcome=Outcome.SENT, sent_on=on) if h.step_key == step else h for h in state.history)
    return replace(state, history=history)


def _nights(state: CaseState, the_flow: Flow, days: list[date], out_on: date | None,
            known_on: date | None = None) -> tuple[CaseState, list[CasePlan]]:
    """Plan night after night; the first reminder stays planned until ``known_on`` (default ``out_on``),
    from when the store knows it went out on ``out_on``."""
    plans = []
    known_on = known_on or out_on
    for day in days:
        if out_on is not None and known_on is not None and day >= known_on:
            state = _went_out(state, "r1", out_on)
        plan = plan_case(state, the_flow, day)
        state = record(state, plan, sent=False)
        plans.append(plan)
    return state, plans


def _charged_on(plans: list[CasePlan], action: str) -> date:
    (day,) = [a.planned_on for p in plans for a in p.actions if a.action == action]
    return day


def test_belgian_letter_posted_three_days_late_pushes_damages_and_interest_by_three_days() -> None:
    pack = select_pack("BE", "consumer")
    due = date(2026, 10, 28)  # first reminder (day 7) planned Wednesday 4 November 2026
    state = case(country="BE", amounts=("1000.00",), due=due, has_email=False)
    days = daterange(due, date(2026, 12, 15))
    _, on_time = _nights(state, _flow(), days, out_on=date(2026, 11, 4), known_on=date(2026, 11, 5))
    # posted Saturday 7 November (acknowledged by the print house on Monday 9)
    _, late = _nights(state, _flow(), days, out_on=date(2026, 11, 7), known_on=date(2026, 11, 9))
    planned_r1 = next(a for p in late for a in p.actions if a.step_key == "r1")
    assert planned_r1.planned_on == date(2026, 11, 4) and planned_r1.channel == "letter"
    # posted Wed 4 Nov: 3rd working day Mon 9, 14 days Mon 9 to Sun 22: costs from Mon 23
    assert _charged_on(on_time, "add_fee") == pack.earliest_cost_date(date(2026, 11, 4), Channel.LETTER)
    assert _charged_on(on_time, "add_fee") == date(2026, 11, 23)
    # posted Sat 7 Nov: 3rd working day Thu 12 (Wed 11 Nov, Armistice, does not count): costs from Thu 26
    assert _charged_on(late, "add_fee") == date(2026, 11, 26) == _charged_on(late, "add_interest")
    assert (_charged_on(late, "add_fee") - _charged_on(on_time, "add_fee")).days == 3
    by_day = dict(zip(days, late, strict=True))
    assert "costs not before 2026-11-26" in by_day[date(2026, 11, 23)].note
    fee = next(a for p in late for a in p.actions if a.action == "add_fee")
    assert fee.amount == D("90.00") and fee.earliest_legal_date == date(2026, 11, 26)


def test_dutch_letter_posted_three_days_late_pushes_the_wik_costs_by_three_days() -> None:
    due = date(2026, 10, 26)  # first reminder (day 7) planned Monday 2 November 2026
    state = case(country="NL", amounts=("1000.00",), due=due, has_email=False)
    days = daterange(due, date(2026, 12, 15))
    _, on_time = _nights(state, _flow(), days, out_on=date(2026, 11, 2), known_on=date(2026, 11, 3))
    _, late = _nights(state, _flow(), days, out_on=date(2026, 11, 5), known_on=date(2026, 11, 6))
    # posted Mon 2 Nov: presumed delivered Wed 4, 14 days Thu 5 to Wed 18: costs from Thu 19
    assert _charged_on(on_time, "add_fee") == date(2026, 11, 19)
    # posted Thu 5 Nov: presumed delivered Sat 7, 14 days Sun 8 to Sat 21: costs from Sun 22
    assert _charged_on(late, "add_fee") == date(2026, 11, 22)
    fee = next(a for p in late for a in p.actions if a.action == "add_fee")
    assert fee.amount == D("150.00")  # WIK: 15 % of €1,000


def test_an_email_sent_a_day_late_moves_the_belgian_costs_by_a_day() -> None:
    due = date(2026, 10, 26)  # first reminder by email planned Monday 2 November
    state = case(country="BE", amounts=("1000.00",), due=due, has_email=True)
    days = daterange(due, date(2026, 12, 15))
    _, on_time = _nights(state, _flow("send_email"), days, out_on=date(2026, 11, 2), known_on=date(2026, 11, 3))
    _, late = _nights(state, _flow("send_email"), days, out_on=date(2026, 11, 3), known_on=date(2026, 11, 4))
    assert _charged_on(on_time, "add_fee") == date(2026, 11, 17)  # period 3 to 16 November
    assert _charged_on(late, "add_fee") == date(2026, 11, 18)


def test_a_notice_that_has_not_gone_out_keeps_costs_and_interest_waiting() -> None:
    due = date(2026, 10, 28)
    state = case(country="BE", amounts=("1000.00",), due=due, has_email=False)
    days = daterange(due, date(2026, 12, 31))
    stuck, plans = _nights(state, _flow(), days, out_on=None)  # the letter never leaves (print house down)
    assert [h.action for h in stuck.history] == ["send_letter"]
    last = plans[-1]
    assert last.status == "waiting" and last.actions == ()
    # the next step counts its days from the day the letter goes out (pacing), as the costs do
    assert "damages: waits for r1 (planned 2026-11-04) to go out" in last.note
    assert last.next_date == date(2027, 1, 1)  # looked at again every night until it goes out
    # every night since the letter was planned the case waited for it (nothing dropped, nothing charged)
    assert all(p.note == last.note for p in plans[8:])
    # it goes out on 4 January 2027: costs from the end of the period counted from that day
    posted = date(2027, 1, 4)
    state = _went_out(stuck, "r1", posted)
    later = daterange(date(2027, 1, 1), date(2027, 2, 15))
    _, after = _nights(state, _flow(), later, out_on=None)
    expected = select_pack("BE", "consumer").earliest_cost_date(posted, Channel.LETTER)
    assert _charged_on(after, "add_fee") == expected == date(2027, 1, 21)


def test_a_notice_planned_tonight_does_not_let_a_cost_through_the_same_night() -> None:
    """German business debts: default comes 30 days after the due date, or with a reminder that went out."""
    due = date(2026, 9, 1)
    the_flow = flow([
        {"key": "r1", "day": 5, "action": "send_email"},
        {"key": "flat", "after": 0, "action": "add_fee", "settings": {"mode": "legal_max"}},
    ])
    state = case(country="DE", kind="business", amounts=("500.00",), due=due)
    plan = plan_case(state, the_flow, date(2026, 9, 6))
    assert [a.action for a in plan.actions] == ["send_email"]
    state = record(state, plan, sent=False)
    # not gone out: the reminder does not count, and the step after it waits for it to go out (pacing),
    # looked at again every night, even past the 30 days of automatic default (§286(3) BGB)
    waiting = plan_case(state, the_flow, date(2026, 9, 9))
    assert waiting.actions == () and waiting.next_date == date(2026, 9, 10)
    assert "flat: waits for r1 (planned 2026-09-06) to go out" in waiting.note
    assert plan_case(state, the_flow, date(2026, 10, 5)).actions == ()
    sent = _went_out(state, "r1", date(2026, 9, 8))  # it went out on the 8th: default from the 9th
    assert plan_case(sent, the_flow, date(2026, 9, 8)).actions == ()
    (fee,) = plan_case(sent, the_flow, date(2026, 9, 9)).actions
    assert fee.action == "add_fee" and fee.amount == D("40.00")


def _fee_after(outcome: Outcome) -> D:
    """The damages a Belgian case may still get after a €10 letter fee whose letter ended ``outcome``."""
    the_flow = flow([
        {"key": "r1", "day": 7, "action": "send_letter"},
        {"key": "r2", "day": 20, "action": "send_letter", "settings": {"fee": "10.00"}},
        {"key": "damages", "day": 40, "action": "add_fee", "settings": {"mode": "legal_max"}},
    ])
    due = date(2026, 9, 1)
    state = case(country="BE", amounts=("1000.00",), due=due, has_email=False)
    base: dict[str, Any] = {"flow": "t", "version": 1, "channel": "letter"}
    history = (
        HistoryEntry("k1", "r1", "send_letter", due + timedelta(days=7), Outcome.SENT, amount=D("0.00"),
                     sent_on=due + timedelta(days=7), **base),
        HistoryEntry("k2", "r2", "send_letter", due + timedelta(days=30), outcome, amount=D("10.00"),
                     outcome_on=due + timedelta(days=35), **base),
    )
    # day 40 of the flow: 20 days after r2 (day 20) was sent on day 30 (pacing)
    (fee,) = [a for a in plan_case(replace(state, history=history), the_flow, due + timedelta(days=50)).actions
              if a.action == "add_fee"]
    assert fee.amount is not None
    return fee.amount


def test_the_fee_of_a_message_that_failed_is_not_counted_against_the_cap() -> None:
    assert _fee_after(Outcome.SENT) == D("80.00")  # Book XIX cap €90 on €1,000, €10 already charged
    assert _fee_after(Outcome.RETURNED) == D("90.00")  # the returned letter's fee is not owed
