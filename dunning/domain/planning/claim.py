"""What a reminder may claim on a given day: the items already due, never those still to fall due.

A case groups every open item of a debtor (in one currency), including invoices whose due date
has not come yet. A reminder, its fee, the statutory compensation (e.g. €40 per late invoice under
directive 2011/7/EU and § 288(5) BGB) and the interest concern only what is **overdue** on the
letter's (or the night's) date: an invoice whose due date is before that day. An invoice due that
very day is not late yet. Credit notes (items with a negative amount) are always deducted: the
debtor may set them off at once. The planner (fees, interest, legal figures), the letters and the
emails and SMS all split the items here, so they claim the same amount::

    >>> from datetime import date
    >>> from decimal import Decimal
    >>> from dunning.domain.planning.case_state import OpenInvoice
    >>> items = [OpenInvoice("A", date(2026, 9, 1), Decimal("100.00"), Decimal("100.00")),
    ...          OpenInvoice("B", date(2026, 10, 5), Decimal("50.00"), Decimal("50.00")),
    ...          OpenInvoice("CN", date(2026, 9, 20), Decimal("-20.00"), Decimal("-20.00"))]
    >>> split = split_claim(items, date(2026, 10, 1))
    >>> [i.id for i in split.claimed], [i.id for i in split.not_yet_due]
    (['A', 'CN'], ['B'])
    >>> split.amount, split.late_invoices
    (Decimal('80.00'), 1)
    >>> split_claim(items, date(2026, 10, 5)).late_invoices   # due on the day: not late yet
    1
    >>> split_claim(items, date(2026, 10, 6)).amount
    Decimal('130.00')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

__all__ = ["Claim", "Dated", "is_overdue", "split_claim"]


class Dated(Protocol):
    """An open item as the split reads it (planner, store and letter records all fit)."""

    @property
    def due_date(self) -> date: ...

    @property
    def open_amount(self) -> Decimal: ...


ItemT = TypeVar("ItemT", bound=Dated)


def is_overdue(due_date: date, open_amount: Decimal, on: date) -> bool:
    """True when an item is claimed on ``on``: a credit note always, an invoice once its due date has passed.

    >>> due = date(2026, 10, 5)
    >>> is_overdue(due, Decimal("50"), due), is_overdue(due, Decimal("50"), date(2026, 10, 6))
    (False, True)
    """
    return open_amount < 0 or due_date < on


@dataclass(frozen=True, slots=True)
class Claim(Generic[ItemT]):
    """The items claimed on a day (overdue invoices and credit notes) and those not yet due."""

    claimed: tuple[ItemT, ...]
    not_yet_due: tuple[ItemT, ...]

    @property
    def amount(self) -> Decimal:
        """What is claimed: the overdue invoices less the credit notes, never below zero."""
        return max(sum((i.open_amount for i in self.claimed), Decimal(0)), Decimal(0))

    @property
    def late_invoices(self) -> int:
        """How many invoices are late (credit notes and settled items excluded)."""
        return sum(1 for i in self.claimed if i.open_amount > 0)

    @property
    def not_yet_due_amount(self) -> Decimal:
        return sum((i.open_amount for i in self.not_yet_due), Decimal(0))


def split_claim(items: Iterable[ItemT], on: date) -> Claim[ItemT]:
    """Split a case's open items into what is claimed on ``on`` and what is not due yet (order kept)."""
    claimed: list[ItemT] = []
    later: list[ItemT] = []
    for item in items:
        if item.open_amount == 0:
            continue
        (claimed if is_overdue(item.due_date, item.open_amount, on) else later).append(item)
    return Claim(tuple(claimed), tuple(later))
