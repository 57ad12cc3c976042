"""Candidates for a payment whose structured reference fails its check digits.

Such a reference is never used to apply a payment (one wrong digit can name another debtor's
case), but it is not thrown away either: the case whose reference has the same body with valid
check digits, the cases of the payer's account, and the cases of a debtor whose name is like the
payer's become candidates for a person to decide in review, when the payer's account or name
confirms them. Scores: the reference's case confirmed by the payer's account 1.0 (by the name:
the name's score); the account's or the name's cases without the reference 0.8 × that.
"""

from __future__ import annotations

from collections.abc import Callable

from dunning.domain.matching.index import MatchIndex
from dunning.domain.matching.model import BankTransaction, Candidate, Evidence
from dunning.domain.matching.text import NameScorer, canonical_reference, with_valid_check_digits

__all__ = ["mistyped_reference_candidates"]


def mistyped_reference_candidates(
    tx: BankTransaction, index: MatchIndex, debtor_name: Callable[[str], str], name_threshold: float
) -> list[Candidate]:
    """The candidates for ``tx`` (empty when its reference is valid, absent, or names nobody)."""
    sref = tx.structured_ref
    if sref is None or sref.valid:
        return []
    kind, canonical = canonical_reference(sref.value)
    corrected = with_valid_check_digits(kind, canonical)
    near = set(index.reference(corrected)) if corrected else set()
    payer = set(index.iban(tx.debtor_iban)) if tx.debtor_iban else set()
    named: dict[str, float] = {}
    if tx.debtor_name:
        scorer = NameScorer(tx.debtor_name, name_threshold)
        for case_id in index.cases:  # rare (check digits fail), so a pass over the cases is affordable
            score = scorer.score_normalized(debtor_name(case_id))
            if score:
                named[case_id] = score
    candidates = []
    for case_id in sorted(near | payer | set(named)):
        evidence: list[Evidence] = []
        if case_id in near:
            evidence.append(Evidence("structured_reference", sref.value, f"with valid check digits: case {case_id}"))
        if case_id in payer:
            evidence.append(Evidence("debtor_iban", tx.debtor_iban or "", f"the payer's account pays case {case_id}"))
        if case_id in named:
            note = f"similar to the debtor of case {case_id} ({named[case_id]:.2f})"
            evidence.append(Evidence("debtor_name", "payer name", note))
        confirmed = 1.0 if case_id in payer else named.get(case_id, 0.0)
        if not confirmed:
            continue  # the reference's body alone is not enough: one wrong digit may name another debtor
        score = confirmed if case_id in near else 0.8 * confirmed
        candidates.append(Candidate(case_id, None, round(score, 3), tuple(evidence)))
    return candidates
