"""Rule 3 of the matcher, ``debtor_iban``: a known payer account, and does the amount say what it pays?

The payer's IBAN names the cases of the debtor(s) who paid from it before. The
amount then decides, in this order (tolerance: the payment may be short by at
most ``MatchConfig.tolerance``):

1. it equals the **open total** of one case, or the open amount of **exactly one
   invoice** of one case → applied to that case (that invoice first);
2. otherwise it equals the **sum of two or more open invoices of one case**
   (:mod:`dunning.domain.matching.subset`) → applied to that case, those
   invoices first; when several subsets fit, the oldest invoices are chosen and
   the evidence says the choice was ambiguous (research/camt.md AC-24);
3. anything else → a *suggestion* for the review queue, with the evidence of
   every case the account belongs to.

Why (2) is applied and not only suggested: it is the same decision as (1), a
known account plus an amount that fits exactly. Research AC-25 asks to merely
suggest "IBAN + amount of one invoice"; this implementation applies it
(rule 1 above, long-standing), and a sum is treated alike so the two never
disagree. The risk is bounded: the money can only go to a case of the account's
own debtor (never to invoices of two cases or two debtors: each case is
searched alone), a sum the debtor chose is their determination under §366 (1)
BGB, and an ambiguous sum falls back to the oldest-first order of §366 (2).
A subset is applied only when the search was complete (no bound cut it short)
and only one case has a fitting subset; otherwise a person decides.

Only invoices (principal items) are summed, as rule 1 compares only invoices:
the case's costs and interest still come first when the payment is allocated
(§367 BGB), so on a case with costs the last named invoice can stay partly open.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from dunning.domain.matching.model import Candidate, Evidence, ItemKind, OpenItem
from dunning.domain.matching.subset import SubsetFit, find_subset, fits, subset_evidence

__all__ = ["IbanDecision", "decide_by_iban"]

_ZERO = Decimal(0)

CaseItems = tuple[str, Sequence[tuple[OpenItem, Decimal]]]  # a case id and its open items with amounts now


class IbanDecision(NamedTuple):
    """Apply to ``case_id`` (those ``named`` invoices first), or, when ``case_id`` is None, suggest."""

    case_id: str | None
    named: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    reason: str = ""
    candidates: tuple[Candidate, ...] = ()


def _known(case_id: str) -> Evidence:
    # The IBAN itself is never repeated in the evidence (it is personal data of the payer).
    return Evidence("debtor_iban", "known account", f"the debtor of case {case_id} paid from it before")


def decide_by_iban(amount: Decimal, cases: Sequence[CaseItems], tolerance: Decimal) -> IbanDecision:
    """Rule 3 for a payment of ``amount`` from an account known to ``cases`` (same currency; pure)."""
    totals: list[str] = []
    invoices: list[tuple[str, str]] = []
    for case_id, items in cases:
        if fits(amount, sum((open_amount for _, open_amount in items), _ZERO), tolerance):
            totals.append(case_id)
        invoices.extend(
            (case_id, item.item_id)
            for item, open_amount in items
            if item.kind is ItemKind.PRINCIPAL and fits(amount, open_amount, tolerance)
        )
    hit_cases = set(totals) | {cid for cid, _ in invoices}
    if len(hit_cases) == 1:
        case_id = next(iter(hit_cases))
        in_case = [item for cid, item in invoices if cid == case_id]
        if case_id in totals or len(in_case) == 1:
            what = f"the open total of case {case_id}" if case_id in totals else f"the open amount of {in_case[0]}"
            found = (_known(case_id), Evidence("amount", str(amount), f"equals {what}"))
            return IbanDecision(case_id, tuple(in_case), found)

    subsets: dict[str, SubsetFit] = {}
    if not hit_cases:
        # Neither a total nor one invoice: perhaps several invoices of one case.
        for case_id, items in cases:
            fit = find_subset(amount, items, tolerance)
            if fit.chosen:
                subsets[case_id] = fit
        if len(subsets) == 1:
            ((case_id, fit),) = subsets.items()
            if fit.complete:
                evidence = (_known(case_id), *subset_evidence(amount, case_id, fit))
                return IbanDecision(case_id, fit.chosen, evidence)

    # A known payer, but the amount does not say what is paid: a person decides.
    candidates = []
    for case_id, _ in cases:
        in_case = [item for cid, item in invoices if cid == case_id]
        ev = [_known(case_id)]
        if case_id in totals:
            ev.append(Evidence("amount", str(amount), "equals the open total"))
        ev.extend(Evidence("amount", str(amount), f"equals the open amount of {item}") for item in in_case)
        subset = subsets.get(case_id)
        if subset is not None:
            ev.extend(subset_evidence(amount, case_id, subset))
        score = 1.0 if (in_case or case_id in totals or subset is not None) else 0.75
        candidates.append(Candidate(case_id, in_case[0] if len(in_case) == 1 else None, score, tuple(ev)))
    if hit_cases or len(invoices) > 1:
        reason = "known debtor account; the amount fits several open items"
    elif len(subsets) > 1:
        reason = "known debtor account; the amount equals sums of invoices in several cases"
    elif subsets:
        reason = "known debtor account; the amount equals a sum of invoices, but the search was bounded"
    else:
        reason = "known debtor account; the amount fits neither the open total nor one invoice"
    return IbanDecision(None, (), (), reason, tuple(candidates))
