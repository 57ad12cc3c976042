"""Partial payments (costs → interest → principal) and per-day interest, as properties and examples."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.domain.allocation import allocate
from dunning.domain.legal.rates import BUNDESBANK_BASE_RATE, EU_STATUTORY_B2B
from dunning.domain.planning.interest import accrue

cents = st.integers(0, 10_000_000).map(lambda c: D(c) / 100)
invoices = st.lists(
    st.tuples(st.text("ABC123", min_size=1, max_size=4), st.dates(date(2024, 1, 1), date(2025, 12, 31)), cents),
    max_size=6,
    unique_by=lambda item: item[0],
)


@given(cents, cents, cents, invoices)
def test_allocation_conserves_money_and_follows_the_order(payment: D, costs: D, interest: D, items: list) -> None:  # type: ignore[type-arg]
    result = allocate(payment, costs=costs, interest=interest, invoices=items)
    assert result.costs + result.interest + result.principal_total + result.unapplied == payment
    assert result.unapplied >= 0
    # interest only once costs are paid, principal only once interest is paid
    assert result.interest == 0 or result.costs == costs
    assert result.principal_total == 0 or result.interest == interest
    owed = {i: amount for i, _, amount in items}
    assert all(0 < part <= owed[i] for i, part in result.principal)
    assert len({i for i, _ in result.principal}) == len(result.principal)  # nothing allocated twice
    # oldest first: every invoice before the last one touched is paid in full
    ordered = [i for i, _, amount in sorted(items, key=lambda x: (x[1], x[0])) if amount > 0]
    touched = [i for i, _ in result.principal]
    assert touched == ordered[: len(touched)]
    assert all(part == owed[i] for i, part in result.principal[:-1])
    # overpayment only when everything is paid
    assert result.unapplied == 0 or result.principal_total == sum((a for *_, a in items), D(0))


@given(cents, cents, cents, invoices, st.randoms())
def test_allocation_does_not_depend_on_invoice_order(payment: D, costs: D, interest: D, items: list, rnd) -> None:  # type: ignore[no-untyped-def, type-arg]
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert allocate(payment, costs=costs, interest=interest, invoices=items) == allocate(
        payment, costs=costs, interest=interest, invoices=shuffled
    )


def test_allocation_example_and_refusals() -> None:
    result = allocate(D("50"), costs=D("40"), interest=D("20"), invoices=[("A", date(2025, 1, 1), D("100"))])
    assert (result.costs, result.interest, result.principal) == (D("40"), D("10"), ())
    with pytest.raises(ValueError, match="payment must not be negative"):
        allocate(D("-1"), costs=D(0), interest=D(0), invoices=[])
    with pytest.raises(TypeError):
        allocate(1, costs=D(0), interest=D(0), invoices=[])  # type: ignore[arg-type]


@given(cents, st.dates(date(2016, 1, 1), date(2026, 6, 1)), st.integers(0, 800), st.integers(1, 799))
def test_interest_is_additive_over_a_split_range(principal: D, start: date, days: int, cut: int) -> None:
    end = start + timedelta(days=days)
    whole = accrue(principal, start, end, EU_STATUTORY_B2B)
    assert sum(s.days for s in whole.segments) == (days + 1 if principal > 0 else 0)
    assert whole.total == sum((s.amount for s in whole.segments), D(0))
    # the segments are contiguous and each has one rate
    for a, b in zip(whole.segments, whole.segments[1:], strict=False):
        assert b.start == a.end + timedelta(days=1) and a.rate != b.rate
    # within one rounding cent per segment, accrual is additive
    if cut <= days:
        middle = start + timedelta(days=cut)
        left = accrue(principal, start, middle - timedelta(days=1), EU_STATUTORY_B2B)
        right = accrue(principal, middle, end, EU_STATUTORY_B2B)
        slack = D("0.01") * (len(left.segments) + len(right.segments) + len(whole.segments))
        assert abs(left.total + right.total - whole.total) <= slack


def test_interest_over_a_leap_day_and_an_empty_range() -> None:
    result = accrue(D("36500"), date(2024, 2, 28), date(2024, 3, 1), BUNDESBANK_BASE_RATE, spread=D(9))
    assert result.segments[0].days == 3 and result.total == D("37.86")  # 36500 × 12.62 % × 3/365
    assert accrue(D("100"), date(2024, 3, 2), date(2024, 3, 1), BUNDESBANK_BASE_RATE).total == D("0.00")
