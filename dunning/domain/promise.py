"""A promise to pay: the debtor picks a day on the pay page and dunning pauses until then.

Pure rules, no I/O and no clock (``today`` is a parameter):

* **The window** a day may be picked in (:func:`promise_window`): from tomorrow to ``max_days`` after
  today (the pay page's ``promise.max_days``), and never past what the case's rule pack allows a
  deferral without costs to last: Germany's § 491(2) no. 3 BGB exempts a deferral of at most three
  months from the consumer-credit rules (``PlanLaw.paid_deferral_is_credit_after_months``); a
  promise costs the debtor nothing, and staying inside that bound keeps it plainly outside them.
* **The pause** is a ``promise_to_pay`` hold from the day it is made to the promised day plus
  ``grace_days`` (bank transfers take a day or two to show on a statement): :func:`hold_until`
  gives its exclusive end, the first day the promise may be found broken.
* **Kept or broken** (:func:`settle`): paid in full while the hold runs, kept; nothing or too little
  by its end, broken, and the flow resumes where it paused.
* **The reminder** goes the day before the promised day (:func:`reminder_due`) on the debtor's
  preferred channel (:func:`reminder_channel`: email if an address is known, else SMS, else none),
  once; a promise made for the next day gets none (the debtor chose the day a moment ago).

    >>> w = promise_window(date(2026, 11, 5), max_days=14)
    >>> w.earliest.isoformat(), w.latest.isoformat()
    ('2026-11-06', '2026-11-19')
    >>> check_day(date(2026, 11, 20), w)
    'too_late'
    >>> hold_until(date(2026, 11, 19), grace_days=3).isoformat()
    '2026-11-23'
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from dunning.domain.legal.base import PlanLaw

__all__ = [
    "PromiseStatus",
    "PromiseWindow",
    "check_day",
    "hold_until",
    "is_promise_reminder",
    "promise_window",
    "promised_day",
    "reminder_channel",
    "reminder_due",
    "settle",
]

ONE_DAY = timedelta(days=1)


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class PromiseWindow:
    """The days a promise may name: ``earliest`` to ``latest``, both included; ``bound_by`` says what set ``latest``."""

    earliest: date
    latest: date
    bound_by: str


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def promise_window(today: date, *, max_days: int, law: PlanLaw | None = None) -> PromiseWindow:
    """The window of a promise made on ``today`` (see the module docstring)."""
    latest, bound_by = today + timedelta(days=max_days), f"paypage.promise.max_days ({max_days})"
    months = law.paid_deferral_is_credit_after_months if law is not None else None
    if months is not None:
        legal = _add_months(today, months)
        if legal < latest:
            latest, bound_by = legal, f"rule pack: a deferral of at most {months} months"
    return PromiseWindow(today + ONE_DAY, max(latest, today + ONE_DAY), bound_by)


def check_day(day: date | None, window: PromiseWindow) -> str | None:
    """Why ``day`` cannot be promised (``missing``, ``past``, ``too_late``), or None when it can."""
    if day is None:
        return "missing"
    if day < window.earliest:
        return "past"
    if day > window.latest:
        return "too_late"
    return None


def hold_until(promised: date, *, grace_days: int) -> date:
    """The exclusive end of the pause: the day after ``promised`` plus the grace days."""
    return promised + timedelta(days=grace_days) + ONE_DAY


def settle(*, paid: bool, ends: date, day: date) -> PromiseStatus:
    """What an open promise is on the night of ``day``: kept once the case is paid, else broken from ``ends`` on."""
    if paid:
        return PromiseStatus.KEPT
    return PromiseStatus.BROKEN if day >= ends else PromiseStatus.OPEN


def reminder_due(promised: date, made_on: date, day: date) -> bool:
    """A reminder is planned from the day before ``promised`` until that day, for a promise made earlier."""
    before = promised - ONE_DAY
    return made_on < before and before <= day <= promised


def reminder_channel(*, has_email: bool, has_phone: bool) -> str | None:
    """The debtor's preferred channel for a reminder: email if known, else SMS, else none."""
    if has_email:
        return "email"
    if has_phone:
        return "sms"
    return None


#: the settings key of a reminder action that names the promised day (``send_pay_link`` planned by the night)
PROMISED = "promised"


def is_promise_reminder(settings: Mapping[str, Any]) -> bool:
    """A promise's reminder goes out while its case is held (the promise is what holds it)."""
    return PROMISED in settings


def promised_day(settings: Mapping[str, Any]) -> date | None:
    """The day a reminder action's promise names, or None for any other action."""
    value = settings.get(PROMISED)
    return date.fromisoformat(str(value)) if value else None
