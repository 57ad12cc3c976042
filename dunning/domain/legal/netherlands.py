"""Netherlands: the WIK scale (art. 6:96 BW and the Besluit vergoeding voor buitengerechtelijke
incassokosten, in force 1 July 2012), the 14-day letter and statutory interest.

WIK scale on the principal: 15 % of the first €2,500 (at least €40), 10 % of the next €2,500, 5 % of
the next €5,000, 1 % of the next €190,000, 0.5 % of the rest, at most €6,775::

    >>> from decimal import Decimal as D
    >>> [str(wik_amount(D(x))) for x in ("100", "1000", "2500", "5000", "10000", "200000", "1000000", "2000000")]
    ['40.00', '150.00', '375.00', '625.00', '875.00', '2775.00', '6775.00', '6775.00']

Consumers (art. 6:96 lid 6 BW): costs are due only after a written reminder (the *veertiendagenbrief*)
that states the **exact** cost amount and gives **14 days from the day after the debtor receives it**
(HR 25-11-2016, ECLI:NL:HR:2016:2704: the creditor proves the receipt date). A posted letter is
presumed delivered the 2nd day after posting, not counting Sundays, Mondays and public holidays; an
email the day it is sent. Safe wording: "binnen vijftien dagen nadat deze brief bij u is bezorgd".
Interest: statutory rate (art. 6:119 BW) from the day after the due date.

Businesses: WIK scale by default, statutory commercial interest (art. 6:119a BW) from the day after
the due date; no 14-day letter required.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from dunning.domain.legal.base import (
    ONE_DAY,
    DebtorType,
    FeeContext,
    Figure,
    InterestTerms,
    LegalPack,
    money,
    remaining,
)
from dunning.domain.legal.calendar import nl_presumed_delivery
from dunning.domain.legal.rates import NETHERLANDS_COMMERCIAL, NETHERLANDS_STATUTORY
from dunning.domain.planning.actions import PAPER_CHANNELS, Channel

__all__ = ["NetherlandsBusiness", "NetherlandsConsumer", "wik_amount"]

_WIK = "art. 6:96 BW; Besluit vergoeding voor buitengerechtelijke incassokosten (2012), art. 2"
_BANDS = (
    (Decimal(2500), Decimal("0.15")),
    (Decimal(2500), Decimal("0.10")),
    (Decimal(5000), Decimal("0.05")),
    (Decimal(190000), Decimal("0.01")),
)
_REST = Decimal("0.005")
WIK_MINIMUM = Decimal(40)
WIK_MAXIMUM = Decimal(6775)


def wik_amount(principal: Decimal) -> Decimal:
    """Extrajudicial collection costs under the WIK scale for ``principal`` (excluding VAT)."""
    left = max(principal, Decimal(0))
    total = Decimal(0)
    for width, rate in _BANDS:
        part = min(left, width)
        total += part * rate
        left -= part
    total += left * _REST
    return money(min(max(total, WIK_MINIMUM), WIK_MAXIMUM))


def _with_vat(amount: Decimal, vat_percent: Decimal) -> Decimal:
    return money(amount * (100 + vat_percent) / 100)


@lru_cache(maxsize=1)
def _paper_offsets() -> tuple[int, int]:
    start = date(2024, 1, 1)
    offsets = [
        (nl_presumed_delivery(start + timedelta(days=i)) + ONE_DAY - (start + timedelta(days=i))).days
        for i in range(4 * 366)
    ]
    return min(offsets), max(offsets)


class NetherlandsConsumer(LegalPack):
    code = "NL-consumer"
    country = "NL"
    debtor_type = DebtorType.CONSUMER
    title = "Netherlands, consumer debts (WIK, art. 6:96 lid 6 BW)"
    sources = (_WIK, "HR 25-11-2016, ECLI:NL:HR:2016:2704", "art. 6:119 BW")
    waiting_period_days = 14
    notice_before_fees = True
    max_static_fee = WIK_MAXIMUM
    notice_required_fields = (
        "principal_due",
        "collection_costs_amount",
        "payment_deadline_phrase",
        "creditor_name",
        "consequence_of_non_payment",
    )

    period_rule = "from the day after presumed receipt (art. 6:96 lid 6 BW; a letter: the 2nd day after posting)"

    def period_start(self, sent_on: date, channel: Channel) -> date:
        delivered = nl_presumed_delivery(sent_on) if channel in PAPER_CHANNELS else sent_on
        return delivered + ONE_DAY

    def period_offsets(self, channel: Channel) -> tuple[int, int]:
        return _paper_offsets() if channel in PAPER_CHANNELS else (1, 1)

    def fee_allowance(self, ctx: FeeContext) -> Figure:
        """The WIK scale on the principal, but never more than the 14-day letter announced.

        The *veertiendagenbrief* must state the exact costs the debtor will owe (art. 6:96 lid 6 BW): what
        it announced is the most that may be charged, even when the principal grew since (a later invoice
        fell due) or VAT is added on top of the scale.
        """
        cap = _with_vat(wik_amount(ctx.principal), ctx.vat_percent)
        vat = f" incl. {ctx.vat_percent} % VAT" if ctx.vat_percent else ""
        why = f"€{cap}{vat} = WIK scale on a principal of €{money(ctx.principal)}"
        if ctx.announced is not None and ctx.announced < cap:
            cap = money(max(ctx.announced, Decimal(0)))
            why = f"€{cap} as announced in the 14-day letter ({why}; art. 6:96 lid 6 BW: the announced amount)"
        return Figure("collection_costs", remaining(cap, ctx.fees_charged), why, _WIK)

    def interest_terms(self) -> InterestTerms:
        table = self.rate_table(NETHERLANDS_STATUTORY)
        return InterestTerms(table, Decimal(0), "wettelijke rente (art. 6:119 BW)", "art. 6:119 BW")

    def notice_figures(self, principal: Decimal, invoice_count: int) -> tuple[Figure, ...]:
        wik = wik_amount(principal)
        return (
            Figure("collection_costs_amount", wik, f"€{wik} = WIK scale on €{money(principal)} (excl. VAT)", _WIK),
            Figure(
                "payment_deadline_phrase",
                None,
                "binnen vijftien dagen nadat deze brief bij u is bezorgd",
                "art. 6:96 lid 6 BW; HR 25-11-2016",
            ),
        )


class NetherlandsBusiness(LegalPack):
    code = "NL-business"
    country = "NL"
    debtor_type = DebtorType.BUSINESS
    title = "Netherlands, business debts (WIK scale by default, art. 6:119a BW)"
    sources = (_WIK, "art. 6:119a BW")
    max_static_fee = WIK_MAXIMUM

    def fee_allowance(self, ctx: FeeContext) -> Figure:
        cap = _with_vat(wik_amount(ctx.principal), ctx.vat_percent)
        return Figure(
            "collection_costs",
            remaining(cap, ctx.fees_charged),
            f"€{cap} = WIK scale on a principal of €{money(ctx.principal)} (at least the €40 of art. 6:96 lid 4)",
            _WIK,
        )

    def interest_terms(self) -> InterestTerms:
        return InterestTerms(
            self.rate_table(NETHERLANDS_COMMERCIAL),
            Decimal(0),
            "wettelijke handelsrente (art. 6:119a BW)",
            "art. 6:119a BW",
        )
