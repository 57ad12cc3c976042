"""Earlier payments, looked up by what a return or reversal carries.

A return (camt ``RtrInf``) or a reversal (``RvslInd``) names the payment it
undoes only indirectly. :class:`PaymentHistory` finds it, trying in turn:

1. the EndToEndId (never ``NOTPROVIDED``: research/camt.md P16);
2. the structured reference and the amount (a return's original amount,
   camt ``InstdAmt``, when the bank added its fee);
3. the payer's IBAN and the amount.

Among several alike (the same payer paid the same amount twice), the latest
one not undone yet is taken; each payment is undone at most once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable

from dunning.domain.matching.model import BankTransaction, PaymentRecord, Rule
from dunning.domain.matching.text import canonical_reference, normalize_iban

__all__ = ["PaymentHistory"]


class PaymentHistory:
    """The payment records of earlier runs and of this one, indexed for undoing."""

    def __init__(self, records: Iterable[PaymentRecord] = (), undone_keys: Collection[str] = ()) -> None:
        self.undone: set[str] = set(undone_keys)
        self._by_e2e: dict[str, list[PaymentRecord]] = defaultdict(list)
        self._by_ref: dict[str, list[PaymentRecord]] = defaultdict(list)
        self._by_iban: dict[str, list[PaymentRecord]] = defaultdict(list)
        for record in records:
            self.add(record)

    def add(self, record: PaymentRecord) -> None:
        if record.end_to_end_id:
            self._by_e2e[record.end_to_end_id].append(record)
        if record.reference:
            self._by_ref[record.reference].append(record)
        if record.debtor_iban:
            self._by_iban[normalize_iban(record.debtor_iban)].append(record)

    def find_original(self, tx: BankTransaction, rule: Rule) -> tuple[PaymentRecord | None, str]:
        """The payment ``tx`` undoes and how it was found, or (None, "")."""
        target = tx.original_amount if rule is Rule.RETURN and tx.original_amount else tx.amount

        def usable(records: Iterable[PaymentRecord], need_amount: bool) -> list[PaymentRecord]:
            return [
                r
                for r in records
                if r.tx_key not in self.undone
                and r.currency == tx.currency
                and r.booking_date <= tx.booking_date
                and (r.amount == target if need_amount else r.amount <= tx.amount)
            ]

        found: list[PaymentRecord] = []
        how = ""
        if tx.end_to_end:
            found, how = usable(self._by_e2e.get(tx.end_to_end, ()), False), "EndToEndId"
        if not found and tx.structured_ref is not None and tx.structured_ref.valid:
            canonical = canonical_reference(tx.structured_ref.value)[1]
            found, how = usable(self._by_ref.get(canonical, ()), True), "reference and amount"
        if not found and tx.debtor_iban:
            found, how = usable(self._by_iban.get(normalize_iban(tx.debtor_iban), ()), True), "IBAN and amount"
        if not found:
            return None, ""
        return max(found, key=lambda r: (r.booking_date, r.tx_key)), how

    def mark_undone(self, record: PaymentRecord) -> None:
        self.undone.add(record.tx_key)
