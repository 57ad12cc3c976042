"""New semesters' rates added to the built-in tables, as data (no code change), and their status.

A :class:`TableUpdate` adds periods to one *base* table (``ecb_mro``, ``de_base_rate``,
``nl_statutory``) and may move its ``verified_through`` on; :func:`apply_updates` merges them and
derives the ECB-based tables (reference rate, EU statutory, Belgian 2002 rate, Dutch commercial rate)
again from the merged ``ecb_mro``, exactly as the built-in ones are derived::

    >>> from datetime import date
    >>> from decimal import Decimal
    >>> tables = apply_updates([TableUpdate("ecb_mro", (
    ...     PeriodUpdate(date(2026, 9, 16), Decimal("2.40"), "ECB press release (example)"),),
    ...     verified_through=date(2026, 12, 31))])
    >>> str(tables["be_law_2002"].rate_on(date(2027, 1, 1))), tables["be_law_2002"].verified_through
    ('10.50', datetime.date(2026, 12, 31))
    >>> str(tables["eu_statutory_b2b"].rate_on(date(2027, 1, 1)))
    '10.40'

The rules, each a :class:`RateUpdateError` naming the table and the period:

* only base tables take periods; a derived table follows ``ecb_mro`` and cannot be edited;
* the periods of one update are in order of ``start`` (strictly increasing);
* a period starting on or before the table's built-in ``verified_through`` must agree with the
  verified figure in force that day; one that contradicts it needs ``override`` (a correction);
* ``verified_through`` never moves back (a table cannot become less verified than shipped), and is
  required with periods after the verified data (the last day the new figures were checked).

Periods after the verified data are added (one with the start of a built-in period replaces it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dunning.domain.legal.rates import BASE_KEYS, BUILTIN_TABLES, DERIVED_KEYS, RatePeriod, RateTable, rate_tables
from dunning.errors import InvalidValue

__all__ = ["PeriodUpdate", "RateStatus", "RateUpdateError", "TableUpdate", "apply_updates", "rate_status"]


@dataclass(frozen=True, slots=True)
class PeriodUpdate:
    """A period to add: from ``start`` the rate is ``rate`` percent, per ``source``.

    ``where`` says where it was read (e.g. "period 2, line 7") for error messages; ``override``
    allows replacing a verified built-in figure.
    """

    start: date
    rate: Decimal
    source: str
    override: bool = False
    where: str = ""


@dataclass(frozen=True, slots=True)
class TableUpdate:
    """Periods added to the base table ``key``; ``verified_through`` None keeps the table's own."""

    key: str
    periods: tuple[PeriodUpdate, ...] = ()
    verified_through: date | None = None


class RateUpdateError(InvalidValue):
    """An update that cannot be applied; ``key`` and ``where`` name the table and the period."""

    def __init__(self, key: str, where: str, message: str) -> None:
        self.key, self.where, self.message = key, where, message
        super().__init__(f"{key}: {where + ': ' if where else ''}{message}")


def _merge(table: RateTable, update: TableUpdate) -> RateTable:
    periods = {p.start: p for p in table.periods}
    previous: PeriodUpdate | None = None
    for added in update.periods:
        where = added.where or f"period from {added.start.isoformat()}"
        if previous is not None and added.start <= previous.start:
            raise RateUpdateError(
                table.key,
                where,
                f"starts {added.start.isoformat()}, not after the period before it "
                f"({previous.start.isoformat()}): list the periods in order of start",
            )
        previous = added
        if added.start <= table.verified_through and not added.override:
            verified = table.rate_on(added.start) if added.start >= table.periods[0].start else None
            if verified != added.rate:
                shown = "no rate" if verified is None else f"{verified} %"
                raise RateUpdateError(
                    table.key,
                    where,
                    f"{added.rate} % from {added.start.isoformat()} contradicts the verified figure "
                    f"({shown} on that day, verified through {table.verified_through.isoformat()}); "
                    "add 'override: true' if the built-in figure is wrong",
                )
            if added.start not in periods:
                continue  # the same rate as the one in force: nothing changes
        periods[added.start] = RatePeriod(added.start, added.rate, added.source)
    if update.verified_through is None and any(p.start > table.verified_through for p in update.periods):
        raise RateUpdateError(
            table.key, "verified_through", "is missing: give the last day the new figures were checked"
        )
    verified_through = update.verified_through or table.verified_through
    if verified_through < table.verified_through:
        raise RateUpdateError(
            table.key,
            "verified_through",
            f"{verified_through.isoformat()} is before the built-in {table.verified_through.isoformat()}",
        )
    return RateTable(table.key, table.name, tuple(periods[s] for s in sorted(periods)), verified_through)


def apply_updates(
    updates: Iterable[TableUpdate], base: Mapping[str, RateTable] = BUILTIN_TABLES
) -> dict[str, RateTable]:
    """Every table by key: ``base`` with the updates merged in and the ECB-based tables derived again."""
    tables = {key: base[key] for key in BASE_KEYS}
    seen: set[str] = set()
    for update in updates:
        if update.key in DERIVED_KEYS:
            raise RateUpdateError(
                update.key, "", "is derived from ecb_mro and follows it: add the ECB rate to ecb_mro instead"
            )
        if update.key not in tables:
            raise RateUpdateError(update.key, "", f"unknown rate table (tables: {', '.join(BASE_KEYS)})")
        if update.key in seen:
            raise RateUpdateError(update.key, "", "given twice")
        seen.add(update.key)
        tables[update.key] = _merge(tables[update.key], update)
    return rate_tables(tables)


@dataclass(frozen=True, slots=True)
class RateStatus:
    """One table on one day: the rate in force, the last period, and whether it is still verified."""

    key: str
    name: str
    rate: Decimal | None  # None: the day is before the first period
    since: date | None
    source: str
    last_start: date
    last_rate: Decimal
    verified_through: date
    verified: bool
    added: int  # periods not in the built-in table (from rates.yaml, or derived from them)
    derived_from: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "table": self.key,
            "name": self.name,
            "rate": None if self.rate is None else str(self.rate),
            "since": None if self.since is None else self.since.isoformat(),
            "source": self.source,
            "last_period": self.last_start.isoformat(),
            "last_rate": str(self.last_rate),
            "verified_through": self.verified_through.isoformat(),
            "verified": self.verified,
            "added_periods": self.added,
            "derived_from": self.derived_from,
        }


def rate_status(
    tables: Mapping[str, RateTable], day: date, builtin: Mapping[str, RateTable] = BUILTIN_TABLES
) -> list[RateStatus]:
    """The status of every table on ``day``, in the order of ``tables``."""
    result: list[RateStatus] = []
    for key, table in tables.items():
        in_force = [p for p in table.periods if p.start <= day]
        current = in_force[-1] if in_force else None
        known = set(builtin[key].periods) if key in builtin else set()
        result.append(
            RateStatus(
                key=key,
                name=table.name,
                rate=None if current is None else current.rate,
                since=None if current is None else current.start,
                source="" if current is None else current.source,
                last_start=table.periods[-1].start,
                last_rate=table.periods[-1].rate,
                verified_through=table.verified_through,
                verified=table.is_verified(day),
                added=sum(1 for p in table.periods if p not in known),
                derived_from="ecb_mro" if key in DERIVED_KEYS else None,
            )
        )
    return result
