"""Apply a (partial) payment to what a debtor owes: costs first, then interest, then principal.

The order follows §367(1) BGB and art. 5.213 of the Belgian Civil Code (formerly art. 1254): a
payment discharges costs, then interest, then the principal. Within the principal, the oldest invoice
(earliest due date, then invoice id) is paid first, and so is within costs and interest when they are
itemised per invoice. Money is conserved: ``costs + interest + sum(principal) + unapplied == payment``::

    >>> from datetime import date
    >>> from decimal import Decimal as D
    >>> a = allocate(D("100"), costs=D("20"), interest=D("5.50"),
    ...              invoices=[("INV-2", date(2024, 2, 1), D("300")), ("INV-1", date(2024, 1, 1), D("50"))])
    >>> a.costs, a.interest, a.principal, a.unapplied
    (Decimal('20'), Decimal('5.50'), (('INV-1', Decimal('50')), ('INV-2', Decimal('24.50'))), Decimal('0.00'))

A payment larger than everything owed leaves ``unapplied`` (an overpayment to refund or keep on
account); a negative payment is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

__all__ = ["Allocation", "allocate"]


@dataclass(frozen=True, slots=True)
class Allocation:
    """How one payment was applied; amounts in the case currency."""

    payment: Decimal
    costs: Decimal
    interest: Decimal
    principal: tuple[tuple[str, Decimal], ...]
    unapplied: Decimal

    @property
    def principal_total(self) -> Decimal:
        return sum((amount for _, amount in self.principal), Decimal(0))


def allocate(
    payment: Decimal,
    *,
    costs: Decimal,
    interest: Decimal,
    invoices: Iterable[tuple[str, date, Decimal]],
) -> Allocation:
    """Apply ``payment`` to ``costs``, then ``interest``, then ``invoices`` (id, due date, open amount).

    Invoices are paid oldest first (due date, then id) whatever order they are given in, so the
    result does not depend on input order. Only invoices with a positive open amount take money.
    """
    for name, value in (("payment", payment), ("costs", costs), ("interest", interest)):
        if not isinstance(value, Decimal):
            raise TypeError(f"{name} must be a Decimal")
        if value < 0:
            raise ValueError(f"{name} must not be negative: {value}")
    left = payment
    to_costs = min(left, costs)
    left -= to_costs
    to_interest = min(left, interest)
    left -= to_interest
    applied: list[tuple[str, Decimal]] = []
    for invoice_id, _due, open_amount in sorted(invoices, key=lambda item: (item[1], item[0])):
        if left <= 0:
            break
        if open_amount <= 0:
            continue
        part = min(left, open_amount)
        applied.append((invoice_id, part))
        left -= part
    return Allocation(payment, to_costs, to_interest, tuple(applied), left)
