"""Legal rule packs, chosen per debtor from country and debtor type.

::

    >>> select_pack("BE", "consumer").code, select_pack("de", "business").code
    ('BE-consumer', 'DE-business')
    >>> select_pack("FR", "business").code, select_pack("FR", "consumer").code
    ('EU-business', 'default-consumer')
    >>> select_pack("CH", "business").code, select_pack("CH", "consumer").code
    ('default-business', 'default-consumer')

Packs (see each module for the rules, figures and sources):

========================  ==========================================================================
``BE-consumer``           Book XIX CEL: free first reminder, 14-day period, damages caps, 2002 rate cap
``BE-business``           Law of 2 August 2002: Belgian semester rate, €40 per invoice
``NL-consumer``           WIK scale, the 14-day letter with the exact amount, art. 6:119 interest
``NL-business``           WIK scale by default, art. 6:119a commercial interest
``DE-consumer``           first reminder free, €2.50 per later reminder, base rate + 5 (§288(1))
``DE-business``           €40 flat (§288(5)), base rate + 9 (§288(2)), default after 30 days
``EU-business``           Directive 2011/7/EU: €40 per invoice, ECB reference rate + 8 (other EEA countries)
``default-business``      conservative, companies outside the EEA (CH, GB...): no costs, no interest
``default-consumer``      conservative: first reminder free, no costs, no interest
========================  ==========================================================================

The packs read the built-in rate tables; :func:`pack_selector` (and :func:`packs_with_rates`) give
the same packs reading other tables by key, e.g. with a workspace's ``rates.yaml`` merged in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from dunning.domain.legal.base import DebtorType, FeeContext, Figure, InterestTerms, LegalPack, PlanLaw
from dunning.domain.legal.belgium import BelgiumBusiness, BelgiumConsumer
from dunning.domain.legal.eu import EEA_COUNTRIES, DefaultBusiness, DefaultConsumer, EUBusiness
from dunning.domain.legal.germany import GermanyBusiness, GermanyConsumer
from dunning.domain.legal.netherlands import NetherlandsBusiness, NetherlandsConsumer
from dunning.domain.legal.rates import RateTable

__all__ = [
    "ALL_PACKS",
    "DebtorType",
    "FeeContext",
    "Figure",
    "InterestTerms",
    "LegalPack",
    "PlanLaw",
    "pack_selector",
    "packs_with_rates",
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
    DefaultBusiness(),
    DefaultConsumer(),
)


def _by_key(packs: tuple[LegalPack, ...]) -> dict[tuple[str | None, DebtorType], LegalPack]:
    """The packs by (country, type); a country's own first, else the EEA's (EU-business) or the default."""
    by_key: dict[tuple[str | None, DebtorType], LegalPack] = {}
    for pack in packs:
        key = (pack.country, pack.debtor_type)
        if pack.code == "EU-business":
            key = ("EEA", pack.debtor_type)
        by_key[key] = pack
    return by_key


def _pick(by_key: Mapping[tuple[str | None, DebtorType], LegalPack], country: str, kind: DebtorType) -> LegalPack:
    code = country.upper()
    pack = by_key.get((code, kind))
    if pack is None and code in EEA_COUNTRIES:
        pack = by_key.get(("EEA", kind))
    return pack or by_key[(None, kind)]


_BY_KEY = _by_key(ALL_PACKS)


@lru_cache(maxsize=1024)
def select_pack(country: str, debtor_type: DebtorType | str) -> LegalPack:
    """The pack for a debtor in ``country`` (ISO alpha-2, any case) of ``debtor_type``."""
    return _pick(_BY_KEY, country, DebtorType(debtor_type))


def packs_with_rates(rates: Mapping[str, RateTable] | None) -> tuple[LegalPack, ...]:
    """Every pack, reading its rate tables from ``rates`` by key (None: the built-in tables)."""
    return ALL_PACKS if rates is None else tuple(p.with_rates(rates) for p in ALL_PACKS)


def pack_selector(rates: Mapping[str, RateTable] | None = None) -> Callable[[str, DebtorType | str], LegalPack]:
    """:func:`select_pack` over the packs reading ``rates`` (None: ``select_pack`` itself)."""
    if rates is None:
        return select_pack
    by_key = _by_key(packs_with_rates(rates))

    @lru_cache(maxsize=1024)
    def select(country: str, debtor_type: DebtorType | str) -> LegalPack:
        return _pick(by_key, country, DebtorType(debtor_type))

    return select
