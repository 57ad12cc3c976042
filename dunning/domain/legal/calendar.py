"""Working days and public holidays for the countries the legal packs know (BE, NL, DE, and more).

Legal periods are counted in calendar days, but their *start* often depends on working days or on
postal delivery days:

* Belgium (Book XIX CEL, art. XIX.2, mirroring art. 53bis of the Judicial Code): a reminder sent on
  paper takes effect on the **third working day after the day it was handed to the post**; working
  days are Monday to Friday except legal public holidays. A letter posted on Friday 2023-09-15 takes
  effect on Wednesday 2023-09-20::

      >>> from datetime import date
      >>> add_working_days("BE", date(2023, 9, 15), 3)
      datetime.date(2023, 9, 20)

* Netherlands (practice after HR 25-11-2016, ECLI:NL:HR:2016:2704): a posted letter is presumed
  delivered on the **second day after posting, not counting Sundays, Mondays and public holidays**
  (PostNL does not deliver letters on those days)::

      >>> nl_presumed_delivery(date(2024, 3, 1))   # posted on a Friday
      datetime.date(2024, 3, 5)

Holidays come from the ``holidays`` package (national holidays only: regional ones, e.g. German
Länder holidays, are not counted, which can only make a computed date *earlier* by a day; the packs
add their own safety margin where that matters). Results are cached per country and year, so the
planner can call these functions for a million cases a night.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

__all__ = [
    "add_working_days",
    "is_public_holiday",
    "is_working_day",
    "nl_presumed_delivery",
    "public_holidays",
]

_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=1024)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """National public holidays of ``country`` (ISO 3166 alpha-2) in ``year``.

    Countries the ``holidays`` package does not know have no holidays (only weekends count).
    """
    try:
        table = holidays.country_holidays(country.upper(), years=year)
    except NotImplementedError:
        return frozenset()
    return frozenset(table.keys())


def is_public_holiday(country: str, day: date) -> bool:
    """True when ``day`` is a national public holiday in ``country``."""
    return day in public_holidays(country, day.year)


def is_working_day(country: str, day: date) -> bool:
    """Monday to Friday, except national public holidays of ``country``."""
    return day.weekday() < 5 and day not in public_holidays(country, day.year)


@lru_cache(maxsize=65536)
def add_working_days(country: str, start: date, count: int) -> date:
    """The ``count``-th working day *after* ``start`` (``start`` itself is never counted).

    >>> add_working_days("BE", date(2023, 9, 18), 3)   # Monday → Thursday
    datetime.date(2023, 9, 21)
    """
    if count < 0:
        raise ValueError("count must not be negative")
    day = start
    remaining = count
    while remaining:
        day += _ONE_DAY
        if is_working_day(country, day):
            remaining -= 1
    return day


@lru_cache(maxsize=65536)
def nl_presumed_delivery(posted: date, country: str = "NL") -> date:
    """Day a letter posted on ``posted`` is presumed delivered in the Netherlands.

    The second day after posting, counting neither Sundays, Mondays nor public holidays.
    """
    day = posted
    counted = 0
    while counted < 2:
        day += _ONE_DAY
        if day.weekday() in (0, 6) or is_public_holiday(country, day):
            continue
        counted += 1
    return day
