"""When an SMS may be sent: windows per country in the recipient's local time.

A dunning SMS that lands at 23:40 on a Sunday reads as harassment, whatever the law says. The
rules below are house rules, conservative on purpose: France's SMS code of conduct (AF2M /
"Code de déontologie SMS+": no commercial SMS before 08:00, after 20:00, on Sundays or public
holidays) is the strictest one we know of in our markets and is applied everywhere, with the
Dutch evening extended to 21:00 as Dutch collection practice allows. Override them per
creditor in the configuration; public holidays are passed in (they differ per region and
year, and no holiday library is a dependency).

The send time is a parameter; nothing here reads the clock.

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> sunday_night = datetime(2026, 11, 22, 23, 40, tzinfo=ZoneInfo("Europe/Brussels"))
    >>> next_allowed_send(sunday_night, "BE").isoformat()
    '2026-11-23T08:00:00+01:00'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dunning.errors import ConfigError

__all__ = ["DEFAULT_RULES", "QuietHours", "SendWindow", "is_allowed", "next_allowed_send", "rules_for"]

_MON_TO_SAT = frozenset(range(6))


@dataclass(frozen=True, slots=True)
class SendWindow:
    """Sending is allowed on ``weekdays`` (0 = Monday) from ``start`` (inclusive) to ``end`` (exclusive)."""

    weekdays: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ConfigError(f"send window {self.start}-{self.end}: the start must be before the end")
        if not self.weekdays <= frozenset(range(7)):
            raise ConfigError(f"send window weekdays {sorted(self.weekdays)}: use 0 (Monday) to 6 (Sunday)")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """The allowed send windows of one country, in its time zone, minus public holidays."""

    timezone: str
    windows: tuple[SendWindow, ...]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"quiet hours: unknown time zone {self.timezone!r}") from None
        if not self.windows:
            raise ConfigError(f"quiet hours for {self.timezone}: at least one send window is needed")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _rule(timezone: str, end: time = time(20, 0)) -> QuietHours:
    return QuietHours(timezone, (SendWindow(_MON_TO_SAT, time(8, 0), end),))


DEFAULT_RULES: Mapping[str, QuietHours] = {
    "BE": _rule("Europe/Brussels"),
    "NL": _rule("Europe/Amsterdam", time(21, 0)),
    "LU": _rule("Europe/Luxembourg"),
    "FR": _rule("Europe/Paris"),
    "DE": _rule("Europe/Berlin"),
    "AT": _rule("Europe/Vienna"),
    "CH": _rule("Europe/Zurich"),
    "GB": _rule("Europe/London"),
    "IE": _rule("Europe/Dublin"),
}


def rules_for(country: str, rules: Mapping[str, QuietHours] | None = None,
              default_timezone: str = "Europe/Brussels") -> QuietHours:
    """The rule of ``country`` (ISO 3166 alpha-2), or Monday–Saturday 08:00–20:00 in ``default_timezone``."""
    table = DEFAULT_RULES if rules is None else rules
    return table.get(country.upper()) or _rule(default_timezone)


def is_allowed(at: datetime, rule: QuietHours) -> bool:
    """True if ``at`` (timezone-aware) falls inside one of the rule's windows."""
    return next_allowed_in(at, rule) == at


def next_allowed_in(at: datetime, rule: QuietHours) -> datetime:
    """The first moment at or after ``at`` inside a window of ``rule``, in ``at``'s time zone."""
    if at.tzinfo is None:
        raise ConfigError("the send time must be timezone-aware")
    zone = rule.zone
    local = at.astimezone(zone)
    # A year of look-ahead covers any sane holiday list; more means the rule never opens.
    for offset in range(366):
        day = local.date() + timedelta(days=offset)
        if day in rule.holidays:
            continue
        for window in sorted(rule.windows, key=lambda w: w.start):
            if day.weekday() not in window.weekdays:
                continue
            start = datetime.combine(day, window.start, tzinfo=zone)
            end = datetime.combine(day, window.end, tzinfo=zone)
            if local < end:
                return max(local, start).astimezone(at.tzinfo)
    raise ConfigError(f"quiet hours for {rule.timezone} never allow sending (holidays cover a whole year?)")


def next_allowed_send(at: datetime, country: str, rules: Mapping[str, QuietHours] | None = None,
                      default_timezone: str = "Europe/Brussels") -> datetime:
    """``at`` itself if an SMS to ``country`` may go out then, else the start of the next window."""
    return next_allowed_in(at, rules_for(country, rules, default_timezone))
