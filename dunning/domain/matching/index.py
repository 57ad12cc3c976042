"""Look-up tables over the open cases, so matching never scans all cases per transaction.

Built once per set of cases (:class:`MatchIndex`):

* payment reference (canonical OGM digits / RF / other) → case ids
* invoice number (normalised) → (case id, item id)
* debtor IBAN → case ids

Built once per run, for the amounts the run asks about (:meth:`MatchIndex.amounts`):

* amount, per currency → (case id, item id), or (case id, None) for the case total

Only payments that rules 1-3 could not place ask for amounts (rule 4 suggests,
it never applies), so the amount table is made in one pass over the cases for
exactly those amounts, instead of a table of every open amount (a million
entries for a million invoices).

Case references are indexed without checking their check digits: a transaction
only matches through a reference whose own check digits hold, and an equal
reference then holds them too. Lists are sorted when read, so results never
depend on the order in which cases were given.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from operator import attrgetter

from dunning.domain.matching.model import CaseRef, ItemKind
from dunning.domain.matching.text import (
    PUNCTUATION,
    canonical_reference,
    normalize_iban,
    normalize_invoice_number,
)

__all__ = ["AmountHit", "MatchIndex", "gc_paused"]

AmountHit = tuple[str, str | None]  # (case id, item id) or (case id, None) for the case total


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while building indexes and matching.

    A run creates hundreds of thousands of small records that form no reference
    cycles, next to a live heap of millions of open items; every collection the
    allocations trigger would rescan that heap (measured: about 2× slower).
    Reference counting still frees everything; the previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class MatchIndex:
    """Indexes over a set of cases. Build it once; a run never changes it."""

    def __init__(self, cases: Iterable[CaseRef]) -> None:
        self.cases: dict[str, CaseRef] = {}
        self.by_reference: dict[str, list[str]] = {}
        self.by_invoice_number: dict[str, list[tuple[str, str]]] = {}
        self.by_iban: dict[str, list[str]] = {}
        self.problems: list[str] = []
        with gc_paused():
            self._build(cases)

    def _build(self, cases: Iterable[CaseRef]) -> None:
        duplicates: set[str] = set()
        for case in cases:
            if case.case_id in self.cases:
                duplicates.add(case.case_id)
            self.cases[case.case_id] = case
        for case_id in sorted(duplicates):
            # Which of two records is right cannot be known here: match neither.
            del self.cases[case_id]
            self.problems.append(f"case {case_id}: given more than once; not matched in this run")
        principal = ItemKind.PRINCIPAL
        by_reference, by_number, by_iban = self.by_reference, self.by_invoice_number, self.by_iban
        # dict.get + append rather than setdefault: setdefault builds a list on every call.
        for case_id, case in self.cases.items():
            if case.payment_reference:
                key = canonical_reference(case.payment_reference)[1]
                ids = by_reference.get(key)
                if ids is None:
                    by_reference[key] = [case_id]
                else:
                    ids.append(case_id)
            for other in case.other_references:  # a plan's instalment references name the case too
                key = canonical_reference(other)[1]
                ids = by_reference.get(key)
                if ids is None:
                    by_reference[key] = [case_id]
                elif case_id not in ids:
                    ids.append(case_id)
            for item in case.items:
                number = item.number
                if number and item.kind is principal:
                    # normalize_invoice_number, inlined for the common clean case (a million calls).
                    key = number.upper().translate(PUNCTUATION)
                    if not (key.isalnum() and key.isascii()):
                        key = normalize_invoice_number(number)
                    found = by_number.get(key)
                    if found is None:
                        by_number[key] = [(case_id, item.item_id)]
                    else:
                        found.append((case_id, item.item_id))
            for iban in case.debtor_ibans:
                key = normalize_iban(iban)
                ids = by_iban.get(key)
                if ids is None:
                    by_iban[key] = [case_id]
                elif case_id not in ids:
                    ids.append(case_id)

    def __len__(self) -> int:
        return len(self.cases)

    def reference(self, canonical: str) -> list[str]:
        found = self.by_reference.get(canonical)
        if not found:
            return []
        return found if len(found) == 1 else sorted(found)

    def has_reference(self, canonical: str) -> bool:
        return canonical in self.by_reference

    def invoice_number(self, normalized: str) -> list[tuple[str, str]]:
        found = self.by_invoice_number.get(normalized)
        if not found:
            return []
        return found if len(found) == 1 else sorted(found)

    def iban(self, iban: str) -> list[str]:
        found = self.by_iban.get(normalize_iban(iban))
        if not found:
            return []
        return found if len(found) == 1 else sorted(found)

    def amounts(
        self,
        wanted: Mapping[str, set[Decimal]],
        now: Mapping[str, Mapping[str, Decimal]] | None = None,
    ) -> dict[tuple[str, Decimal], list[AmountHit]]:
        """(currency, amount) → open invoices and case totals equal to one of the ``wanted`` amounts.

        ``now`` gives the open amounts of cases a run has already changed (case id
        → item id → open amount); other cases count as given. One pass over the
        cases, whatever the number of amounts asked for. Decimal keys compare by
        value (10.5 == 10.50), so amounts need no scaling.
        """
        table: dict[tuple[str, Decimal], list[AmountHit]] = {}
        if not any(wanted.values()):
            return table
        principal = ItemKind.PRINCIPAL
        zero = Decimal(0)
        changed = now or {}
        open_amount = attrgetter("open_amount")
        with gc_paused():
            for case_id, case in self.cases.items():
                currency = case.currency
                amounts = wanted.get(currency)
                if not amounts:
                    continue
                current = changed.get(case_id)
                if current is None:
                    # Two C-level passes (sum, isdisjoint) per case; a Python loop only on a hit.
                    total = sum(map(open_amount, case.items), zero)
                    if amounts.isdisjoint(map(open_amount, case.items)):
                        if total in amounts:
                            table.setdefault((currency, total), []).append((case_id, None))
                        continue
                    pairs = [(item, item.open_amount) for item in case.items]
                else:
                    total = sum(current.values(), zero)  # includes items the run added (a return fee)
                    pairs = [(item, current.get(item.item_id, zero)) for item in case.items]
                for item, amount in pairs:
                    if amount and item.kind is principal and amount in amounts:
                        table.setdefault((currency, amount), []).append((case_id, item.item_id))
                if total and total in amounts:
                    table.setdefault((currency, total), []).append((case_id, None))
        for hits in table.values():
            hits.sort(key=lambda hit: (hit[0], hit[1] or ""))
        return table
