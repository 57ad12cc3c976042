"""Legal rule packs, chosen per debtor from country and debtor type.

::

    >>> select_pack("BE", "consumer").code, select_pack("de", "business").code
    ('BE-consumer', 'DE-business')
    >>> select_pack("FR", "business").code, select_pack("FR", "consumer").code
    ('EU-business', 'default-consumer')

Packs (see each module for the rules, figures and sources):

========================  ==========================================================================
``BE-consumer``           Book XIX CEL: free first reminder, 14-day period, damages caps, 2002 rate cap
``BE-business``           Law of 2 August 2002: Belgian semester rate, €40 per invoice
``NL-consumer``           WIK scale, the 14-day letter with the exact amount, art. 6:119 interest
``NL-business``           WIK scale by default, art. 6:119a commercial interest
``DE-consumer``           first reminder free, €2.50 per later reminder, base rate + 5 (§288(1))
``DE-business``           €40 flat (§288(5)), base rate + 9 (§288(2)), default after 30 days
``EU-business``           Directive 2011/7/EU: €40 per invoice, ECB reference rate + 8 (other countries)
``default-consumer``      conservative: first reminder free, no costs, no interest
========================  ==========================================================================
"""

from __future__ import annotations

from functools import lru_cache

from dunning.domain.legal.base import DebtorType, FeeContext, Figure, InterestTerms, LegalPack
from dunning.domain.legal.belgium import BelgiumBusiness, BelgiumConsumer
from dunning.domain.legal.eu import DefaultConsumer, EUBusiness
from dunning.domain.legal.germany import GermanyBusiness, GermanyConsumer
from dunning.domain.legal.netherlands import NetherlandsBusiness, NetherlandsConsumer

__all__ = [
    "ALL_PACKS",
    "DebtorType",
    "FeeContext",
    "Figure",
    "InterestTerms",
    "LegalPack",
    "select_pack",
]

ALL_PACKS: tuple[LegalPack, ...] = (
    BelgiumConsumer(),
    BelgiumBusiness(),
    NetherlandsConsumer(),
    NetherlandsBusiness(),
    GermanyConsumer(),
    GermanyBusiness(),
    EUBusiness(),
    DefaultConsumer(),
)
_BY_KEY: dict[tuple[str | None, DebtorType], LegalPack] = {(p.country, p.debtor_type): p for p in ALL_PACKS}


@lru_cache(maxsize=1024)
def select_pack(country: str, debtor_type: DebtorType | str) -> LegalPack:
    """The pack for a debtor in ``country`` (ISO alpha-2, any case) of ``debtor_type``."""
    kind = DebtorType(debtor_type)
    pack = _BY_KEY.get((country.upper(), kind))
    if pack is not None:
        return pack
    return _BY_KEY[(None, kind)]
