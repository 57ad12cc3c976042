"""The case-state records the flow planner reads (frozen, plain data, built by the store).

A :class:`CaseState` is everything the planner needs to decide what a case gets on run date D:

* the :class:`Debtor` attributes flows branch on (type, country, language, segment, reachable by
  email / phone / post);
* the open :class:`OpenInvoice` items (amounts in the case currency, as Decimal), each marked when
  it bills a **regular-supply contract** (energy, telecom, newspapers: Book XIX counts their unpaid
  due dates per calendar year), with ``regular_supply_reminded``: the due dates of the debtor's
  regular-supply items that earlier reminders (of other cases) were for;
* the flow name and version the case is pinned to, and its **cycle** (1 for a new case; the store
  increments it when a paid case is reopened by new invoices, so steps run again with new keys);
* the :class:`HistoryEntry` list: every action planned or done for the case *including what earlier
  runs planned* (outcome ``planned``) — this is what makes a re-run a no-op. Record each
  :class:`~dunning.domain.planning.plan.PlannedAction` as an entry with the same key, step key, action,
  date, channel, fallback depth, flow/version/cycle, and ``amount`` = its fee or interest. Once a
  message has really gone out, give its outcome (``sent``, ``delivered``) and ``sent_on``: the day
  it left (a letter: the print house's posting date when acknowledged, else the day it was handed
  to the print house; an email: the day the mail server accepted it). Legal periods count from
  ``sent_on`` (else ``on``); a legal notice still ``planned`` has not gone out, so the costs and
  interest that wait for its period wait for it too;
* :class:`Hold` records (typed: dispute, promise_to_pay, insolvency, deceased, plan_active, manual,
  payment_in_review: a payment that may be the case's waits in the review queue, with its ``reason``);
* ``write_off_tolerance``: the write-off tolerance of the case's currency (a residual up to it is paid);
* :class:`CaseEvent` records: ``delivery_failed`` (``ref`` = the failed action's key; a history
  entry with a failed outcome works too), ``pay_page_visit`` (a visit without payment), and any
  other kind a flow's ``events:`` block handles;
* :class:`Visit` records: the debtor opened the pay page (at the creditor's local time, by which
  medium), with ``last_payment_on``: the day the last payment was booked for the case (bank or
  ledger), so a flow's ``visit_without_payment`` follows up a visit no payment came after.

Amounts are Decimal in ``CaseState.currency``; dates are plain dates (the creditor's local date).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from dunning.domain.legal.base import DebtorType

__all__ = [
    "FAILED_OUTCOMES",
    "REVIEW_HOLD_EVENT",
    "REVIEW_HOLD_LIFTED",
    "SENT_OUTCOMES",
    "CaseEvent",
    "CaseState",
    "Debtor",
    "HistoryEntry",
    "Hold",
    "HoldKind",
    "OpenInvoice",
    "Outcome",
    "Visit",
]


class Outcome(StrEnum):
    """What became of a planned action."""

    PLANNED = "planned"
    SENT = "sent"
    DELIVERED = "delivered"
    DONE = "done"
    FAILED = "failed"  # e.g. SMS rejected, call not answered
    BOUNCED = "bounced"  # email hard bounce
    RETURNED = "returned"  # letter returned to sender
    CANCELLED = "cancelled"  # withdrawn before it happened (counts as not done)


FAILED_OUTCOMES = frozenset({Outcome.FAILED, Outcome.BOUNCED, Outcome.RETURNED})
#: outcomes of an action that really happened (a message that went out)
SENT_OUTCOMES = frozenset({Outcome.SENT, Outcome.DELIVERED, Outcome.DONE})


class HoldKind(StrEnum):
    DISPUTE = "dispute"
    PROMISE_TO_PAY = "promise_to_pay"
    INSOLVENCY = "insolvency"
    DECEASED = "deceased"
    PLAN_ACTIVE = "plan_active"
    MANUAL = "manual"
    PAYMENT_IN_REVIEW = "payment_in_review"  # a payment that may be the case's waits for a person's decision


#: timeline events of a ``payment_in_review`` hold: the night tells a held case why, the review's decision lifts it
REVIEW_HOLD_EVENT = "held_for_review"
REVIEW_HOLD_LIFTED = "review_hold_lifted"

#: holds that end dunning for good: no action at all, and never a fee
HARD_STOP_HOLDS = frozenset({HoldKind.INSOLVENCY, HoldKind.DECEASED})


@dataclass(frozen=True, slots=True)
class Debtor:
    id: str
    type: DebtorType
    country: str  # ISO 3166 alpha-2, upper case
    language: str = "en"
    segment: str = ""
    has_email: bool = False
    has_phone: bool = False
    has_address: bool = True
    preferred_channel: str = ""  # email, sms or letter, as the debtor confirmed it on the pay page; "" unsaid


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    id: str
    due_date: date
    open_amount: Decimal
    original_amount: Decimal
    regular_supply: bool = False  # billed under a regular-supply contract (energy, telecom, newspapers)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One action planned or done for a case (the planner's memory)."""

    key: str  # the idempotency key of the planned action
    step_key: str  # flow step key, "on_paid", or "on:<event kind>:<event id>"
    action: str
    on: date  # the night it was planned for
    outcome: Outcome = Outcome.PLANNED
    channel: str | None = None
    flow: str = ""
    version: int = 0
    cycle: int = 1
    fallback_depth: int = 0
    amount: Decimal | None = None  # fee or interest charged by this action
    outcome_on: date | None = None  # when the outcome became known (failures: fallback from then)
    sent_on: date | None = None  # the day the message really went out (letter: posting date once acknowledged)
    #: a notice's deadline as its message words it: the case's first legal notice gets at least the law's
    #: period (``legal_notice``), and never a day before ``deadline_floor`` (the day before the planner's
    #: earliest legal date, or the deadline the letter, email or SMS printed once it went out)
    legal_notice: bool = False
    deadline_floor: date | None = None
    #: the collection costs a notice announced (the WIK 14-day letter's exact amount): the most ever charged
    announced_costs: Decimal | None = None

    @property
    def went_out_on(self) -> date | None:
        """The day the message went out: ``sent_on``, else ``on`` once sent/delivered/done; None while planned."""
        if self.sent_on is not None:
            return self.sent_on
        return self.on if self.outcome in SENT_OUTCOMES else None


@dataclass(frozen=True, slots=True)
class Hold:
    kind: HoldKind
    reason: str
    start: date
    until: date | None = None  # released automatically on this day (exclusive end)
    released_on: date | None = None  # released by a person or a `resume` action

    def active_on(self, day: date) -> bool:
        if day < self.start:
            return False
        if self.released_on is not None and day >= self.released_on:
            return False
        return self.until is None or day < self.until


@dataclass(frozen=True, slots=True)
class CaseEvent:
    kind: str  # delivery_failed, pay_page_visit, promise_broken, ...
    on: date
    id: str  # unique per case (the store's event id)
    ref: str | None = None  # delivery_failed: key of the failed action


@dataclass(frozen=True, slots=True)
class Visit:
    """An opening of the pay page: when (naive, the creditor's local time) and by which link."""

    at: datetime
    medium: str = ""


@dataclass(frozen=True, slots=True)
class CaseState:
    case_id: str
    debtor: Debtor
    currency: str
    invoices: tuple[OpenInvoice, ...]
    flow: str
    version: int
    cycle: int = 1
    history: tuple[HistoryEntry, ...] = ()
    holds: tuple[Hold, ...] = ()
    events: tuple[CaseEvent, ...] = ()
    fees_charged: Decimal = Decimal(0)  # costs charged outside the history (e.g. imported)
    interest_charged: Decimal = Decimal(0)  # interest charged outside the history
    creditor_is_sme: bool = False
    tags: tuple[str, ...] = field(default=())
    regular_supply_reminded: tuple[date, ...] = ()  # due dates of the debtor's supply bills reminded before
    write_off_tolerance: Decimal = Decimal(0)  # a residual up to this is settled: never dunned
    visits: tuple[Visit, ...] = ()  # pay-page openings (recent ones: the store leaves old ones out)
    last_payment_on: date | None = None  # the day the last payment for the case was booked
    #: days a plan with frozen interest was kept (first, last): no interest runs on them
    interest_frozen: tuple[tuple[date, date], ...] = ()

    @property
    def regular_supply(self) -> bool:
        """True when every open item of the case bills a regular-supply contract (and there is one).

        A case that also holds another debt keeps the general rule (its first reminder is free).
        """
        items = [i for i in self.invoices if i.open_amount > 0]
        return bool(items) and all(i.regular_supply for i in items)

    @property
    def open_principal(self) -> Decimal:
        """The net amount owed: open invoices less credit notes, never below zero."""
        return max(sum((i.open_amount for i in self.invoices), Decimal(0)), Decimal(0))
