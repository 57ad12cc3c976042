"""EU business-to-business rules (Late Payment Directive 2011/7/EU), and the fallback packs.

* Interest at the reference rate (ECB MRO on 1 January / 1 July) **+ 8 points** from the day after
  the due date, without a reminder (art. 3).
* **€40 fixed compensation per invoice** paid late (art. 6; CJEU C-585/20 and C-78/22: per invoice,
  for each late payment), without a reminder.

Countries of the European Economic Area without a pack of their own use :class:`EUBusiness` for companies
(the directive is EEA law); companies elsewhere (Switzerland, the United Kingdom...) get the conservative
:class:`DefaultBusiness`, and consumers without a pack :class:`DefaultConsumer`: no fees, no interest (a
creditor who needs more for such a country adds a pack). A Swiss company owes no directive's €40.
"""

from __future__ import annotations

from decimal import Decimal

from dunning.domain.legal.base import DebtorType, FeeContext, Figure, InterestTerms, LegalPack, PlanLaw, remaining
from dunning.domain.legal.rates import EU_STATUTORY_B2B

__all__ = ["EEA_COUNTRIES", "FLAT_COMPENSATION", "DefaultBusiness", "DefaultConsumer", "EUBusiness"]

#: the member states of the European Union, Iceland, Liechtenstein and Norway (the directive is EEA-relevant)
EEA_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO",
})

FLAT_COMPENSATION = Decimal(40)
_DIRECTIVE = "Directive 2011/7/EU art. 2(6), 3, 6; CJEU C-585/20 (20-10-2022), C-78/22 (04-05-2023)"


class EUBusiness(LegalPack):
    code = "EU-business"
    debtor_type = DebtorType.BUSINESS
    title = "EU business-to-business (Late Payment Directive 2011/7/EU)"
    sources = (_DIRECTIVE,)
    # a flow stating more than the €40 per invoice needs evidence of higher recovery costs
    max_static_fee = Decimal(40)
    max_static_fee_is_hard = False

    def fee_allowance(self, ctx: FeeContext) -> Figure:
        cap = FLAT_COMPENSATION * max(ctx.invoice_count, 1)
        return Figure(
            "flat_compensation",
            remaining(cap, ctx.fees_charged),
            f"€40 fixed compensation per late invoice × {max(ctx.invoice_count, 1)} (Directive 2011/7/EU art. 6)",
            _DIRECTIVE,
        )

    def interest_terms(self) -> InterestTerms:
        return InterestTerms(
            self.rate_table(EU_STATUTORY_B2B),
            Decimal(0),
            "ECB reference rate + 8 points (Directive 2011/7/EU)",
            _DIRECTIVE,
        )


class DefaultConsumer(LegalPack):
    code = "default-consumer"
    debtor_type = DebtorType.CONSUMER
    title = "Consumers in countries without a pack: no fees, no interest (conservative)"
    sources = ("no jurisdiction pack: conservative default",)
    first_reminder_free = True
    notice_before_fees = True
    notice_before_interest = True
    fees_allowed = False
    max_static_fee = Decimal(0)

    def plan_law(self) -> PlanLaw:
        # conservative: no new costs while a plan is kept (no pack says they may be charged)
        return PlanLaw(costs_stop=True, sources=("no jurisdiction pack: conservative default",))

    def fee_allowance(self, ctx: FeeContext) -> Figure:
        return Figure("no_fee", Decimal("0.00"), "no costs for consumers without a jurisdiction pack", "")


class DefaultBusiness(LegalPack):
    """Companies outside the EEA in countries without a pack: nothing is charged that no pack can found."""

    code = "default-business"
    debtor_type = DebtorType.BUSINESS
    title = "Businesses outside the EEA in countries without a pack: no fees, no interest (conservative)"
    sources = ("no jurisdiction pack outside the EEA: conservative default",)
    max_static_fee = Decimal(0)
    max_static_fee_is_hard = False  # a fee agreed in the contract is the creditor's to prove
    warn_no_interest = False

    def fee_allowance(self, ctx: FeeContext) -> Figure:
        return Figure("no_fee", Decimal("0.00"), "no statutory costs for businesses without a jurisdiction pack", "")
