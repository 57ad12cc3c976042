"""The night's review: reminders, grace, misses and the policy's answer, breach by the law, completion."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.domain.legal import select_pack
from dunning.domain.plans.allocation import Payment, allocate_payment
from dunning.domain.plans.model import ArrangementStatus, InstalmentStatus
from dunning.domain.plans.policy import BreachRule, OnMissed, PlanPolicy, bounded_policy
from dunning.domain.plans.review import assess_breach, review_plan, spread

from .helpers import invariant, plan

BE = select_pack("BE", "consumer")
DE = select_pack("DE", "consumer")


def _policy(**changes: object) -> PlanPolicy:
    base: dict[str, object] = {
        "grace_days": 5,
        "deferrals": 1,
        "on_missed": OnMissed.DEFER,
        "breach": BreachRule(missed_in_a_row=1, notice_days=0),  # no notice: the plan ends at the miss
        "min_instalment": Decimal("10.00"),
    }
    return PlanPolicy(**{**base, **changes})  # type: ignore[arg-type]


def _kinds(review: object) -> list[tuple[str, int | None]]:
    return [(a.kind, a.number) for a in review.actions]  # type: ignore[attr-defined]


def test_the_story_paid_paid_missed_deferred_missed_breached() -> None:
    """BE consumer, 4 × 100 on the 1st: 1 and 2 paid by their own references, 3 missed and deferred, 4 missed."""
    bounded = bounded_policy(_policy(), BE)
    current = plan(("0.00", "400.00", "0.00"), count=4)  # due 2027-02-01 .. 2027-05-01
    review = review_plan(current, bounded, date(2027, 1, 29))
    assert _kinds(review) == [("instalment_reminder", 1)]
    current = review.plan
    for n in (1, 2):
        current, _ = allocate_payment(current, Payment(f"tx{n}", Decimal("100.00"), current.instalment(n).reference))
    assert review_plan(current, bounded, date(2027, 3, 5)).actions == ()  # nothing open before due
    review = review_plan(current, bounded, date(2027, 4, 3))
    assert _kinds(review) == [("grace_reminder", 3)]
    review = review_plan(current, bounded, date(2027, 4, 7))
    assert _kinds(review) == [("missed", 3), ("deferred", 3)]
    current = review.plan
    assert current.instalment(5).due_date == date(2027, 6, 1) and current.instalment(5).amount == Decimal("100.00")
    assert current.status == ArrangementStatus.ACTIVE
    invariant(current)
    review = review_plan(current, bounded, date(2027, 5, 7))
    assert _kinds(review) == [("missed", 4), ("breached", None)]
    assert review.plan.status == ArrangementStatus.BREACHED and review.plan.ended_on == date(2027, 5, 7)
    assert review.plan.open == Decimal("200.00")
    invariant(review.plan)


def test_german_consumers_need_two_in_a_row_ten_percent_and_a_two_week_notice() -> None:
    bounded = bounded_policy(_policy(on_missed=OnMissed.REMIND, deferrals=0), DE)
    assert (bounded.breach.missed_in_a_row, bounded.breach.arrears_percent, bounded.breach.notice_days) == (
        2,
        Decimal(10),
        14,
    )
    current = plan(count=10)  # 30.00 each, 300.00: 10 % is 30.00
    review = review_plan(current, bounded, date(2027, 2, 7))
    assert _kinds(review) == [("missed", 1)]  # one miss: no breach under § 498
    review = review_plan(review.plan, bounded, date(2027, 3, 7))
    assert _kinds(review) == [("missed", 2), ("breach_notice", None)]
    assert review.plan.breach_notice_on == date(2027, 3, 7) and review.plan.status == ArrangementStatus.ACTIVE
    waiting = review_plan(review.plan, bounded, date(2027, 3, 20))
    assert waiting.plan.status == ArrangementStatus.ACTIVE
    ended = review_plan(review.plan, bounded, date(2027, 3, 21))
    assert ended.plan.status == ArrangementStatus.BREACHED
    # paying the arrears during the notice keeps the plan
    paid, _ = allocate_payment(review.plan, Payment("late", Decimal("60.00")))
    kept = review_plan(paid, bounded, date(2027, 3, 21))
    assert kept.plan.status == ArrangementStatus.ACTIVE and kept.plan.breach_notice_on is None


def test_two_misses_below_ten_percent_do_not_break_a_german_plan() -> None:
    bounded = bounded_policy(_policy(on_missed=OnMissed.REMIND, deferrals=0, max_count=24, max_term_months=24), DE)
    current = plan(count=24)  # 12.50 each: two missed = 25.00 < 30.00
    current, _ = allocate_payment(current, Payment("p", Decimal("1.00")))  # part of instalment 1
    state = None
    for day in (date(2027, 2, 7), date(2027, 3, 7)):
        review = review_plan(current, bounded, day)
        current = review.plan
        state = assess_breach(current, bounded)
    assert state is not None and state.missed_in_a_row == 2 and not state.holds
    assert "arrears 24.00" in state.explanation


def test_spread_makes_the_rest_smaller_within_the_term() -> None:
    bounded = bounded_policy(_policy(on_missed=OnMissed.SPREAD, max_count=6, max_term_months=6), BE)
    current = plan(count=3)  # 100 each, Feb-Apr; the term allows up to Aug
    review = review_plan(current, bounded, date(2027, 2, 7))
    assert _kinds(review) == [("missed", 1), ("spread", 1)]
    spread_plan = review.plan
    invariant(spread_plan)
    open_amounts = [i.open for i in spread_plan.open_instalments()]
    assert sum(open_amounts) == Decimal("300.00") and max(open_amounts) < Decimal("100.00")
    assert spread_plan.last_due <= date(2027, 8, 1)
    assert spread_plan.instalment(1).status == InstalmentStatus.DEFERRED
    # instalments 2 and 3 keep their references (a standing order keeps working)
    assert [i.reference for i in spread_plan.instalments[1:3]] == [i.reference for i in current.instalments[1:3]]


def test_spread_without_room_leaves_the_miss_standing() -> None:
    bounded = bounded_policy(_policy(on_missed=OnMissed.SPREAD, max_count=3, max_term_months=2), BE)
    current = plan(count=3)
    assert spread(current, 1, bounded) is None
    review = review_plan(current, bounded, date(2027, 2, 7))
    assert _kinds(review) == [("missed", 1), ("breached", None)]


def test_a_paid_plan_completes() -> None:
    current, _ = allocate_payment(plan(), Payment("all", Decimal("300.00")))
    review = review_plan(current, bounded_policy(_policy(), BE), date(2027, 2, 1))
    assert _kinds(review) == [("completed", None)] and review.plan.status == ArrangementStatus.COMPLETED


nights = st.lists(st.tuples(st.integers(0, 40), st.decimals(min_value=0, max_value=150, places=2)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(nights, st.sampled_from(list(OnMissed)), st.sampled_from([BE, DE]), st.integers(2, 8))
def test_any_sequence_of_nights_and_payments_keeps_the_money_and_reruns_change_nothing(
    steps: list[tuple[int, Decimal]], answer: OnMissed, pack: object, count: int
) -> None:
    bounded = bounded_policy(_policy(on_missed=answer, max_count=12, max_term_months=12), pack)  # type: ignore[arg-type]
    current = plan(("7.00", "400.00", "3.33"), count)
    day = date(2027, 1, 5)
    received = Decimal(0)
    seen_keys: set[str] = set()
    for n, (gap, amount) in enumerate(steps):
        day += timedelta(days=gap)
        if amount > 0:
            current, allocation = allocate_payment(current, Payment(f"t{n}", amount))
            received += amount - allocation.surplus
        review = review_plan(current, bounded, day)
        current = review.plan
        invariant(current)
        assert current.paid == received
        again = review_plan(current, bounded, day)
        assert again.plan == current  # a re-run of the same night changes nothing
        assert {a.key for a in again.actions} <= {a.key for a in review.actions} | seen_keys | {
            a.key for a in again.actions if a.kind == "grace_reminder"
        }
        seen_keys |= {a.key for a in review.actions}
    assert current.total == Decimal("410.33")


def test_under_a_dispute_nothing_is_missed_and_after_it_the_grace_days_count_from_its_end() -> None:
    bounded = bounded_policy(_policy(), BE)
    current = plan(("0.00", "400.00", "0.00"), count=4)  # due 2027-02-01 .. 2027-05-01
    disputed = review_plan(current, bounded, date(2027, 3, 20), judge_misses=False)
    assert [k for k, _ in _kinds(disputed)] == [] and disputed.plan == current  # 1 and 2 long past their grace
    lifted = date(2027, 3, 20)
    review = review_plan(current, bounded, date(2027, 3, 21), resumed_on=lifted)
    assert _kinds(review) == [("grace_reminder", 1), ("grace_reminder", 2)]
    assert _kinds(review_plan(current, bounded, date(2027, 3, 25), resumed_on=lifted))[0] == ("grace_reminder", 1)
    judged = review_plan(current, bounded, date(2027, 3, 26), resumed_on=lifted)
    assert ("missed", 1) in _kinds(judged) and ("deferred", 1) in _kinds(judged)
    # without the dispute, the same night had judged 1 and 2 missed long ago
    assert ("missed", 2) in _kinds(review_plan(current, bounded, date(2027, 3, 21)))
