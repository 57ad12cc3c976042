"""Payment matching: which case does a bank transaction pay, and what does it settle?

Pure and explainable. :func:`match_payments` takes bank transactions, the open
cases, the keys of transactions applied before and the earlier payment records,
and returns plain data (:class:`MatchResult`). The rules, tried in this order,
first hit wins:

1. **structured_reference**: a valid structured reference (check digits hold)
   equal to a case's payment reference → applied, whatever the amount
   (a partial payment lowers what is owed; an overpayment becomes a credit).
2. **text_reference**: a case reference (OGM in any of the ways banks write it,
   RF with spaces; repaired when safe) or an invoice number in the free text,
   all pointing at one case → applied; named invoices are paid first.
3. **debtor_iban**: a known debtor IBAN and an amount equal (within the
   tolerance) to the case's open total, to exactly one open invoice, or else
   to the sum of two or more open invoices of one case (oldest first when
   several sums fit; the ambiguity is in the evidence) → applied. A known IBAN
   with any other amount → suggestion.
4. **amount_name**: an amount equal to an open invoice or case total together
   with a similar debtor name (difflib), or a similar name alone → *suggestion
   only*, never applied.

Nothing else settles anything: debits, pending or informational entries, zero
amounts and transactions already applied are *ignored* with a reason. Returns
(RtrInf) and reversals (RvslInd) undo the earlier payment they refer to (by
EndToEndId, then structured reference + amount, then debtor IBAN + amount) and
reopen what it paid.

Rules 1-3 run transaction by transaction, each seeing the allocations of the
ones before. Rule 4 (it only suggests) runs last, for the leftovers, against
the cases as the run leaves them, so one pass over the cases finds all the
amounts it needs. Results do not depend on the order of the transactions or
the cases: the run processes transactions by (booking date, credits before
undos, key) and sorts every candidate list.

This module is the entry point and re-exports the records callers use; the run
itself (its state, the order, rules 1-4 and undoing) is in ``run``.
Modules: ``model`` (the records), ``text`` (references and
invoice numbers in text, names), ``index`` (look-up tables),
``iban`` (rule 3), ``subset`` (several invoices in one
payment), ``allocation`` (legal order, partial, credit, write-off),
``history`` (finding the payment a return undoes).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from dunning.domain.matching.allocation import Allocated, allocate, apply_reviewed
from dunning.domain.matching.index import MatchIndex, gc_paused
from dunning.domain.matching.model import (
    LEGAL_ORDER_BGB_367,
    Allocation,
    BankTransaction,
    Candidate,
    CaseOutcome,
    CaseRef,
    CaseStatus,
    CreditDebit,
    EntryStatus,
    Evidence,
    Ignored,
    IgnoreReason,
    InvalidMatchInput,
    ItemKind,
    MatchConfig,
    Matched,
    MatchResult,
    OpenItem,
    PaymentRecord,
    RefKind,
    Rule,
    StructuredRef,
    Suggested,
    Undone,
    Unmatched,
    WriteOff,
)
from dunning.domain.matching.run import MatchRun
from dunning.domain.matching.text import structured_ref

__all__ = [
    "LEGAL_ORDER_BGB_367",
    "Allocated",
    "Allocation",
    "BankTransaction",
    "Candidate",
    "CaseOutcome",
    "CaseRef",
    "CaseStatus",
    "CreditDebit",
    "EntryStatus",
    "Evidence",
    "IgnoreReason",
    "Ignored",
    "InvalidMatchInput",
    "ItemKind",
    "MatchConfig",
    "MatchIndex",
    "MatchResult",
    "Matched",
    "OpenItem",
    "PaymentRecord",
    "RefKind",
    "Rule",
    "StructuredRef",
    "Suggested",
    "Undone",
    "Unmatched",
    "WriteOff",
    "allocate",
    "apply_reviewed",
    "match_payments",
    "structured_ref",
]


def match_payments(
    transactions: Iterable[BankTransaction],
    cases: MatchIndex | Iterable[CaseRef],
    *,
    config: MatchConfig | None = None,
    applied_keys: Collection[str] = frozenset(),
    history: Iterable[PaymentRecord] = (),
    undone_keys: Collection[str] = frozenset(),
) -> MatchResult:
    """Match and allocate ``transactions`` against ``cases`` (pure; no I/O, no clock).

    ``applied_keys``: keys of transactions taken into account by earlier runs;
    they are reported as ignored duplicates. ``history``: the payment records of
    earlier runs, so a return or reversal can find the payment it undoes. Pass
    a prebuilt :class:`MatchIndex` to reuse the indexes over several calls.
    ``undone_keys``: payments of ``history`` that a return or reversal already
    undid (the ``original_key`` of earlier :class:`Undone` results).
    """
    with gc_paused():
        index = cases if isinstance(cases, MatchIndex) else MatchIndex(cases)
        run = MatchRun(index, config or MatchConfig(), applied_keys, history, undone_keys)
        run.run(transactions)
        return run.result()
