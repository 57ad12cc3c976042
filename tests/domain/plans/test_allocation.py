"""Allocation of payments: conserved to the cent, the instalment's own reference first, then the oldest."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.domain.plans.allocation import (
    Components,
    Payment,
    allocate_payment,
    owed_components,
    paid_components,
)
from dunning.domain.plans.model import ArrangementStatus, InstalmentStatus, InterestPolicy, PlanError
from dunning.domain.plans.review import defer

from .helpers import OGM_CASE, invariant, plan

payments = st.lists(
    st.tuples(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("400.00"), places=2),
        st.integers(min_value=0, max_value=6),
    ),
    min_size=1,
    max_size=8,
)


@given(payments, st.integers(2, 6))
def test_money_is_conserved_and_the_plan_always_adds_up(pays: list[tuple[Decimal, int]], count: int) -> None:
    current = plan(("12.34", "567.89", "3.21"), count)
    received = Decimal(0)
    surplus = Decimal(0)
    for n, (amount, pick) in enumerate(pays):
        # pick: 0 = no reference, 1 = the case's, else an instalment's own
        reference = None if pick == 0 else OGM_CASE if pick == 1 else current.instalments[(pick - 2) % count].reference
        current, allocation = allocate_payment(current, Payment(f"tx{n}", amount, reference))
        assert allocation.allocated + allocation.surplus == amount
        received += amount
        surplus += allocation.surplus
        invariant(current)
    assert current.paid + surplus == received
    assert surplus == max(received - current.total, Decimal(0))  # only an overpayment is surplus
    assert all(i.status == InstalmentStatus.PAID for i in current.instalments if i.open == 0)


@given(payments)
def test_a_rerun_changes_nothing(pays: list[tuple[Decimal, int]]) -> None:
    current = plan()
    for n, (amount, _) in enumerate(pays):
        current, _ = allocate_payment(current, Payment(f"tx{n}", amount))
    again = current
    for n, (amount, _) in enumerate(pays):
        again, allocation = allocate_payment(again, Payment(f"tx{n}", amount))
        assert allocation.parts == ()
    assert again == current


def test_an_instalments_own_reference_pays_it_and_the_case_reference_pays_the_oldest() -> None:
    current = plan(count=3)  # 100.00 each
    third = current.instalments[2]
    current, allocation = allocate_payment(current, Payment("a", Decimal("100.00"), third.reference))
    assert [(p.number, p.amount) for p in allocation.parts] == [(3, Decimal("100.00"))]
    current, allocation = allocate_payment(current, Payment("b", Decimal("150.00"), OGM_CASE))
    assert [(p.number, p.amount) for p in allocation.parts] == [(1, Decimal("100.00")), (2, Decimal("50.00"))]
    assert [i.status for i in current.instalments] == [
        InstalmentStatus.PAID,
        InstalmentStatus.PARTIAL,
        InstalmentStatus.PAID,
    ]
    current, allocation = allocate_payment(current, Payment("c", Decimal("60.00"), third.reference))
    # its instalment is paid already: the payment goes to the oldest open one, the rest is surplus
    assert [(p.number, p.amount) for p in allocation.parts] == [(2, Decimal("50.00"))]
    assert allocation.surplus == Decimal("10.00")
    assert current.instalment(2).payments == ("b", "c")


def test_a_deferred_instalments_reference_follows_it_to_the_end() -> None:
    current = defer(plan(count=3), 2)
    assert current.instalment(2).status == InstalmentStatus.DEFERRED
    old_reference = current.instalment(2).reference
    current, allocation = allocate_payment(current, Payment("a", Decimal("100.00"), old_reference))
    assert [(p.number, p.amount) for p in allocation.parts] == [(4, Decimal("100.00"))]


def test_a_plan_not_active_takes_no_payment() -> None:
    proposed = plan(active=False)
    same, allocation = allocate_payment(proposed, Payment("a", Decimal("10.00")))
    assert same == proposed and allocation.surplus == Decimal("10.00") and "proposed" in allocation.note


def test_german_consumer_order_pays_principal_before_interest() -> None:
    owed = Components(Decimal("5.00"), Decimal("100.00"), Decimal("20.00"))
    assert paid_components(Decimal("105.00"), owed, ("costs", "principal", "interest")) == owed.minus(
        Components(Decimal(0), Decimal(0), Decimal("20.00"))
    )
    general = paid_components(Decimal("105.00"), owed, ("costs", "interest", "principal"))
    assert general == Components(Decimal("5.00"), Decimal("80.00"), Decimal("20.00"))
    with pytest.raises(PlanError, match="must name costs, principal and interest"):
        paid_components(Decimal(1), owed, ("costs", "principal"))


@given(st.decimals(min_value=0, max_value=1000, places=2), st.permutations(["costs", "principal", "interest"]))
def test_components_paid_and_left_add_up(paid: Decimal, order: list[str]) -> None:
    owed = Components(Decimal("40.00"), Decimal("900.00"), Decimal("60.00"))
    parts = paid_components(paid, owed, tuple(order))
    assert parts.total == paid
    left = owed.minus(parts)
    assert min(left.costs, left.principal, left.interest) >= 0
    first = order[0]
    assert getattr(parts, first) == min(paid, getattr(owed, first))


def test_after_breach_waived_interest_is_owed_again() -> None:
    current = replace(plan(("10.00", "200.00", "30.00"), 2), status=ArrangementStatus.ACTIVE)
    current, _ = allocate_payment(current, Payment("a", Decimal("120.00")))
    assert owed_components(current, ("costs", "principal", "interest")) == Components(
        Decimal("0.00"), Decimal("90.00"), Decimal("30.00")
    )
    waived = replace(
        plan(("10.00", "200.00", "0.00"), 2), interest=Decimal("30.00"), interest_policy=InterestPolicy.WAIVED
    )
    waived, _ = allocate_payment(waived, Payment("a", Decimal("120.00")))
    assert owed_components(waived, ("costs", "principal", "interest")).interest == Decimal("30.00")
