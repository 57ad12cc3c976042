"""A payment provider's payout on the bank statement: a settlement, never a debtor's payment.

Payments made online were booked when the provider confirmed each one
(:mod:`dunning.usecases.reconcile.online`). Days later the provider transfers the sum, less its fees,
to the creditor's account in one movement ("STRIPE PAYOUT po_1Q..."). Matching that line to a
debtor would book the same money twice, so a line whose payer name or remittance text holds one of
``paypage.provider.settlement_text`` (case-insensitive) is left out of matching: recorded as
``ignored`` with the reason "provider settlement" and the payout id when the text carries one
(``po_...``), shown in the reconcile report, and never sent to the review queue. A line with a valid
structured reference is a debtor's own transfer (a debtor named "Stripes BV" pays like anyone else): a
payout carries none.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from dunning.bank.read import BankLine
from dunning.workspace import Workspace

__all__ = ["mark_settlements", "settlement_reason"]

_PAYOUT_ID = re.compile(r"\bpo_[A-Za-z0-9]+")


def settlement_reason(line: BankLine, names: Sequence[str]) -> str | None:
    """Why ``line`` is a provider's settlement (its text names one of ``names``), or None.

    >>> from datetime import date
    >>> from decimal import Decimal
    >>> from dunning.domain.matching.match import BankTransaction, CreditDebit, EntryStatus
    >>> tx = BankTransaction("k", Decimal("96.60"), "EUR", CreditDebit.CRDT, EntryStatus.BOOK, date(2026, 11, 9),
    ...                      remittance="STRIPE PAYOUT po_1QabC", debtor_name="Stripe Technology Europe")
    >>> settlement_reason(BankLine(tx, (), "BE68", None, None, None, 1), ["stripe"])
    'provider settlement: payout po_1QabC (stripe); its payments were booked when the provider confirmed them'
    >>> settlement_reason(BankLine(tx, (), "BE68", None, None, None, 1), ["mollie"]) is None
    True
    >>> from dunning.domain.matching.text import structured_ref
    >>> own = dataclasses.replace(tx, structured_ref=structured_ref("RF18539007547034"), debtor_name="Stripes BV")
    >>> settlement_reason(BankLine(own, (), "BE68", None, None, None, 1), ["stripe"]) is None
    True
    """
    if line.tx.structured_ref is not None and line.tx.structured_ref.valid:
        return None
    text = f"{line.tx.remittance} {line.tx.debtor_name or ''}"
    folded = text.casefold()
    name = next((n for n in names if n.strip() and n.strip().casefold() in folded), None)
    if name is None:
        return None
    payout = _PAYOUT_ID.search(text)
    what = f"payout {payout.group(0)} ({name.strip()})" if payout else f"payout ({name.strip()})"
    return f"provider settlement: {what}; its payments were booked when the provider confirmed them"


def mark_settlements(lines: Sequence[BankLine], workspace: Workspace) -> list[BankLine]:
    """``lines`` with each provider settlement set to be skipped (no provider configured: unchanged)."""
    config = workspace.config.paypage.provider
    if config.kind == "none":
        return list(lines)
    out = []
    for line in lines:
        reason = settlement_reason(line, config.settlement_text) if line.skip is None else None
        out.append(dataclasses.replace(line, skip=reason, review=None) if reason else line)
    return out
