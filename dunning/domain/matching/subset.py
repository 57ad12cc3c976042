"""One payment for several invoices: which open invoices of one case add up to the amount?

A debtor often pays two or three invoices with one transfer and no usable
reference. When the payer's account is known (rule 3, ``debtor_iban``) and the
amount equals the sum of two or more open invoices of *one* case, that sum is
the debtor's own choice of what to pay (an implied determination, §366 (1)
BGB), so :func:`find_subset` looks for it. The rule of choice, in this order:

1. a subset whose open amounts add up to the amount exactly beats one that
   only fits within the tolerance (the payment short by at most the tolerance);
2. among those, the **oldest first** (research/camt.md AC-24; §366 (2) BGB pays
   the older debt first when the debtor did not say): invoices are ordered by
   due date (then id) and the subset containing the oldest invoice possible,
   then the next oldest possible, and so on, wins (the lexicographically
   smallest list of positions);
3. when another subset fits as well, the search says so (``alternative``), so
   the evidence can record that the choice was ambiguous.

The search is exact but bounded: only invoices (principal), only amounts that
are open and not above what the payment could pay, at most ``max_items`` of
them (the oldest), and at most ``budget`` steps. A depth-first search in the
order of rule 2 prunes a branch as soon as its sum passes the amount (plus the
tolerance) or the invoices left cannot reach it, so a few open invoices (the
usual case) take a few dozen steps, and up to 14 invoices the search always
completes (2**14 subsets fit in the budget, about 2 ms). Twenty invoices of
similar amounts can exhaust it; then ``complete`` is false, and the caller must
not apply the result automatically (a person decides).

    >>> from datetime import date
    >>> from decimal import Decimal as D
    >>> from dunning.domain.matching.model import OpenItem
    >>> items = [(OpenItem.invoice(f"I{n}", f"RE-{n}", date(2026, n, 1), D(a)), D(a))
    ...          for n, a in ((1, "30.00"), (2, "70.00"), (3, "50.00"), (4, "50.00"))]
    >>> fit = find_subset(D("100.00"), items, D(0))
    >>> fit.chosen, fit.alternative, fit.complete
    (('I1', 'I2'), ('I3', 'I4'), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from dunning.domain.matching.model import Evidence, ItemKind, OpenItem

__all__ = ["MAX_ITEMS", "NODE_BUDGET", "SubsetFit", "find_subset", "fits", "subset_evidence"]

MAX_ITEMS = 20  # invoices searched per case, at most (the oldest); 2**20 subsets before pruning
NODE_BUDGET = 20_000  # search steps per case and payment, at most (a few ms)

_ZERO = Decimal(0)


def fits(amount: Decimal, target: Decimal, tolerance: Decimal) -> bool:
    """The amount pays ``target``: equal, or short by at most the tolerance."""
    return target > 0 and target - tolerance <= amount <= target


class SubsetFit(NamedTuple):
    """What :func:`find_subset` found for one case.

    ``chosen``: item ids of the subset to pay, oldest first (empty: none fits).
    ``amounts``: their open amounts, in the same order; ``total`` their sum.
    ``alternative``: another subset that fits as well (empty: the choice is unique).
    ``complete``: every subset was considered (no bound cut the search short).
    ``searched`` / ``open_invoices``: invoices searched / open invoices that could take part.
    """

    chosen: tuple[str, ...]
    amounts: tuple[Decimal, ...]
    total: Decimal
    alternative: tuple[str, ...]
    complete: bool
    searched: int
    open_invoices: int

    @property
    def ambiguous(self) -> bool:
        return bool(self.chosen and self.alternative)


def _scale(values: Sequence[Decimal]) -> int:
    """The number of decimal places needed to write every value as an integer."""
    places = 0
    for value in values:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            places = -exponent
    return places


def find_subset(
    amount: Decimal,
    items: Sequence[tuple[OpenItem, Decimal]],
    tolerance: Decimal,
    *,
    max_items: int = MAX_ITEMS,
    budget: int = NODE_BUDGET,
) -> SubsetFit:
    """The subset of two or more open invoices of one case that ``amount`` pays (pure).

    ``items`` are the case's open items with their open amounts now (costs and
    interest are not invoices and never take part). See the module docstring
    for the rule of choice and the bounds.
    """
    upper = amount + tolerance
    # An invoice larger than the payment (plus the tolerance) can never be part of a fitting sum.
    pool = sorted(
        (item.due_date, item.item_id, open_amount)
        for item, open_amount in items
        if item.kind is ItemKind.PRINCIPAL and 0 < open_amount <= upper
    )
    n_open = len(pool)
    complete = n_open <= max_items
    pool = pool[:max_items]
    if len(pool) < 2 or amount <= 0 or sum((a for _, _, a in pool), _ZERO) < amount:
        return SubsetFit((), (), _ZERO, (), complete, len(pool), n_open)

    # Integers (in the smallest unit any value uses) keep the inner loop cheap and exact.
    factor = 10 ** _scale([amount, tolerance, *(a for _, _, a in pool)])
    values = [int(a * factor) for _, _, a in pool]
    low, high = int(amount * factor), int(upper * factor)
    n = len(values)
    rest = [0] * (n + 1)  # rest[j]: the sum of values[j:]
    for j in range(n - 1, -1, -1):
        rest[j] = rest[j + 1] + values[j]

    exact: list[tuple[int, ...]] = []  # the first exact fits found (in the order of rule 2), at most 2
    near: list[tuple[int, ...]] = []  # the first fits within the tolerance, at most 2
    steps = 0
    path: list[int] = []

    def enough() -> bool:
        # The choice is settled once an exact fit is known (it is the oldest exact one, since
        # fits are found in the order of rule 2) and one more fit shows whether it was ambiguous.
        return bool(exact) and len(exact) + len(near) >= 2

    def search(start: int, total: int) -> bool:
        """Extend ``path`` with positions from ``start`` on; False when the budget ran out."""
        nonlocal steps
        for j in range(start, n):
            if total + rest[j] < low:
                return True  # the invoices left cannot reach the amount
            steps += 1
            if steps > budget:
                return False
            now = total + values[j]
            if now > high:
                continue  # amounts are not sorted: a later, smaller invoice may still fit
            path.append(j)
            if now >= low and len(path) >= 2:
                if now == low:
                    exact.append(tuple(path))
                elif len(near) < 2:
                    near.append(tuple(path))
                if enough():
                    path.pop()
                    return True
            if now < high and not search(j + 1, now):
                path.pop()
                return False
            path.pop()
            if enough():
                return True
        return True

    finished = search(0, 0)
    complete = complete and finished
    fits_found = exact + near
    if not fits_found:
        return SubsetFit((), (), _ZERO, (), complete, n, n_open)
    best = fits_found[0]
    others = [f for f in fits_found[1:] if f != best]
    chosen = tuple(pool[j][1] for j in best)
    amounts = tuple(pool[j][2] for j in best)
    alternative = tuple(pool[j][1] for j in others[0]) if others else ()
    return SubsetFit(chosen, amounts, sum(amounts, _ZERO), alternative, complete, n, n_open)


def subset_evidence(amount: Decimal, case_id: str, fit: SubsetFit) -> list[Evidence]:
    """The explanation of a subset match: which invoices, their sum, and whether the choice was ambiguous."""
    parts = " + ".join(f"{item} {value}" for item, value in zip(fit.chosen, fit.amounts, strict=True))
    note = f"equals the sum of {len(fit.chosen)} open invoices of case {case_id}: {parts} = {fit.total}"
    if fit.total != amount:
        note += f" ({fit.total - amount} short, within the tolerance)"
    evidence = [Evidence("amount", str(amount), note)]
    if fit.alternative:
        evidence.append(
            Evidence(
                "amount",
                str(amount),
                f"ambiguous: {' + '.join(fit.alternative)} would fit as well; the oldest invoices are paid first",
            )
        )
    if not fit.complete:
        evidence.append(
            Evidence(
                "amount",
                str(amount),
                f"search bounded ({fit.searched} of {fit.open_invoices} open invoices, limited steps): "
                "other combinations were not all tried",
            )
        )
    return evidence
