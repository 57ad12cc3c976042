"""The schedule builder: what is owed, split into monthly instalments exact to the cent.

Every instalment but the last is the total divided by the count, rounded *down* to the cent; the
last takes the rounding, so the instalments always add up to what is owed and the last is never
smaller than the others::

    >>> [str(a) for a in split_amount(Decimal("100.00"), 3)]
    ['33.33', '33.33', '33.34']
    >>> [str(a) for a in split_amount(Decimal("0.02"), 3)]
    Traceback (most recent call last):
    ...
    dunning.domain.plans.model.PlanError: 0.02 cannot be split into 3 instalments of at least one cent

Instalments fall due on one day of the month, the first on or after ``start``::

    >>> [d.isoformat() for d in monthly_due_dates(date(2027, 1, 20), 15, 3)]
    ['2027-02-15', '2027-03-15', '2027-04-15']
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache

from dunning.domain.plans.model import (
    Arrangement,
    ArrangementStatus,
    CreatedVia,
    Instalment,
    InterestPolicy,
    PlanError,
    cents,
)
from dunning.domain.plans.references import instalment_reference

__all__ = ["PlanTerms", "add_months", "build_arrangement", "monthly_due_dates", "split_amount"]

_CENT = Decimal("0.01")


def split_amount(total: Decimal, count: int) -> tuple[Decimal, ...]:
    """``total`` in ``count`` instalments: equal ones rounded down to the cent, the last takes the rest."""
    total = cents(total)
    if count < 1:
        raise PlanError(f"a plan needs at least one instalment, not {count}")
    if total < _CENT * count:
        raise PlanError(f"{total} cannot be split into {count} instalments of at least one cent")
    each = (total / count).quantize(_CENT, rounding=ROUND_DOWN)
    return (*([each] * (count - 1)), total - each * (count - 1))


def add_months(day: date, months: int, day_of_month: int | None = None) -> date:
    """``day`` moved by ``months``, on ``day_of_month`` (default: its own), clamped to the month's end.

    >>> add_months(date(2027, 1, 31), 1).isoformat()
    '2027-02-28'
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    wanted = day.day if day_of_month is None else day_of_month
    return date(year, month + 1, min(wanted, calendar.monthrange(year, month + 1)[1]))


@lru_cache(maxsize=4096)  # the pay page asks for the same few schedules of today for every case
def monthly_due_dates(start: date, day_of_month: int, count: int) -> tuple[date, ...]:
    """``count`` due dates on ``day_of_month`` (clamped to short months), the first on or after ``start``."""
    if not 1 <= day_of_month <= 31:
        raise PlanError(f"day of the month {day_of_month} is not between 1 and 31")
    first = add_months(start, 0, day_of_month)
    if first < start:
        first = add_months(start, 1, day_of_month)
    return tuple(add_months(first, n, day_of_month) for n in range(count))


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """What a person or the debtor chose: how many instalments, on which day, from when."""

    count: int
    day_of_month: int
    start: date  # the first instalment falls due on or after this day
    created_by: str
    created_via: CreatedVia
    terms_version: str
    costs_frozen: bool = True
    interest_policy: InterestPolicy = InterestPolicy.FROZEN


def build_arrangement(
    plan_id: str,
    case_ids: tuple[str, ...],
    case_reference: str,
    currency: str,
    owed: tuple[Decimal, Decimal, Decimal],
    terms: PlanTerms,
    today: date,
    pack: str,
    ogm_prefix: str = "",
) -> Arrangement:
    """A proposed arrangement collecting ``owed`` = (costs, principal, interest) on ``terms``.

    Each instalment gets its own reference, derived from ``case_reference`` and its number.

    >>> from decimal import Decimal as D
    >>> terms = PlanTerms(3, 1, date(2027, 1, 10), "clerk", CreatedVia.CLI, "2026-12")
    >>> plan = build_arrangement("P1", ("7",), "000000000707", "EUR", (D("10.00"), D("290.00"), D("0.01")),
    ...                          terms, date(2027, 1, 5), "BE-consumer")
    >>> for i in plan.instalments:
    ...     print(i.number, i.due_date, i.amount, i.reference)
    1 2027-02-01 100.00 010000000788
    2 2027-03-01 100.00 020000000772
    3 2027-04-01 100.01 030000000756
    """
    costs, principal, interest = (cents(v) for v in owed)
    interest_collected = Decimal("0.00") if terms.interest_policy == InterestPolicy.WAIVED else interest
    total = costs + principal + interest_collected
    if terms.start < today:
        raise PlanError(f"plan {plan_id}: the first instalment cannot start before today ({terms.start} < {today})")
    amounts = split_amount(total, terms.count)
    dates = monthly_due_dates(terms.start, terms.day_of_month, terms.count)
    instalments = tuple(
        Instalment(n, due, amount, instalment_reference(case_reference, n, ogm_prefix))
        for n, (due, amount) in enumerate(zip(dates, amounts, strict=True), start=1)
    )
    return Arrangement(
        plan_id=plan_id,
        case_ids=case_ids,
        case_reference=case_reference,
        currency=currency,
        principal=principal,
        costs=costs,
        interest=interest,
        instalments=instalments,
        created_on=today,
        created_by=terms.created_by,
        created_via=terms.created_via,
        terms_version=terms.terms_version,
        pack=pack,
        costs_frozen=terms.costs_frozen,
        interest_policy=terms.interest_policy,
        status=ArrangementStatus.PROPOSED,
        ogm_prefix=ogm_prefix,
    )
