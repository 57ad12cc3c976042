"""Per-day interest, as properties and examples (partial payments: tests/domain/matching)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from dunning.domain.legal.rates import BUNDESBANK_BASE_RATE, EU_STATUTORY_B2B
from dunning.domain.planning.interest import accrue

cents = st.integers(0, 10_000_000).map(lambda c: D(c) / 100)


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
