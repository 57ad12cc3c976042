"""Bank charges taken from a payment on its way: what the payer paid beyond what the account received.

A debtor who ordered the amount asked may see banks take their charges: the entry books 99.65
where the payer instructed 100.00 (camt ``AmtDtls/InstdAmt``), and a charges record says 0.35
(``Chrgs/Rcrd``: ``Amt``, ``ChrgInclInd`` true when included in, i.e. taken from, the booked amount).
What was taken (:func:`deducted_charges`):

* with the instructed amount in the booked currency: the charges records, up to the instructed
  amount less the booked amount (the difference proves they were taken);
* else the charges records included in the booked amount (``ChrgInclInd`` true).

A difference without a charges record is not taken for charges: it is left to the tolerance.

Who bears them (``Chrgs/Rcrd/Br``, :func:`excused_charges`): ``CRED`` (the creditor), ``SHAR`` or
``SLEV`` (each side pays its own bank, so the receiving bank's charges are the creditor's), or
nothing said: the creditor. The payer paid what was asked, so the charges settle the claim with
the payment and are written off as bank charges. ``DEBT`` (the payer took every charge on): they
are not the creditor's, and the difference stays owed unless the write-off tolerance covers it.

    >>> from datetime import date
    >>> from decimal import Decimal as D
    >>> from dunning.domain.matching.model import BankCharge, BankTransaction, CreditDebit, EntryStatus
    >>> tx = BankTransaction("k", D("99.65"), "EUR", CreditDebit.CRDT, EntryStatus.BOOK, date(2026, 11, 20),
    ...                      original_amount=D("100.00"), charges=(BankCharge(D("0.35"), "EUR", True, "SHAR"),))
    >>> str(excused_charges(tx))
    '0.35'
    >>> from dataclasses import replace
    >>> str(excused_charges(replace(tx, charges=(BankCharge(D("0.35"), "EUR", True, "DEBT"),))))
    '0'
"""

from __future__ import annotations

from decimal import Decimal

from dunning.domain.matching.model import BankTransaction, CreditDebit

__all__ = ["DEBTOR_BEARS", "deducted_charges", "excused_charges"]

_ZERO = Decimal(0)
#: ``ChargeBearerType1Code`` of a payer who took every charge on
DEBTOR_BEARS = "DEBT"


def deducted_charges(tx: BankTransaction) -> Decimal:
    """What banks took from credit ``tx`` on its way, as the file records it (0 when it does not say).

    Only charges the file records count: a difference between the instructed and the booked
    amount without a charges record is not explained (a payer who sent less, a misreading) and is
    left to the tolerance.
    """
    if tx.credit_debit is not CreditDebit.CRDT or not tx.charges:
        return _ZERO
    ours = [c for c in tx.charges if c.credit_debit is not CreditDebit.CRDT and c.currency in (None, tx.currency)]
    instructed = tx.original_amount
    if instructed is not None and tx.original_currency in (None, tx.currency):
        # The instructed amount proves the charges were taken (ChrgInclInd or not); never more than the gap.
        return min(max(instructed - tx.amount, _ZERO), sum((c.amount for c in ours), _ZERO))
    return sum((c.amount for c in ours if c.included is True), _ZERO)


def excused_charges(tx: BankTransaction) -> Decimal:
    """The charges taken from ``tx`` that are the creditor's (none when the payer bears them all)."""
    if any((c.bearer or "").upper() == DEBTOR_BEARS for c in tx.charges):
        return _ZERO
    return deducted_charges(tx)
