"""What a case owes: the one sum that letters, emails, SMS and the case list all state.

A case's figures are kept as they were charged (``cases.fees_amount``, ``interest_amount``) and
as they stand (the open invoices, credit notes being open items with a negative amount); bank
payments are recorded as allocations (costs first, then interest, then principal). The total
due is the open principal plus what is still unpaid of the costs and of the interest. Shown to a
credit controller it reads ``principal + costs + interest - paid``: the principal as asked before
bank payments, the costs and interest as charged, and what payments covered of the three.

    >>> owed = Owed(principal_open=Decimal("60.00"), fees=Decimal("15.00"), interest=Decimal("2.40"),
    ...             principal_paid=Decimal("40.00"), fees_paid=Decimal("15.00"))
    >>> owed.principal, owed.paid, owed.total
    (Decimal('100.00'), Decimal('55.00'), Decimal('62.40'))
    >>> owed.principal + owed.fees + owed.interest - owed.paid == owed.total
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Owed"]

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Owed:
    """A case's figures; :attr:`total` is what every message and listing asks the debtor to pay.

    ``principal_open``: the open items (net of credit notes and of principal payments);
    ``fees`` and ``interest``: as charged; ``*_paid``: what bank payments covered of each;
    ``credit``: money received beyond what was owed (held for the debtor, never part of the total).
    """

    principal_open: Decimal
    fees: Decimal = ZERO
    interest: Decimal = ZERO
    principal_paid: Decimal = ZERO
    fees_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    credit: Decimal = ZERO

    @property
    def fees_open(self) -> Decimal:
        """Fees still unpaid (a fee taken back after it was paid never makes this negative)."""
        return max(self.fees - self.fees_paid, ZERO)

    @property
    def interest_open(self) -> Decimal:
        """Interest still unpaid."""
        return max(self.interest - self.interest_paid, ZERO)

    @property
    def principal(self) -> Decimal:
        """The principal as asked before bank payments: what is open plus what payments covered."""
        return self.principal_open + self.principal_paid

    @property
    def paid(self) -> Decimal:
        """What bank payments covered of principal, fees and interest (never more than was charged)."""
        return self.principal_paid + min(self.fees_paid, self.fees) + min(self.interest_paid, self.interest)

    @property
    def total(self) -> Decimal:
        """The total due: open principal plus unpaid fees and interest."""
        return self.principal_open + self.fees_open + self.interest_open
