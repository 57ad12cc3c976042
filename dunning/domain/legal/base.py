"""The interface every legal rule pack implements, and the records packs return.

A :class:`LegalPack` answers, for one jurisdiction and one debtor type, the questions the flow engine
and the compliance compiler ask:

* ``first_reminder_free`` — may the first legal notice carry a cost?
* ``fee_start(oldest_due, notice_on, notice_channel)`` — first day a fee may be charged (None: not yet,
  e.g. no notice has been sent where one is required);
* ``interest_start(due_date, notice_on, notice_channel, creditor_is_sme)`` — first day interest runs on
  one invoice, and ``interest_charge_start(...)`` — first day it may be *charged*;
* ``fee_allowance(ctx)`` — the most that may still be charged as costs, with the rule that sets it;
* ``interest_terms()`` — the dated rate table and spread;
* ``notice_required_fields`` / ``notice_figures(...)`` — mandatory mentions of the legal notice, and
  the figures it must state (e.g. the Dutch 14-day letter's exact WIK amount);
* ``period_offsets(channel)`` — the least and most calendar days between sending a notice and the
  start of its waiting period, used by :func:`dunning.domain.planning.flows.check_flow` on nominal timelines;
* ``plan_law()`` — what the law says about a payment arrangement for these debtors
  (:class:`PlanLaw`: the least breach rule, the order a payment pays costs, principal and interest,
  whether new collection costs stop while the plan is kept); the workspace's ``plans:`` policy is
  bounded by it (:func:`dunning.domain.plans.policy.bounded_policy`);
* ``regular_supply_allowance(concerned, reminded, postage)`` — what a first reminder may cost under a
  regular-supply contract where the pack makes an exception to the free first reminder (Book XIX:
  from the 4th unpaid due date of a calendar year), and ``regular_supply_fee`` its static maximum
  before postage (None: no such exception).

Packs are stateless singletons; pick one with :func:`dunning.domain.legal.select_pack`. A pack reads
its rate table through ``rate_table``: the built-in table, or the one of the same key in the tables
given to ``with_rates`` (a workspace's ``rates.yaml`` merged in; see :func:`dunning.domain.legal.pack_selector`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from copy import copy
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Self

from dunning.domain.legal.rates import RateTable
from dunning.domain.planning.actions import Channel

__all__ = [
    "COSTS_INTEREST_PRINCIPAL",
    "DEFAULT_PAY_DAYS",
    "Deadline",
    "DebtorType",
    "FeeContext",
    "Figure",
    "InterestTerms",
    "LegalPack",
    "PlanLaw",
    "money",
]

ONE_DAY = timedelta(days=1)
_CENT = Decimal("0.01")
#: days a message gives the debtor to pay when its step says nothing (``deadline_days``)
DEFAULT_PAY_DAYS = 14


class DebtorType(StrEnum):
    """Consumers are protected by Book XIX, the WIK 14-day letter, §288(1) BGB; businesses are not."""

    CONSUMER = "consumer"
    BUSINESS = "business"


def money(value: Decimal) -> Decimal:
    """Round half up to the cent (the packs only deal in 2-decimal currencies)."""
    from decimal import ROUND_HALF_UP

    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Figure:
    """A legally computed figure with its explanation, for letters and the debtor-facing breakdown."""

    name: str
    amount: Decimal | None
    explanation: str
    source: str


@dataclass(frozen=True, slots=True)
class FeeContext:
    """What the pack needs to cap costs for one case on one night."""

    principal: Decimal  # open principal of the case
    invoice_count: int  # open (overdue) invoices
    fees_charged: Decimal  # costs already charged in this cycle
    notices_sent: int  # legal notices sent (not failed) in this cycle, before this action
    vat_percent: Decimal = Decimal(0)
    #: the costs the legal notice announced (the WIK letter states the exact amount; never more is charged)
    announced: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Deadline:
    """The one day by which a message asks the debtor to pay, and how it was counted.

    ``day`` is the last day to pay, included ("by D at the latest", never "before D"): the period
    runs from ``starts`` to ``day``, ``days`` calendar days, at least the ``minimum_days`` the law
    gives (0 where it sets none). ``rule`` says it in words for the case timeline.
    """

    day: date
    starts: date
    days: int
    minimum_days: int
    rule: str
    source: str

    @property
    def delivered(self) -> date:
        """The day before the period starts: the presumed receipt (NL), the day of sending (email)."""
        return self.starts - ONE_DAY


@dataclass(frozen=True, slots=True)
class InterestTerms:
    """Interest runs at ``table`` + ``spread`` points (capped at the table where ``cap_only``)."""

    table: RateTable
    spread: Decimal
    rule: str
    source: str


#: the general order a payment is imputed to the parts of a debt: costs, then interest, then principal
COSTS_INTEREST_PRINCIPAL: tuple[str, ...] = ("costs", "interest", "principal")
_GENERAL_ORDER_SOURCE = "§ 367(1) BGB; art. 6:44 BW; art. 1254 old Belgian Civil Code (interest before principal)"


@dataclass(frozen=True, slots=True)
class PlanLaw:
    """What the law of a pack requires of a payment arrangement (the floor a creditor's policy keeps).

    ``min_missed_in_a_row`` and ``min_arrears_percent``: a plan may be ended for breach only when at
    least that many consecutive instalments are missed *and* the arrears reach that share of the plan's
    nominal amount; ``long_term_months`` / ``long_term_arrears_percent``: the lower share that applies to
    plans longer than that; ``breach_notice_days``: a breach needs a notice giving that many days to pay
    first (0: none). ``allocation``: the order a payment pays the parts of what is owed.
    ``costs_stop``: no new collection costs while the plan is kept.
    """

    min_missed_in_a_row: int = 1
    min_arrears_percent: Decimal = Decimal(0)
    long_term_months: int | None = None
    long_term_arrears_percent: Decimal | None = None
    breach_notice_days: int = 0
    allocation: tuple[str, ...] = COSTS_INTEREST_PRINCIPAL
    costs_stop: bool = False
    paid_deferral_is_credit_after_months: int | None = None  # a paid deferral longer than this is credit
    sources: tuple[str, ...] = (_GENERAL_ORDER_SOURCE,)

    def arrears_percent(self, term_months: int) -> Decimal:
        """The least arrears share (in %) that allows a breach of a plan running ``term_months``."""
        long_term = self.long_term_months
        if long_term is not None and self.long_term_arrears_percent is not None and term_months > long_term:
            return self.long_term_arrears_percent
        return self.min_arrears_percent


class LegalPack:
    """Base pack: business-to-business rules with no waiting period and no notice requirement."""

    code: str = "base"
    country: str | None = None
    debtor_type: DebtorType = DebtorType.BUSINESS
    title: str = ""
    sources: tuple[str, ...] = ()
    first_reminder_free: bool = False
    waiting_period_days: int = 0
    notice_before_fees: bool = False
    notice_before_interest: bool = False
    fees_allowed: bool = True
    #: ``flows check`` warns of an interest step that charges nothing under this pack (not for the default
    #: pack of companies outside the EEA: the b2b flow's interest step rightly charges them nothing)
    warn_no_interest: bool = True
    notice_must_be_first_contact: bool = False  # Book XIX: no collection step before the first reminder
    max_static_fee: Decimal | None = None  # the most any single fee step may state in a flow
    max_static_fee_is_hard: bool = True  # above it: an error (a legal cap) or a warning (needs evidence)
    regular_supply_fee: Decimal | None = None  # most a regular-supply first reminder may cost, before postage
    notice_required_fields: tuple[str, ...] = ()
    rates: Mapping[str, RateTable] | None = None  # the rate tables in force by key; None: the built-in ones

    def __repr__(self) -> str:
        return f"<LegalPack {self.code}>"

    def with_rates(self, rates: Mapping[str, RateTable]) -> Self:
        """This pack reading its rate tables from ``rates`` (by table key) instead of the built-in ones."""
        clone = copy(self)
        clone.rates = rates
        return clone

    def rate_table(self, builtin: RateTable) -> RateTable:
        """The table in force for ``builtin``: the one of the same key in ``rates``, else ``builtin``."""
        return builtin if self.rates is None else self.rates.get(builtin.key, builtin)

    # --- dates -------------------------------------------------------------------------------
    def period_start(self, sent_on: date, channel: Channel) -> date:
        """First day of the waiting period of a notice sent on ``sent_on`` through ``channel``."""
        return sent_on + ONE_DAY

    def earliest_cost_date(self, notice_on: date, channel: Channel) -> date:
        """First day after the waiting period that follows a notice (the notice day if none)."""
        if not self.waiting_period_days:
            return notice_on
        return self.period_start(notice_on, channel) + timedelta(days=self.waiting_period_days)

    def period_offsets(self, channel: Channel) -> tuple[int, int]:
        """(least, most) calendar days from sending a notice to the start of its waiting period."""
        return (1, 1)

    def received_on(self, sent_on: date, channel: Channel) -> date:
        """The day a notice sent on ``sent_on`` through ``channel`` is deemed received.

        By default the day before its period starts (:meth:`period_start`: the Dutch presumed
        delivery, the day of sending an email); packs whose law ties default to *receipt* of the
        notice and has its own postal presumption (Germany) say theirs.
        """
        return self.period_start(sent_on, channel) - ONE_DAY

    #: how the period of a deadline starts, in words (packs with their own rule say theirs)
    period_rule: str = "from the day after sending"

    def payment_deadline(
        self, sent_on: date, channel: Channel, days: int | None = None, *, legal_notice: bool = True
    ) -> Deadline:
        """The last day to pay that a message sent on ``sent_on`` through ``channel`` may state.

        The period starts where the pack's legal periods start (:meth:`period_start`: Book XIX the
        3rd working day after posting or the day after an email, WIK the day after presumed receipt,
        otherwise the day after sending) and lasts ``days`` calendar days (the step's
        ``deadline_days``, default :data:`DEFAULT_PAY_DAYS`), for the legal notice (``legal_notice``:
        Book XIX's first reminder, the WIK 14-day letter) never fewer than the pack's statutory
        ``waiting_period_days``. The last day is included: a 14-day period starting on the 21st
        ends on the 4th of the next month, the day before costs may start (:meth:`earliest_cost_date`).

        >>> from datetime import date
        >>> deadline = LegalPack().payment_deadline(date(2026, 10, 1), Channel.EMAIL)
        >>> deadline.starts, deadline.day
        (datetime.date(2026, 10, 2), datetime.date(2026, 10, 15))
        """
        wanted = DEFAULT_PAY_DAYS if days is None or days < 1 else days
        minimum = self.waiting_period_days if legal_notice else 0
        length = max(wanted, minimum)
        starts = self.period_start(sent_on, channel)
        day = starts + timedelta(days=length - 1)
        why = f"{length} calendar days {self.period_rule} ({starts.isoformat()} to {day.isoformat()}, included)"
        if minimum:
            why += f"; at least the {minimum} days the law gives the legal notice"
        return Deadline(day, starts, length, minimum, f"{self.code}: {why}", "; ".join(self.sources[:1]))

    def fee_start(self, oldest_due: date, notice_on: date | None, notice_channel: Channel | None) -> date | None:
        """First day a fee may be charged on the case; None while it cannot be charged at all."""
        if self.notice_before_fees:
            if notice_on is None or notice_channel is None:
                return None
            return self.earliest_cost_date(notice_on, notice_channel)
        return oldest_due + ONE_DAY

    def interest_start(
        self, due_date: date, notice_on: date | None, notice_channel: Channel | None, creditor_is_sme: bool
    ) -> date | None:
        """First day interest runs on an invoice due on ``due_date`` (default: the day after)."""
        return due_date + ONE_DAY

    def interest_charge_start(
        self, oldest_due: date, notice_on: date | None, notice_channel: Channel | None
    ) -> date | None:
        """First day interest may be *charged* (it may run earlier, e.g. Belgian SME creditors)."""
        if self.notice_before_interest:
            if notice_on is None or notice_channel is None:
                return None
            return self.earliest_cost_date(notice_on, notice_channel)
        return oldest_due + ONE_DAY

    # --- amounts -------------------------------------------------------------------------------
    def fee_allowance(self, ctx: FeeContext) -> Figure:
        """The most that may still be charged as costs (never negative), and why."""
        raise NotImplementedError

    def regular_supply_allowance(
        self, concerned: Iterable[date], reminded: Iterable[date], postage: Decimal
    ) -> Figure | None:
        """What the first reminder of a regular-supply case may cost, and why; None: it stays free.

        ``concerned``: the unpaid due dates the reminder is for; ``reminded``: those of the same
        contract earlier reminders were for; ``postage``: this reminder's postage (zero by email).
        """
        return None

    def plan_law(self) -> PlanLaw:
        """What the law requires of a payment arrangement with these debtors (base: the general rules)."""
        return PlanLaw()

    def interest_terms(self) -> InterestTerms | None:
        """The rate table and spread of late-payment interest; None when the pack charges none."""
        return None

    def notice_figures(self, principal: Decimal, invoice_count: int) -> tuple[Figure, ...]:
        """Figures the legal notice must state (empty when the pack has no mandatory mentions)."""
        return ()


def remaining(cap: Decimal, charged: Decimal) -> Decimal:
    """What is left of ``cap`` after ``charged``, never below zero."""
    left = cap - charged
    return money(left) if left > 0 else Decimal("0.00")
