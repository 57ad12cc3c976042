"""The payment arrangement and its instalments: immutable records, exact to the cent.

An :class:`Arrangement` freezes what the debtor owes when it is agreed (``costs`` + ``principal`` +
``interest`` = ``total``) and spreads it over :class:`Instalment` records. Whatever happens to the
plan later (payments, a deferral, a re-spread, a waiver) keeps one invariant, checked when an
arrangement is made::

    sum(instalment.amount) == arrangement.total
    sum(instalment.paid) + sum(instalment.open) + sum(instalment.waived) == arrangement.total

A deferred instalment keeps only what it received as its amount and hands its open rest to a new
instalment at the end of the plan, so the sum never moves. Every change returns a new record.

    >>> from datetime import date
    >>> from decimal import Decimal as D
    >>> one = Instalment(1, date(2027, 1, 1), D("50.00"), "RF18539007547034")
    >>> one.open, one.status.value
    (Decimal('50.00'), 'scheduled')
    >>> one.receive("pay-1", D("20.00")).status.value
    'partial'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from dunning.errors import InvalidValue

__all__ = [
    "OPEN_STATUSES",
    "Arrangement",
    "ArrangementStatus",
    "CreatedVia",
    "Instalment",
    "InstalmentStatus",
    "InterestPolicy",
    "PlanError",
    "cents",
]

_CENT = Decimal("0.01")


class PlanError(InvalidValue):
    """A payment arrangement cannot be made or changed as asked; the message names the value."""


def cents(value: Decimal) -> Decimal:
    """``value`` as an exact amount of cents; refuses a fraction of a cent (it would be lost)."""
    if value != value.quantize(_CENT):
        raise PlanError(f"{value} is not a whole number of cents")
    return value.quantize(_CENT)


class ArrangementStatus(StrEnum):
    PROPOSED = "proposed"  # offered, not yet accepted: the flow goes on
    ACTIVE = "active"  # accepted: the flow is paused, instalments run
    COMPLETED = "completed"  # every instalment paid (or waived)
    BREACHED = "breached"  # ended for breach: the flow resumes with what is still owed
    CANCELLED = "cancelled"  # withdrawn by the creditor or the debtor


class InstalmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    REMINDED = "reminded"  # the reminder before the due date went out
    PAID = "paid"
    PARTIAL = "partial"  # part received, the due date not yet past the grace days
    MISSED = "missed"  # past due + grace days with money open
    DEFERRED = "deferred"  # its open rest moved to a new instalment at the end
    WAIVED = "waived"  # the creditor forgave its open rest


#: statuses of an instalment that still waits for money
OPEN_STATUSES = frozenset(
    {InstalmentStatus.SCHEDULED, InstalmentStatus.REMINDED, InstalmentStatus.PARTIAL, InstalmentStatus.MISSED}
)


class CreatedVia(StrEnum):
    PAY_PAGE = "pay_page"  # the debtor chose it
    CLI = "cli"  # a person, ``dunning plans create``
    API = "api"  # the console


class InterestPolicy(StrEnum):
    FROZEN = "frozen"  # interest stops at the amount owed when the plan is agreed
    WAIVED = "waived"  # the interest owed is dropped for a kept plan


@dataclass(frozen=True, slots=True)
class Instalment:
    """One instalment: what falls due on ``due_date``, paid with its own ``reference``."""

    number: int
    due_date: date
    amount: Decimal
    reference: str  # compact OGM digits or RF reference (its own, see :mod:`.references`)
    status: InstalmentStatus = InstalmentStatus.SCHEDULED
    paid: Decimal = Decimal("0.00")
    payments: tuple[str, ...] = ()  # ids of the bank transactions matched to it
    waived: Decimal = Decimal("0.00")
    deferred_to: int | None = None  # the instalment that took over its open rest

    def __post_init__(self) -> None:
        if self.number < 1:
            raise PlanError(f"instalment number {self.number} is not positive")
        if self.amount < 0 or self.paid < 0 or self.waived < 0:
            raise PlanError(f"instalment {self.number}: negative amount {self.amount}/{self.paid}/{self.waived}")
        if self.paid + self.waived > self.amount:
            raise PlanError(f"instalment {self.number}: {self.paid} paid + {self.waived} waived exceed {self.amount}")

    @property
    def open(self) -> Decimal:
        """What is still to be paid on it (zero once paid, deferred or waived)."""
        return self.amount - self.paid - self.waived

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES and self.open > 0

    def receive(self, payment_id: str, amount: Decimal) -> Instalment:
        """This instalment with ``amount`` of payment ``payment_id`` added (at most its open rest)."""
        if amount <= 0 or amount > self.open:
            raise PlanError(f"instalment {self.number}: cannot receive {amount} (open {self.open})")
        paid = self.paid + amount
        payments = self.payments if payment_id in self.payments else (*self.payments, payment_id)
        status = InstalmentStatus.PAID if paid + self.waived == self.amount else self.status
        if status != InstalmentStatus.PAID and self.status != InstalmentStatus.MISSED:
            status = InstalmentStatus.PARTIAL
        return replace(self, paid=paid, payments=payments, status=status)


@dataclass(frozen=True, slots=True)
class Arrangement:
    """A payment arrangement over one or more cases of one debtor.

    ``costs``, ``principal`` and ``interest`` are what was owed when it was agreed; ``costs_frozen``
    says no new collection costs are charged while it is kept; ``terms_version`` names the terms the
    debtor accepted; ``pack`` the legal rule pack that bounded it.
    """

    plan_id: str
    case_ids: tuple[str, ...]
    case_reference: str
    currency: str
    principal: Decimal
    costs: Decimal
    interest: Decimal
    instalments: tuple[Instalment, ...]
    created_on: date
    created_by: str
    created_via: CreatedVia
    terms_version: str
    pack: str
    costs_frozen: bool = True
    interest_policy: InterestPolicy = InterestPolicy.FROZEN
    status: ArrangementStatus = ArrangementStatus.PROPOSED
    deferrals_used: int = 0
    breach_notice_on: date | None = None  # the day a notice before breach went out (§ 498 BGB)
    ended_on: date | None = None
    ogm_prefix: str = ""  # the creditor's OGM prefix, for the references of instalments added later

    def __post_init__(self) -> None:
        if not self.case_ids:
            raise PlanError(f"plan {self.plan_id}: covers no case")
        for part, value in (("principal", self.principal), ("costs", self.costs), ("interest", self.interest)):
            if value < 0:
                raise PlanError(f"plan {self.plan_id}: {part} {value} is negative")
            cents(value)
        if not self.instalments:
            raise PlanError(f"plan {self.plan_id}: has no instalments")
        numbers = [i.number for i in self.instalments]
        if numbers != list(range(1, len(numbers) + 1)):
            raise PlanError(f"plan {self.plan_id}: instalments are numbered {numbers}, not 1..{len(numbers)}")
        scheduled = sum((i.amount for i in self.instalments), Decimal(0))
        if scheduled != self.total:
            raise PlanError(f"plan {self.plan_id}: instalments sum to {scheduled}, not the {self.total} owed")

    @property
    def total(self) -> Decimal:
        """What the plan collects: costs + principal + interest (interest dropped when waived)."""
        interest = Decimal("0.00") if self.interest_policy == InterestPolicy.WAIVED else self.interest
        return self.costs + self.principal + interest

    @property
    def paid(self) -> Decimal:
        return sum((i.paid for i in self.instalments), Decimal("0.00"))

    @property
    def open(self) -> Decimal:
        """What is still to be paid under the plan."""
        return sum((i.open for i in self.instalments), Decimal("0.00"))

    @property
    def waived(self) -> Decimal:
        return sum((i.waived for i in self.instalments), Decimal("0.00"))

    @property
    def day_of_month(self) -> int:
        """The day of the month instalments fall due (that of the first)."""
        return self.instalments[0].due_date.day

    @property
    def first_due(self) -> date:
        return self.instalments[0].due_date

    @property
    def last_due(self) -> date:
        return max(i.due_date for i in self.instalments)

    def instalment(self, number: int) -> Instalment:
        for item in self.instalments:
            if item.number == number:
                return item
        raise PlanError(f"plan {self.plan_id} has no instalment {number}")

    def open_instalments(self) -> tuple[Instalment, ...]:
        """The instalments still waiting for money, oldest due date first."""
        return tuple(sorted((i for i in self.instalments if i.is_open), key=lambda i: (i.due_date, i.number)))

    def with_instalments(self, instalments: tuple[Instalment, ...], **changes: object) -> Arrangement:
        """A copy with new instalments (the invariant is checked again)."""
        return replace(self, instalments=instalments, **changes)  # type: ignore[arg-type]
