"""Values checked at the door: currencies, plausible due dates, lengths that fit a postal address.

Each check works on a column's *distinct* values (see ``normalize._Column``), so a million rows
cost one check per distinct text.

**Currencies** are the ISO 4217 codes that are legal tender in some territory today, from CLDR
(babel's ``territory_currencies``): ``EUR``, ``CHF``, ``XOF``... but not ``XXX`` (no currency),
``XTS`` (testing), ``XAU`` (gold) or a retired ``BEF``, which no debtor can pay.

**Due dates** must fall in a window around the snapshot's date (``ledger.due_date_window``:
10 years back, 2 years ahead by default). A row outside it is *rejected*, not warned about: a
due date in 1900 would be dunned at once with a century of interest, one in 2099 would never be;
both are typing errors or placeholders, and a rejected row is never imported **and never closes
its invoice** (the import protects invoices named by rejected rows), so rejecting harms nothing
while importing would.

**Lengths** follow the address window (DIN 5008 form B: 85 mm wide, 6 address lines) and the
ISO 20022 postal-address types the bank side uses: a name of at most 70 characters (two lines;
also the SEPA/EPC name limit), a street of 70 (``StrtNm`` Max70Text, two lines), a postal code of
16 (``PstCd`` Max16Text) and a city of 35 (``TwnNm`` Max35Text): name, street, postal code + city
and country then take at most 6 lines. Other text fields are held to the store's column sizes. A
longer value rejects its row, naming the line: it is never clipped (a clipped name or street
delivers the letter to someone else, or nowhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from babel.core import get_global
from babel.numbers import get_territory_currencies

__all__ = ["MAX_LENGTHS", "DueDateWindow", "legal_tender_currencies", "too_long"]

#: the longest value of each text column (characters); longer rejects the row
MAX_LENGTHS: dict[str, int] = {
    "name": 70,  # two lines of the 85 mm address window; the EPC/SEPA name limit
    "street": 70,  # ISO 20022 StrtNm (Max70Text): two lines
    "postal_code": 16,  # ISO 20022 PstCd (Max16Text)
    "city": 35,  # ISO 20022 TwnNm (Max35Text)
    "debtor_id": 100,  # the store's columns
    "invoice_id": 100,
    "segment": 50,
    "description": 500,
}


@dataclass(frozen=True)
class DueDateWindow:
    """Plausible due dates around the snapshot's date: ``past_years`` back, ``future_years`` ahead."""

    past_years: int = 10
    future_years: int = 2

    def bounds(self, as_of: date) -> tuple[date, date]:
        """The first and last acceptable due date for a snapshot of ``as_of``.

        >>> DueDateWindow().bounds(date(2026, 11, 2))
        (datetime.date(2016, 11, 2), datetime.date(2028, 11, 2))
        """
        return _years_from(as_of, -self.past_years), _years_from(as_of, self.future_years)


def _years_from(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28) + timedelta(days=1)


@lru_cache(maxsize=1)
def legal_tender_currencies() -> frozenset[str]:
    """ISO 4217 codes that are legal tender in at least one territory today (CLDR, through babel)."""
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, tender=True))
    return frozenset(codes)


def too_long(canonical: str, value: str) -> str | None:
    """The reason ``value`` is too long for ``canonical`` (None: it fits); the value itself is not repeated."""
    limit = MAX_LENGTHS.get(canonical)
    if limit is None or len(value) <= limit:
        return None
    return f"{len(value)} characters, more than the {limit} a {canonical.replace('_', ' ')} may have (never clipped)"
