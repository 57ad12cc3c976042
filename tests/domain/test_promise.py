"""The pure rules of a promise to pay (dunning.domain.promise): window, pause, kept or broken, reminder."""

from __future__ import annotations

from datetime import date

from dunning.domain.legal import select_pack
from dunning.domain.promise import (
    PromiseStatus,
    check_day,
    hold_until,
    is_promise_reminder,
    promise_window,
    promised_day,
    reminder_channel,
    reminder_due,
    settle,
)

TODAY = date(2026, 11, 30)


def test_the_window_runs_from_tomorrow_to_max_days_and_a_rule_pack_may_shorten_it() -> None:
    belgian = promise_window(TODAY, max_days=120, law=select_pack("BE", "consumer").plan_law())
    assert (belgian.earliest, belgian.latest) == (date(2026, 12, 1), date(2027, 3, 30))
    assert belgian.bound_by == "paypage.promise.max_days (120)"
    # Germany: a deferral of at most 3 months stays outside the consumer-credit rules (§ 491(2) no. 3 BGB)
    german = promise_window(TODAY, max_days=120, law=select_pack("DE", "consumer").plan_law())
    assert german.latest == date(2027, 2, 28) and german.bound_by == "rule pack: a deferral of at most 3 months"
    assert promise_window(TODAY, max_days=14, law=select_pack("DE", "consumer").plan_law()).latest == date(2026, 12, 14)
    window = promise_window(TODAY, max_days=14)
    assert [check_day(d, window) for d in (None, TODAY, date(2026, 12, 1), date(2026, 12, 14), date(2026, 12, 15))] == [
        "missing", "past", None, None, "too_late"
    ]


def test_the_pause_ends_after_the_grace_days_and_a_paid_case_keeps_the_promise() -> None:
    ends = hold_until(date(2026, 12, 10), grace_days=3)
    assert ends == date(2026, 12, 14)
    assert settle(paid=False, ends=ends, day=date(2026, 12, 13)) is PromiseStatus.OPEN
    assert settle(paid=False, ends=ends, day=ends) is PromiseStatus.BROKEN
    assert settle(paid=True, ends=ends, day=date(2026, 12, 20)) is PromiseStatus.KEPT


def test_the_reminder_goes_the_day_before_on_the_preferred_channel() -> None:
    promised, made = date(2026, 12, 10), date(2026, 12, 1)
    assert [reminder_due(promised, made, date(2026, 12, d)) for d in (8, 9, 10, 11)] == [False, True, True, False]
    assert not reminder_due(promised, date(2026, 12, 9), date(2026, 12, 9))  # chosen for tomorrow a moment ago
    assert reminder_channel(has_email=True, has_phone=True) == "email"
    assert reminder_channel(has_email=False, has_phone=True) == "sms"
    assert reminder_channel(has_email=False, has_phone=False) is None
    settings = {"channel": "sms", "template": "promise_reminder", "promised": "2026-12-10"}
    assert is_promise_reminder(settings) and promised_day(settings) == promised
    assert not is_promise_reminder({"channel": "email"}) and promised_day({}) is None
