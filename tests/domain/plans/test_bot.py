"""The plan bot's pure part: credits never exceed payments, reversals take back exactly, nights repeat harmlessly.

Property tests (hypothesis) over random plans, payments (an instalment's own reference, the case's,
none), reversals of earlier payments and nights of review in between: after every step the
instalments sum to what the plan collects, what they received is what the live payments gave them
(never more than those payments), and a night run twice gives the same plan and the same actions.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.domain.legal import select_pack
from dunning.domain.plans.allocation import Payment
from dunning.domain.plans.bot import bot_actions, credit, uncredit
from dunning.domain.plans.model import ArrangementStatus, InstalmentStatus
from dunning.domain.plans.policy import OnMissed, PlanPolicy, bounded_policy
from dunning.domain.plans.review import review_plan

from .helpers import OGM_CASE, TODAY, invariant, plan

steps = st.lists(
    st.one_of(
        # a payment: amount, 0 = no reference / 1 = the case's / n = instalment n - 1's own
        st.tuples(st.just("pay"), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("300.00"), places=2),
                  st.integers(0, 7)),
        # a return or reversal of the k-th payment made so far (if it is still live)
        st.tuples(st.just("undo"), st.just(Decimal(0)), st.integers(0, 7)),
        # a night: days after the plan was made
        st.tuples(st.just("night"), st.just(Decimal(0)), st.integers(0, 200)),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=150, deadline=None)
@given(steps, st.integers(2, 6), st.sampled_from(list(OnMissed)))
def test_credits_never_exceed_payments_and_instalments_sum_to_what_is_owed(
    script: list[tuple[str, Decimal, int]], count: int, on_missed: OnMissed
) -> None:
    current = plan(("20.00", "250.55", "4.45"), count, day=15)
    bounded = bounded_policy(PlanPolicy(on_missed=on_missed, min_instalment=Decimal("10.00")),
                             select_pack("BE", "consumer"))
    live: dict[str, dict[int, Decimal]] = {}  # payment id -> what it paid of each instalment
    amounts: dict[str, Decimal] = {}
    made: list[str] = []
    for kind, amount, pick in script:
        if kind == "pay":
            pid = f"tx{len(made)}"
            reference = None if pick == 0 else OGM_CASE if pick == 1 else (
                current.instalments[(pick - 2) % len(current.instalments)].reference)
            current, parts = credit(current, Payment(pid, amount, reference))
            made.append(pid)
            amounts[pid] = amount
            assert sum((p.amount for p in parts), Decimal(0)) <= amount
            if parts:
                live[pid] = {p.number: p.amount for p in parts}
                named = next((i for i in current.instalments if i.reference == reference), None)
                if named is not None and named.deferred_to is None and named.number in live[pid]:
                    assert parts[0].number == named.number  # its own instalment first
        elif kind == "undo" and made:
            pid = made[pick % len(made)]
            if pid in live:
                current = uncredit(current, pid, live.pop(pid))
        else:
            before = current
            review = review_plan(current, bounded, TODAY + timedelta(days=pick))
            again = review_plan(review.plan, bounded, TODAY + timedelta(days=pick))
            assert again.plan == review.plan  # the same night twice: nothing changes the second time
            first_keys = {a.key for a in bot_actions(before, review.plan, review.actions)}
            assert {a.key for a in bot_actions(review.plan, again.plan, again.actions)} <= first_keys | {
                a.key for a in again.actions}
            current = review.plan
        invariant(current)
        credited = sum((sum(parts.values(), Decimal(0)) for parts in live.values()), Decimal(0))
        assert current.paid == credited  # instalments hold exactly what live payments gave them
        assert credited <= sum((amounts[p] for p in live), Decimal(0))
        for pid, parts in live.items():
            assert sum(parts.values(), Decimal(0)) <= amounts[pid]
            for number in parts:
                assert pid in current.instalment(number).payments
    for pid in list(live):
        current = uncredit(current, pid, live.pop(pid))
    invariant(current)
    assert current.paid == 0 and current.open == current.total


def test_a_paid_instalment_is_open_again_after_its_payment_is_reversed() -> None:
    current = plan(("0.00", "300.00", "0.00"), 3)
    paid, parts = credit(current, Payment("tx1", Decimal("100.00"), current.instalments[1].reference))
    assert paid.instalment(2).status == InstalmentStatus.PAID and [p.number for p in parts] == [2]
    back = uncredit(paid, "tx1", {p.number: p.amount for p in parts})
    assert back.instalment(2).status == InstalmentStatus.SCHEDULED and back.instalment(2).payments == ()
    assert back == current


def test_a_reversal_reopens_a_completed_plan() -> None:
    current = plan(("0.00", "300.00", "0.00"), 3)
    paid, parts = credit(current, Payment("tx1", Decimal("300.00")))
    done = review_plan(paid, bounded_policy(PlanPolicy(), select_pack("BE", "consumer")), date(2027, 2, 1)).plan
    assert done.status == ArrangementStatus.COMPLETED
    back = uncredit(done, "tx1", {p.number: p.amount for p in parts})
    assert back.status == ArrangementStatus.ACTIVE and back.ended_on is None and back.open == Decimal("300.00")


def test_thanks_once_per_paid_instalment_none_on_the_night_it_completes() -> None:
    current = plan(("0.00", "300.00", "0.00"), 3)
    paid, _ = credit(current, Payment("tx1", Decimal("200.00")))
    found = bot_actions(current, paid, ())
    assert [(a.action, a.key, a.message) for a in found] == [
        ("plan_thanks", "plan:P1:thanks:1", True),
        ("plan_thanks", "plan:P1:thanks:2", True),
    ]
    full, _ = credit(paid, Payment("tx2", Decimal("100.00")))
    review = review_plan(full, bounded_policy(PlanPolicy(), select_pack("BE", "consumer")), date(2027, 2, 1))
    assert [a.action for a in bot_actions(full, review.plan, review.actions)] == ["plan_completed"]


def test_a_miss_answered_by_a_deferral_tells_the_debtor_once() -> None:
    current = plan(("0.00", "300.00", "0.00"), 3, day=15)
    bounded = bounded_policy(PlanPolicy(), select_pack("BE", "consumer"))
    review = review_plan(current, bounded, current.instalments[0].due_date + timedelta(days=6))
    found = bot_actions(current, review.plan, review.actions)
    assert [(a.action, a.message) for a in found] == [("plan_missed", False), ("plan_deferred", True)]
