"""Germany (BGB): default interest, the €40 flat fee for businesses, and reminder costs.

* §288(1): default interest **5 points above the base rate** when a consumer is involved;
  §288(2): **9 points** otherwise (8 points before 29 July 2014 — outdated).
* §247: the base rate changes on 1 January and 1 July (``BUNDESBANK_BASE_RATE``); interest is split at
  each change.
* §286: default starts with a reminder after the due date, or automatically 30 days after the due
  date and receipt of the invoice (for consumers only if the invoice said so; we assume it did not).
  A reminder (Mahnung) takes effect when it is **received** (§ 130(1) BGB), so interest and the €40
  run from the day after the reminder is deemed received (:meth:`GermanyConsumer.received_on`): an
  email on the day it is sent; a letter on the **4th working day after posting** (Monday to Friday,
  national holidays excluded). Since the Postrechtsmodernisierungsgesetz (1 Jan 2025) Deutsche Post
  must deliver 95 % of letters by the 3rd and 99 % by the 4th working day after posting (ihk.de,
  "Postmodernisierungsgesetz"); statutory receipt presumptions use the same 4th day (§ 17
  Post-Schlichtungsverordnung: "mit dem vierten Tage nach der Aufgabe zur Post als zugegangen").
* §288(5): **€40 flat** when the debtor is not a consumer.
* The reminder that *triggers* default is not reimbursable; later reminders only at material and
  postage cost (BGH VIII ZR 95/18 recognised print, envelope and postage; courts allowed €1.20 to
  €2.50). Default here: **€2.50 per reminder after the first**, which the flow may lower.

Payment arrangements with consumers (:meth:`GermanyConsumer.plan_law`): a free plan is not consumer
credit (§ 506 BGB covers a *paid* deferral; one of at most 3 months with low costs is exempt,
§ 491(2) no. 3), but the creditor keeps the consumer-credit rules as the floor of its plans, as the
research advises (shared/research/debtor-side.md, section 2):

* § 498(1): the plan may be ended only when the debtor is behind with **at least two consecutive
  instalments** and with **10 %** of the nominal amount (**5 %** for a plan longer than three years),
  and after a **two weeks'** notice to pay, with the offer of a talk;
* § 497(3): a payment goes to the **costs, then the principal, then the interest**.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from dunning.domain.legal.base import (
    ONE_DAY,
    DebtorType,
    FeeContext,
    Figure,
    InterestTerms,
    LegalPack,
    PlanLaw,
    remaining,
)
from dunning.domain.legal.calendar import add_working_days
from dunning.domain.legal.rates import BUNDESBANK_BASE_RATE
from dunning.domain.planning.actions import PAPER_CHANNELS, Channel

__all__ = ["POSTAL_DAYS", "REMINDER_COST", "GermanyBusiness", "GermanyConsumer", "deemed_received"]

REMINDER_COST = Decimal("2.50")
_BGB = "§§ 130, 247, 286, 288 BGB"
_AUTOMATIC_DEFAULT = timedelta(days=30)
#: working days after posting on which a German letter is deemed received (PostModG: 99 % by then)
POSTAL_DAYS = 4


def deemed_received(sent_on: date, channel: Channel | None) -> date:
    """The day a reminder sent on ``sent_on`` is deemed received in Germany (no channel: as a letter).

    >>> deemed_received(date(2026, 10, 1), Channel.LETTER)   # Thursday; Saturday 3 Oct is a holiday
    datetime.date(2026, 10, 7)
    >>> deemed_received(date(2026, 10, 1), Channel.EMAIL)
    datetime.date(2026, 10, 1)
    """
    if channel is None or channel in PAPER_CHANNELS:
        return add_working_days("DE", sent_on, POSTAL_DAYS)
    return sent_on
_CONSUMER_PLAN_LAW = PlanLaw(
    min_missed_in_a_row=2,
    min_arrears_percent=Decimal(10),
    long_term_months=36,
    long_term_arrears_percent=Decimal(5),
    breach_notice_days=14,
    allocation=("costs", "principal", "interest"),
    paid_deferral_is_credit_after_months=3,
    sources=("§ 498(1) BGB (breach)", "§ 497(3) BGB (allocation)", "§§ 491(2) no. 3, 506 BGB (paid deferral)"),
)


class GermanyConsumer(LegalPack):
    code = "DE-consumer"
    country = "DE"
    debtor_type = DebtorType.CONSUMER
    title = "Germany, consumer debts (§§ 286, 288(1) BGB)"
    sources = (_BGB, "BGH VIII ZR 95/18; AG Brandenburg 31 C 190/06; OLG München 2011")
    first_reminder_free = True
    notice_before_fees = True
    notice_before_interest = True
    max_static_fee = REMINDER_COST
    max_static_fee_is_hard = False

    def fee_allowance(self, ctx: FeeContext) -> Figure:
        paid_reminders = max(ctx.notices_sent - 1, 0)
        cap = REMINDER_COST * paid_reminders
        return Figure(
            "reminder_costs",
            remaining(cap, ctx.fees_charged),
            f"€{REMINDER_COST} material and postage cost × {paid_reminders} reminder(s) after the "
            "first (the reminder that triggers default is free)",
            "BGH VIII ZR 95/18; §309 Nr. 5 BGB",
        )

    def interest_start(
        self, due_date: date, notice_on: date | None, notice_channel: Channel | None, creditor_is_sme: bool
    ) -> date | None:
        if notice_on is None:
            return None
        return max(due_date + ONE_DAY, deemed_received(notice_on, notice_channel) + ONE_DAY)

    def interest_charge_start(
        self, oldest_due: date, notice_on: date | None, notice_channel: Channel | None
    ) -> date | None:
        return None if notice_on is None else deemed_received(notice_on, notice_channel) + ONE_DAY

    def received_on(self, sent_on: date, channel: Channel) -> date:
        return deemed_received(sent_on, channel)

    def plan_law(self) -> PlanLaw:
        return _CONSUMER_PLAN_LAW

    def interest_terms(self) -> InterestTerms:
        table = self.rate_table(BUNDESBANK_BASE_RATE)
        return InterestTerms(table, Decimal(5), "base rate + 5 points (§288(1) BGB)", _BGB)


class GermanyBusiness(LegalPack):
    code = "DE-business"
    country = "DE"
    debtor_type = DebtorType.BUSINESS
    title = "Germany, business debts (§§ 286, 288(2) and (5) BGB)"
    sources = (_BGB,)
    max_static_fee = Decimal(40)
    max_static_fee_is_hard = False

    def _default_start(self, due_date: date, notice_on: date | None, channel: Channel | None) -> date:
        automatic = due_date + _AUTOMATIC_DEFAULT + ONE_DAY
        if notice_on is None:
            return automatic
        return min(automatic, max(deemed_received(notice_on, channel), due_date) + ONE_DAY)

    def received_on(self, sent_on: date, channel: Channel) -> date:
        return deemed_received(sent_on, channel)

    def fee_start(self, oldest_due: date, notice_on: date | None, notice_channel: Channel | None) -> date | None:
        return self._default_start(oldest_due, notice_on, notice_channel)

    def interest_start(
        self, due_date: date, notice_on: date | None, notice_channel: Channel | None, creditor_is_sme: bool
    ) -> date | None:
        return self._default_start(due_date, notice_on, notice_channel)

    def interest_charge_start(
        self, oldest_due: date, notice_on: date | None, notice_channel: Channel | None
    ) -> date | None:
        return self._default_start(oldest_due, notice_on, notice_channel)

    def fee_allowance(self, ctx: FeeContext) -> Figure:
        cap = Decimal(40) * max(ctx.invoice_count, 1)
        return Figure(
            "flat_fee",
            remaining(cap, ctx.fees_charged),
            f"€40 flat fee per invoice in default × {max(ctx.invoice_count, 1)} (§288(5) BGB)",
            _BGB,
        )

    def interest_terms(self) -> InterestTerms:
        table = self.rate_table(BUNDESBANK_BASE_RATE)
        return InterestTerms(table, Decimal(9), "base rate + 9 points (§288(2) BGB)", _BGB)
