"""Dated interest-rate tables, as data with their sources.

A :class:`RateTable` is a list of periods, each with the first day it applies, an annual rate in
percent and where the figure comes from. ``rate_on(day)`` reads the table; ``segments(start, end)``
cuts a date range at every rate change so interest can be accrued per period
(see :mod:`dunning.domain.planning.interest`)::

    >>> from datetime import date
    >>> BUNDESBANK_BASE_RATE.rate_on(date(2023, 3, 1))
    Decimal('1.62')
    >>> [(s.start.isoformat(), s.end.isoformat(), str(s.rate))
    ...  for s in BUNDESBANK_BASE_RATE.segments(date(2023, 6, 20), date(2023, 7, 10))]
    [('2023-06-20', '2023-06-30', '1.62'), ('2023-07-01', '2023-07-10', '3.12')]

Tables:

* ``ECB_MRO`` — ECB main refinancing operations rate, by decision effective date.
* ``ECB_REFERENCE_RATE`` — the Late Payment Directive's *reference rate*: the MRO rate in force on
  1 January (first half-year) or 1 July (second half-year), derived from ``ECB_MRO``.
* ``EU_STATUTORY_B2B`` — reference rate + 8 points (Directive 2011/7/EU art. 2(6)).
* ``BELGIUM_LAW_2002`` — Law of 2 August 2002: reference rate + 8 points rounded *up* to the next half
  point, published per semester; it is also the Book XIX cap for consumer interest.
* ``BUNDESBANK_BASE_RATE`` — Basiszinssatz (§247 BGB), changes on 1 January and 1 July.
* ``NETHERLANDS_COMMERCIAL`` — wettelijke handelsrente (art. 6:119a BW): reference rate + 8 points.
* ``NETHERLANDS_STATUTORY`` — wettelijke rente for non-commercial debts (art. 6:119 BW).

Every table states ``verified_through``: the last day its figures were checked against a source.
``is_verified(day)`` is False after that day; the planner reports it so someone adds the new
semester's rates. Rates published later go in the workspace's ``rates.yaml`` (no code change; see
:mod:`dunning.usecases.planning.rates`), which adds periods to the base tables (``BASE_KEYS``); the tables
derived from ``ECB_MRO`` follow it (:func:`rate_tables`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from types import MappingProxyType

__all__ = [
    "BASE_KEYS",
    "BELGIUM_LAW_2002",
    "BUILTIN_TABLES",
    "BUNDESBANK_BASE_RATE",
    "DERIVED_KEYS",
    "ECB_MRO",
    "ECB_REFERENCE_RATE",
    "EU_STATUTORY_B2B",
    "NETHERLANDS_COMMERCIAL",
    "NETHERLANDS_STATUTORY",
    "RatePeriod",
    "RateSegment",
    "RateTable",
    "derive_from_mro",
    "rate_tables",
]


@dataclass(frozen=True, slots=True)
class RatePeriod:
    """From ``start`` (inclusive) until the next period, the annual rate is ``rate`` percent."""

    start: date
    rate: Decimal
    source: str


@dataclass(frozen=True, slots=True)
class RateSegment:
    """A stretch of days (both ends inclusive) during which one rate applies."""

    start: date
    end: date
    rate: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class RateTable:
    """An effective-dated table of annual rates in percent."""

    key: str
    name: str
    periods: tuple[RatePeriod, ...]
    verified_through: date

    def __post_init__(self) -> None:
        starts = [p.start for p in self.periods]
        if not starts or starts != sorted(set(starts)):
            raise ValueError(f"{self.key}: periods must be non-empty, sorted and unique")

    def rate_on(self, day: date) -> Decimal:
        """The rate in force on ``day``; a day before the first period is an error."""
        index = bisect_right([p.start for p in self.periods], day) - 1
        if index < 0:
            raise ValueError(f"{self.key}: no rate before {self.periods[0].start.isoformat()}")
        return self.periods[index].rate

    def is_verified(self, day: date) -> bool:
        """False when ``day`` is after the last day the table was checked against its sources."""
        return day <= self.verified_through

    def segments(self, start: date, end: date) -> list[RateSegment]:
        """Cut ``start``..``end`` (inclusive) at every rate change; empty when ``end < start``."""
        if end < start:
            return []
        starts = [p.start for p in self.periods]
        index = bisect_right(starts, start) - 1
        if index < 0:
            raise ValueError(f"{self.key}: no rate before {self.periods[0].start.isoformat()}")
        result: list[RateSegment] = []
        cursor = start
        while cursor <= end:
            next_start = starts[index + 1] if index + 1 < len(starts) else None
            seg_end = end if next_start is None or next_start > end else next_start - timedelta(days=1)
            result.append(RateSegment(cursor, seg_end, self.periods[index].rate))
            cursor = seg_end + timedelta(days=1)
            index += 1
        return result


def _d(text: str) -> Decimal:
    return Decimal(text)


_ECB = "ECB, Key ECB interest rates (ecb.europa.eu), main refinancing operations, fixed rate"
ECB_MRO = RateTable(
    key="ecb_mro",
    name="ECB main refinancing operations rate",
    periods=(
        RatePeriod(date(2014, 9, 10), _d("0.05"), _ECB),
        RatePeriod(date(2016, 3, 16), _d("0.00"), _ECB),
        RatePeriod(date(2022, 7, 27), _d("0.50"), _ECB),
        RatePeriod(date(2022, 9, 14), _d("1.25"), _ECB),
        RatePeriod(date(2022, 11, 2), _d("2.00"), _ECB),
        RatePeriod(date(2022, 12, 21), _d("2.50"), _ECB),
        RatePeriod(date(2023, 2, 8), _d("3.00"), _ECB),
        RatePeriod(date(2023, 3, 22), _d("3.50"), _ECB),
        RatePeriod(date(2023, 5, 10), _d("3.75"), _ECB),
        RatePeriod(date(2023, 6, 21), _d("4.00"), _ECB),
        RatePeriod(date(2023, 9, 20), _d("4.50"), _ECB),
        RatePeriod(date(2024, 6, 12), _d("4.25"), _ECB),
        RatePeriod(date(2024, 9, 18), _d("3.65"), _ECB),
        RatePeriod(date(2024, 10, 23), _d("3.40"), _ECB),
        RatePeriod(date(2024, 12, 18), _d("3.15"), _ECB),
        RatePeriod(date(2025, 2, 5), _d("2.90"), _ECB),
        RatePeriod(date(2025, 3, 12), _d("2.65"), _ECB),
        RatePeriod(date(2025, 4, 23), _d("2.40"), _ECB),
        RatePeriod(
            date(2025, 6, 11),
            _d("2.15"),
            _ECB + "; still 2.15 % on 2025-12-22 (research/peers-and-law.md §4.3, finanzmarktnachrichten.de)",
        ),
    ),
    verified_through=date(2026, 6, 30),
)


def _semester_starts(first_year: int, last_year: int) -> list[date]:
    return [date(y, m, 1) for y in range(first_year, last_year + 1) for m in (1, 7)]


@dataclass(frozen=True, slots=True)
class _Derivation:
    """A semester table: the MRO rate on 1 Jan / 1 Jul plus ``spread`` (rounded up to 0.5 if asked)."""

    key: str
    name: str
    spread: Decimal
    round_half_up_point: bool
    source: str

    def table(self, mro: RateTable) -> RateTable:
        # through the first semester starting on or after the day after the verified data, or after
        # the last known MRO change if later (a rate announced for a coming semester): its rate is known
        bound = max(mro.verified_through + timedelta(days=1), mro.periods[-1].start)
        starts = _semester_starts(2015, bound.year + 1)
        starts = starts[: next(i for i, s in enumerate(starts) if s >= bound) + 1]
        periods: list[RatePeriod] = []
        for start in starts:
            rate = mro.rate_on(start) + self.spread
            if self.round_half_up_point:
                rate = (rate * 2).to_integral_value(rounding=ROUND_CEILING) / 2
                rate = rate.quantize(Decimal("0.01"))
            if periods and periods[-1].rate == rate:
                continue  # keep the table minimal: a period only where the rate changes
            periods.append(RatePeriod(start, rate, self.source))
        return RateTable(self.key, self.name, tuple(periods), mro.verified_through)


_DERIVATIONS = (
    _Derivation(
        "ecb_reference",
        "Late Payment Directive reference rate (ECB MRO on 1 January / 1 July)",
        Decimal(0),
        False,
        "Directive 2011/7/EU art. 2(7): the MRO rate in force on the first calendar day of the half-year",
    ),
    _Derivation(
        "eu_statutory_b2b",
        "EU statutory late-payment interest (reference rate + 8 points)",
        Decimal(8),
        False,
        "Directive 2011/7/EU art. 2(6) and art. 3: reference rate plus at least eight percentage points",
    ),
    _Derivation(
        "be_law_2002",
        "Belgian late-payment rate, Law of 2 August 2002 (reference rate + 8, rounded up to half a point)",
        Decimal(8),
        True,
        "Law of 2 Aug 2002 art. 5; published per semester by FPS Finance: 8 % 2016-2022, 10.5 % H1 2023, "
        "12 % H2 2023, 10.5 % H1 2026 (embuild.be; research/peers-and-law.md §4.1)",
    ),
    _Derivation(
        "nl_commercial",
        "Dutch statutory commercial interest (wettelijke handelsrente, art. 6:119a BW)",
        Decimal(8),
        False,
        "art. 6:119a and 6:120 lid 2 BW: reference rate + 8 points, set on 1 Jan / 1 Jul; 12 % from "
        "2023-07-01 (watsonlaw.nl), 12.25 % from 2024-07-01 (metaalunie.nl)",
    ),
)


def derive_from_mro(mro: RateTable) -> dict[str, RateTable]:
    """The tables that follow the ECB MRO rate, by key, computed from ``mro`` (verified as far as it is)."""
    return {d.key: d.table(mro) for d in _DERIVATIONS}


_FROM_ECB = derive_from_mro(ECB_MRO)
ECB_REFERENCE_RATE = _FROM_ECB["ecb_reference"]
EU_STATUTORY_B2B = _FROM_ECB["eu_statutory_b2b"]
BELGIUM_LAW_2002 = _FROM_ECB["be_law_2002"]
NETHERLANDS_COMMERCIAL = _FROM_ECB["nl_commercial"]

_BBK = "Deutsche Bundesbank, Basiszinssatz nach §247 BGB"
BUNDESBANK_BASE_RATE = RateTable(
    key="de_base_rate",
    name="Bundesbank base rate (Basiszinssatz, §247 BGB)",
    periods=(
        RatePeriod(date(2015, 1, 1), _d("-0.83"), _BBK),
        RatePeriod(date(2016, 7, 1), _d("-0.88"), _BBK),
        RatePeriod(date(2023, 1, 1), _d("1.62"), _BBK + " (boerse-online.de)"),
        RatePeriod(date(2023, 7, 1), _d("3.12"), _BBK),
        RatePeriod(date(2024, 1, 1), _d("3.62"), _BBK),
        RatePeriod(date(2024, 7, 1), _d("3.37"), _BBK),
        RatePeriod(date(2025, 1, 1), _d("2.27"), _BBK),
        RatePeriod(
            date(2025, 7, 1),
            _d("1.27"),
            _BBK + "; unchanged on 2026-01-01 (finanzmarktnachrichten.de, research §4.3)",
        ),
    ),
    verified_through=date(2026, 6, 30),
)

_NL = "Besluit wettelijke rente (art. 6:119 BW), rijksoverheid.nl"
NETHERLANDS_STATUTORY = RateTable(
    key="nl_statutory",
    name="Dutch statutory interest for non-commercial debts (wettelijke rente, art. 6:119 BW)",
    periods=(
        RatePeriod(date(2015, 7, 1), _d("2.00"), _NL),
        RatePeriod(date(2023, 1, 1), _d("4.00"), _NL),
        RatePeriod(date(2023, 7, 1), _d("6.00"), _NL + " (watsonlaw.nl)"),
        # The research note cites 7 % "from 1 July 2024" (metaalunie.nl); the decree set 7 % from
        # 1 January 2024. Later values were not verified: verified_through stops at the end of 2024.
        RatePeriod(date(2024, 1, 1), _d("7.00"), _NL + " (metaalunie.nl)"),
    ),
    verified_through=date(2024, 12, 31),
)


#: tables read from sources; every other table is derived from ``ecb_mro``
BASE_KEYS = ("ecb_mro", "de_base_rate", "nl_statutory")
DERIVED_KEYS = tuple(d.key for d in _DERIVATIONS)


def rate_tables(base: Mapping[str, RateTable]) -> dict[str, RateTable]:
    """Every table by key: the base tables (``BASE_KEYS``) as given, and those derived from ``ecb_mro``."""
    missing = [key for key in BASE_KEYS if key not in base]
    if missing:
        raise ValueError(f"rate tables missing: {', '.join(missing)}")
    # ECB first, then the tables that follow it, then the others
    return {"ecb_mro": base["ecb_mro"], **derive_from_mro(base["ecb_mro"])} | {key: base[key] for key in BASE_KEYS}


#: the tables shipped in this file, by key (a workspace's ``rates.yaml`` adds periods to the base ones)
BUILTIN_TABLES: Mapping[str, RateTable] = MappingProxyType(
    rate_tables({t.key: t for t in (ECB_MRO, BUNDESBANK_BASE_RATE, NETHERLANDS_STATUTORY)})
)
