"""Interest does not run while a plan with frozen (or waived) interest is kept.

A plan's policy says ``interest: frozen`` (the interest stops at what was owed when the plan was
agreed) or ``waived`` (dropped for a kept plan). Either way no interest accrues for the days the
plan was in force: from the day it was made to the day it ended (breached, completed, cancelled),
both included; a plan still active freezes every day from its making on. When a breached plan
gives the flow back, interest runs again from the day after the plan ended, so the letter after a
breach asks for interest up to its date *less* the plan's months.

:func:`frozen_spans` says which days are frozen for a case's plans; :func:`accrue_outside` is
:func:`~dunning.domain.planning.interest.accrue` over a stretch with those days left out. Every
place that charges interest (the planner's ``add_interest``, the letter's interest up to its date)
goes through it, so the one sum owed (:mod:`dunning.domain.owed`) never holds frozen days.

    >>> from dunning.domain.legal.rates import BUNDESBANK_BASE_RATE
    >>> spans = ((date(2023, 6, 11), date(2023, 7, 10)),)
    >>> full = accrue_outside(Decimal("1000"), date(2023, 6, 1), date(2023, 7, 31), (),
    ...                       BUNDESBANK_BASE_RATE, spread=Decimal(9))
    >>> cut = accrue_outside(Decimal("1000"), date(2023, 6, 1), date(2023, 7, 31), spans,
    ...                      BUNDESBANK_BASE_RATE, spread=Decimal(9))
    >>> full.total, cut.total, sum(s.days for s in cut.segments)
    (Decimal('19.02'), Decimal('9.88'), 31)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from dunning.domain.legal.rates import RateTable
from dunning.domain.planning.interest import InterestResult, InterestSegment, accrue
from dunning.domain.plans.model import Arrangement, ArrangementStatus, InterestPolicy

__all__ = ["FrozenSpan", "accrue_outside", "frozen_span", "frozen_spans"]

#: first and last day (both included) on which no interest runs
FrozenSpan = tuple[date, date]

_IN_FORCE = frozenset({ArrangementStatus.ACTIVE, ArrangementStatus.COMPLETED, ArrangementStatus.BREACHED,
                       ArrangementStatus.CANCELLED})


def frozen_span(status: str, policy: str, made_on: date, ended_on: date | None) -> FrozenSpan | None:
    """The days one plan froze interest, or None (proposed, never accepted: it freezes nothing).

    Both interest policies freeze (``waived`` drops what was owed besides); a plan still active
    freezes every day from its making on; one cancelled the day it was made still freezes that day.
    """
    if status not in _IN_FORCE or policy not in (InterestPolicy.FROZEN, InterestPolicy.WAIVED):
        return None
    end = ended_on if ended_on is not None else date.max
    return (made_on, end) if end >= made_on else None


def frozen_spans(plans: Iterable[Arrangement]) -> tuple[FrozenSpan, ...]:
    """The days (oldest first) on which interest stood still because one of ``plans`` was kept."""
    spans = (frozen_span(p.status, p.interest_policy, p.created_on, p.ended_on) for p in plans)
    return tuple(sorted(span for span in spans if span is not None))


def _outside(start: date, end: date, spans: Sequence[FrozenSpan]) -> list[FrozenSpan]:
    """``start``..``end`` with the frozen days cut out, as stretches (oldest first)."""
    pieces: list[FrozenSpan] = []
    cursor = start
    for first, last in sorted(spans):
        if last < cursor or first > end:
            continue
        if first > cursor:
            pieces.append((cursor, first - timedelta(days=1)))
        if last >= end:
            return pieces
        cursor = max(cursor, last + timedelta(days=1))
    if cursor <= end:
        pieces.append((cursor, end))
    return pieces


def accrue_outside(
    principal: Decimal,
    start: date,
    end: date,
    spans: Sequence[FrozenSpan],
    table: RateTable,
    *,
    spread: Decimal = Decimal(0),
    max_rate: Decimal | None = None,
) -> InterestResult:
    """Interest on ``principal`` for the days ``start``..``end`` that no span freezes.

    Without spans, exactly :func:`accrue`. With spans, the stretches between them are accrued one by
    one and their segments put together (each segment rounded on its own, as :func:`accrue` does), so
    the breakdown still adds up and shows the gap.
    """
    if not spans:
        return accrue(principal, start, end, table, spread=spread, max_rate=max_rate)
    segments: list[InterestSegment] = []
    total = Decimal("0.00")
    for first, last in _outside(start, end, spans):
        part = accrue(principal, first, last, table, spread=spread, max_rate=max_rate)
        segments.extend(part.segments)
        total += part.total
    return InterestResult(principal, start, end, table.key, spread, tuple(segments), total)
