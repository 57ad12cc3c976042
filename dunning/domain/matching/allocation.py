"""Allocating a payment to the open items of one case, and undoing it.

The order, as the law has it:

* §366 (1) BGB: the debtor decides which debt a payment settles, so invoices the
  payment *names* (reference or invoice number in the text) come first;
  otherwise §366 (2): the oldest due first (due date, then id, so the order is
  total and does not depend on the input order).
* §367 (1) BGB (and art. 5.213 of the Belgian Civil Code, formerly art. 1254):
  within what is owed, costs first, then interest, then principal.
  The order is a parameter (``LEGAL_ORDER_BGB_367`` by default).

A payment that covers everything leaves the rest as a credit on the case; one
that falls short of an item by at most the tolerance settles it and the
difference is written off. Example (costs 5, invoice 100, payment 100)::

    >>> from datetime import date
    >>> from decimal import Decimal as D
    >>> case = CaseRef("C1", "D1", "EUR", None, (), None, (
    ...     OpenItem.invoice("I1", "RE-1", date(2026, 1, 1), D("100")),
    ...     OpenItem("F1", ItemKind.COSTS, date(2026, 2, 1), D("5"))))
    >>> [(a.item_id, str(a.amount)) for a in allocate(case, D("100")).allocations]
    [('F1', '5'), ('I1', '95')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from dunning.domain.matching.model import (
    LEGAL_ORDER_BGB_367,
    Allocation,
    CaseOutcome,
    CaseRef,
    CaseStatus,
    InvalidMatchInput,
    ItemKind,
    OpenItem,
    PaymentRecord,
    WriteOff,
)

__all__ = ["Allocated", "WorkingCase", "allocate", "apply_reviewed"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Allocated:
    """The result of :func:`allocate`: the case afterwards and where the money went."""

    case: CaseRef
    allocations: tuple[Allocation, ...]
    write_offs: tuple[WriteOff, ...]
    credit: Decimal


class WorkingCase:
    """The mutable state of one case during a matching run (copied on first touch)."""

    __slots__ = ("case", "credit", "extra", "items", "open", "paid", "reopened", "written_off")

    def __init__(self, case: CaseRef) -> None:
        self.case = case
        self.items: dict[str, OpenItem] = {item.item_id: item for item in case.items}
        self.open: dict[str, Decimal] = {item.item_id: item.open_amount for item in case.items}
        self.credit = case.credit
        self.extra: list[OpenItem] = []
        self.paid = _ZERO
        self.written_off = _ZERO
        self.reopened = False

    @property
    def case_id(self) -> str:
        return self.case.case_id

    def open_total(self) -> Decimal:
        return sum(self.open.values(), _ZERO)

    def open_of(self, item_id: str) -> Decimal:
        return self.open.get(item_id, _ZERO)

    def _ordered(self, named: frozenset[str], order: Sequence[ItemKind]) -> list[OpenItem]:
        open_items = [i for i in self.items.values() if self.open[i.item_id] > 0]
        if len(open_items) < 2:
            return open_items
        rank = {kind: i for i, kind in enumerate(order)}

        def key(item: OpenItem) -> tuple[int, bool, object, str]:
            # A cost or interest item counts as named when the invoice it belongs to is named.
            anchor = item.item_id if item.kind is ItemKind.PRINCIPAL else item.invoice_id
            return (rank[item.kind], anchor not in named, item.due_date, item.item_id)

        return sorted(open_items, key=key)

    def apply(
        self,
        amount: Decimal,
        named: Iterable[str] = (),
        order: Sequence[ItemKind] = LEGAL_ORDER_BGB_367,
        tolerance: Decimal = _ZERO,
        charges: Decimal = _ZERO,
    ) -> tuple[tuple[Allocation, ...], tuple[WriteOff, ...], Decimal]:
        """Apply ``amount``; return the allocations, the write-offs and the credit (the rest).

        ``charges``: what banks took from the payment on its way and the creditor bears
        (:func:`~dunning.domain.matching.charges.excused_charges`). A shortfall up to the charges
        plus the tolerance settles the item: the debtor paid what was asked. Charges never settle
        a payment that falls further short (a partial payment leaves all of its shortfall owed).
        """
        rest = amount
        allocations: list[Allocation] = []
        last: OpenItem | None = None
        for item in self._ordered(frozenset(named), order):
            if rest <= 0:
                break
            part = min(rest, self.open[item.item_id])
            self.open[item.item_id] -= part
            rest -= part
            allocations.append(Allocation(self.case_id, item.item_id, item.kind, part))
            last = item
        write_offs: list[WriteOff] = []
        if last is not None and 0 < self.open[last.item_id] <= tolerance + charges:
            # Only the last item touched can be left partly open (earlier ones were filled).
            remainder = self.open[last.item_id]
            self.open[last.item_id] = _ZERO
            write_offs.append(WriteOff(self.case_id, last.item_id, last.kind, remainder, min(remainder, charges)))
            self.written_off += remainder
        self.credit += rest
        self.paid += amount - rest
        return tuple(allocations), tuple(write_offs), rest

    def reopen(
        self, allocations: Iterable[Allocation], write_offs: Iterable[WriteOff], credit: Decimal
    ) -> tuple[tuple[Allocation, ...], Decimal]:
        """Undo a payment: its allocations and write-offs are owed again, its credit is taken back.

        Returns what was reopened and the credit actually taken back (never more
        than the case holds, so the credit never goes negative).
        """
        reopened: list[Allocation] = []
        parts: list[Allocation | WriteOff] = [*allocations, *write_offs]
        for part in parts:
            if part.item_id in self.open:
                self.open[part.item_id] += part.amount
                reopened.append(Allocation(self.case_id, part.item_id, part.kind, part.amount))
                if isinstance(part, WriteOff):
                    self.written_off -= part.amount
                else:
                    self.paid -= part.amount
        taken = min(credit, self.credit)
        self.credit -= taken
        if reopened:
            self.reopened = True
        return tuple(reopened), taken

    def add_item(self, item: OpenItem) -> None:
        """Charge a new item (a return fee) to the case."""
        self.items[item.item_id] = item
        self.open[item.item_id] = item.open_amount
        self.extra.append(item)

    def status(self) -> CaseStatus:
        if self.open_total() == 0:
            return CaseStatus.PAID
        if self.reopened:
            return CaseStatus.REOPENED
        if self.paid > 0 or self.written_off > 0:
            return CaseStatus.PARTIAL
        return CaseStatus.OPEN

    def outcome(self) -> CaseOutcome:
        """Where the case stands now, as plain data."""
        opened = self.open
        return CaseOutcome(
            self.case_id,
            self.status(),
            sum(opened.values(), _ZERO),
            self.credit,
            tuple(opened.items()),
            tuple(self.extra),
            self.paid,
            self.written_off,
        )

    def snapshot(self) -> CaseRef:
        """The case as a new immutable record with the open amounts and credit of now."""
        return self.outcome().apply_to(self.case)


def allocate(
    case: CaseRef,
    amount: Decimal,
    named: Iterable[str] = (),
    *,
    order: Sequence[ItemKind] = LEGAL_ORDER_BGB_367,
    tolerance: Decimal = _ZERO,
    charges: Decimal = _ZERO,
) -> Allocated:
    """Allocate ``amount`` to ``case`` (pure): named items first, then the legal order, oldest first.

    For a payment a person assigns from the review queue, and for tests; the
    matcher uses :class:`WorkingCase` directly so that one run sees its own
    earlier allocations. Money is conserved: the allocations plus the credit
    are the amount. A partial payment (100 on costs 20, interest 5.50 and two
    invoices) pays the costs, the interest, then the older invoice in full::

        >>> from datetime import date
        >>> from decimal import Decimal as D
        >>> case = CaseRef("C1", "D1", "EUR", None, (), None, (
        ...     OpenItem.invoice("INV-2", "RE-2", date(2024, 2, 1), D("300")),
        ...     OpenItem.invoice("INV-1", "RE-1", date(2024, 1, 1), D("50")),
        ...     OpenItem("K1", ItemKind.COSTS, date(2024, 3, 1), D("20")),
        ...     OpenItem("Z1", ItemKind.INTEREST, date(2024, 3, 1), D("5.50"))))
        >>> result = allocate(case, D("100"))
        >>> [(a.item_id, str(a.amount)) for a in result.allocations], str(result.credit)
        ([('K1', '20'), ('Z1', '5.50'), ('INV-1', '50'), ('INV-2', '24.50')], '0.00')
    """
    work = WorkingCase(case)
    allocations, write_offs, credit = work.apply(amount, named, order, tolerance, charges)
    return Allocated(work.snapshot(), allocations, write_offs, credit)


def apply_reviewed(
    record: PaymentRecord,
    case: CaseRef,
    named: Iterable[str] = (),
    *,
    order: Sequence[ItemKind] = LEGAL_ORDER_BGB_367,
    tolerance: Decimal = _ZERO,
    charges: Decimal = _ZERO,
) -> tuple[PaymentRecord, Allocated]:
    """Apply a payment waiting in the review queue to the case a person chose (pure).

    ``record`` is the :class:`PaymentRecord` of a suggested or unmatched payment
    (its money is ``unapplied``); the result is the record as applied (so a later
    return can undo it) and the allocation.
    """
    if record.unapplied <= 0:
        raise InvalidMatchInput(f"payment {record.tx_key} has nothing unapplied to allocate")
    if record.currency != case.currency:
        raise InvalidMatchInput(
            f"payment {record.tx_key} is in {record.currency}, case {case.case_id} in {case.currency}"
        )
    result = allocate(case, record.unapplied, named, order=order, tolerance=tolerance, charges=charges)
    applied = record._replace(
        allocations=record.allocations + result.allocations,
        write_offs=record.write_offs + result.write_offs,
        credit_case_id=case.case_id if result.credit > 0 else record.credit_case_id,
        credit=record.credit + result.credit,
        unapplied=_ZERO,
    )
    return applied, result
