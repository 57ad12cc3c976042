"""The due day that fits: the day of the month a debtor's earlier payments say they can pay.

People pay when their money comes in. :func:`propose_due_day` looks at the days of the month the
debtor's earlier payments arrived, finds the week of the month most of them fall in (counting round
the month's end, so the 28th and the 2nd are close), and proposes the first offered day on or after
the start of that week: just after payday. A one-line explanation goes with it; the creditor's
override wins::

    >>> from datetime import date
    >>> paid = [date(2026, 9, 26), date(2026, 10, 27), date(2026, 11, 25)]
    >>> proposal = propose_due_day(paid, (1, 15, 28))
    >>> proposal.day, proposal.explanation
    (28, 'your last 3 payments arrived between the 25th and the 27th of the month, so instalments fall due on the 28th')
    >>> propose_due_day([], (1, 15)).explanation
    'no earlier payments to go by: the first day offered, the 1st'
    >>> propose_due_day(paid, (1, 15), override=10).explanation
    'the 10th, chosen by the creditor'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from dunning.domain.plans.model import PlanError

__all__ = ["DueDayProposal", "ordinal", "propose_due_day"]

_WINDOW = 7  # days of the month counted as one payday week
_MONTH = 31
_RECENT = 12  # the last payments looked at


@dataclass(frozen=True, slots=True)
class DueDayProposal:
    day: int
    explanation: str
    from_history: bool


def ordinal(day: int) -> str:
    """``1st``, ``2nd``, ``23rd``, ``11th``."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _distance(start: int, day: int) -> int:
    """Days from ``start`` forward to ``day`` round a 31-day month (0 to 30)."""
    return (day - start) % _MONTH


def propose_due_day(
    payment_dates: Iterable[date], days_offered: tuple[int, ...], override: int | None = None
) -> DueDayProposal:
    """The offered day of the month that follows the debtor's usual payment days (see the module)."""
    if not days_offered:
        raise PlanError("no day of the month is offered")
    if override is not None:
        if not 1 <= override <= 28:
            raise PlanError(f"due day {override} is not between 1 and 28")
        return DueDayProposal(override, f"the {ordinal(override)}, chosen by the creditor", False)
    recent = sorted(payment_dates)[-_RECENT:]
    offered = sorted(days_offered)
    if not recent:
        return DueDayProposal(
            offered[0], f"no earlier payments to go by: the first day offered, the {ordinal(offered[0])}", False
        )
    days = [d.day for d in recent]
    # the week (start day 1..31) holding most payments; ties go to the latest payments' week
    best_start = max(
        range(1, _MONTH + 1), key=lambda s: (sum(_distance(s, d) < _WINDOW for d in days), -_distance(days[-1], s))
    )
    inside = sorted((d for d in days if _distance(best_start, d) < _WINDOW), key=lambda d: _distance(best_start, d))
    first, last = inside[0], inside[-1]
    day = min(offered, key=lambda o: _distance(first, o))
    span = f"on the {ordinal(first)}" if first == last else f"between the {ordinal(first)} and the {ordinal(last)}"
    count = f"your last {len(days)} payments arrived" if len(days) > 1 else "your last payment arrived"
    share = f" ({len(inside)} of them)" if len(inside) < len(days) else ""
    return DueDayProposal(
        day, f"{count}{share} {span} of the month, so instalments fall due on the {ordinal(day)}", True
    )
