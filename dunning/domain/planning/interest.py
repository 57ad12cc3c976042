"""Late-payment interest accrued per day, split at every rate change.

Interest on ``principal`` from ``start`` to ``end`` (both days included) is the sum, over the stretches
where one rate applies, of ``principal × rate/100 × days/365`` (actual/365, the convention of the
Belgian Law of 2002, §288 BGB practice and the Dutch statutory interest). Each stretch is rounded half
up to the cent on its own, and the total is the sum of the rounded stretches, so the itemised breakdown
shown to a debtor always adds up::

    >>> from datetime import date
    >>> from decimal import Decimal
    >>> from dunning.domain.legal.rates import BUNDESBANK_BASE_RATE
    >>> result = accrue(Decimal("1000"), date(2023, 6, 1), date(2023, 7, 31),
    ...                 BUNDESBANK_BASE_RATE, spread=Decimal(9))
    >>> [(s.days, str(s.rate), str(s.amount)) for s in result.segments]
    [(30, '10.62', '8.73'), (31, '12.12', '10.29')]
    >>> result.total
    Decimal('19.02')

``max_rate`` caps the annual rate of every stretch (a contract rate below the legal one, or the Book
XIX cap). The function is pure; the legal packs decide *from when* interest runs and at which table
and spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from dunning.domain.legal.rates import RateTable

__all__ = ["InterestResult", "InterestSegment", "accrue"]

_CENT = Decimal("0.01")
_DAYS_PER_YEAR = Decimal(365)


@dataclass(frozen=True, slots=True)
class InterestSegment:
    """Interest over ``start``..``end`` (inclusive) at one annual ``rate`` (percent, spread included)."""

    start: date
    end: date
    days: int
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class InterestResult:
    """Interest on ``principal`` over ``start``..``end``; ``total`` is the sum of the segments."""

    principal: Decimal
    start: date
    end: date
    table: str
    spread: Decimal
    segments: tuple[InterestSegment, ...]
    total: Decimal


def accrue(
    principal: Decimal,
    start: date,
    end: date,
    table: RateTable,
    *,
    spread: Decimal = Decimal(0),
    max_rate: Decimal | None = None,
    quantum: Decimal = _CENT,
) -> InterestResult:
    """Interest on ``principal`` for every day from ``start`` to ``end`` inclusive.

    The annual rate of a day is ``table.rate_on(day) + spread``, capped at ``max_rate`` when given, and
    never below zero (a negative base rate plus a small spread does not make the creditor owe).
    """
    if not isinstance(principal, Decimal):
        raise TypeError("principal must be a Decimal")
    segments: list[InterestSegment] = []
    total = Decimal(0).quantize(quantum)
    if principal > 0:
        for seg in table.segments(start, end):
            rate = seg.rate + spread
            if max_rate is not None and rate > max_rate:
                rate = max_rate
            if rate < 0:
                rate = Decimal(0)
            amount = (principal * rate * seg.days / (_DAYS_PER_YEAR * 100)).quantize(quantum, rounding=ROUND_HALF_UP)
            segments.append(InterestSegment(seg.start, seg.end, seg.days, rate, amount))
            total += amount
    return InterestResult(principal, start, end, table.key, spread, tuple(segments), total)
