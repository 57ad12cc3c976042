"""A structured reference whose check digits fail: never applied, but candidates from the payer's account or name."""

from __future__ import annotations

import pytest

from dunning.domain.matching.match import RefKind, Rule, match_payments
from dunning.domain.matching.text import canonical_reference, check_digits_valid, with_valid_check_digits
from tests.domain.matching.builders import case, credit, inv, ogm, rf

REF = ogm(1234567890)
MISTYPED = REF[:-5] + ("00" if REF[-5:-3] != "00" else "11") + "+++"
CASES = [
    case("C1", inv("I1", "100.00"), ref=REF, ibans=("BE71 0961 2345 6769",), name="Jan Peeters"),
    case("C2", inv("I2", "80.00"), ref=ogm(1111111111), name="Marie Dubois"),
]


@pytest.mark.parametrize("reference", [ogm(1234567890), rf("C2026000123")])
def test_check_digits_are_recomputed_from_the_body(reference: str) -> None:
    kind, canonical = canonical_reference(reference)
    broken = canonical[:2] + "00" + canonical[4:] if kind is RefKind.RF else canonical[:10] + "00"
    assert with_valid_check_digits(kind, broken) == canonical and check_digits_valid(kind, canonical)


def test_a_known_payer_account_gives_its_case_as_a_candidate_never_a_match() -> None:
    tx = credit("T1", "30.00", ref=MISTYPED, iban="BE71096123456769")
    result = match_payments([tx], CASES)
    assert result.matched == ()
    (suggested,) = result.suggested  # rule 3 (the payer's known account) already names the case
    assert suggested.rule is Rule.DEBTOR_IBAN and suggested.candidates[0].case_id == "C1"


def test_the_payers_name_confirms_the_case_of_the_corrected_reference() -> None:
    result = match_payments([credit("T1", "30.00", ref=MISTYPED, name="Jan Peeters")], CASES)
    (suggested,) = result.suggested
    assert suggested.rule is Rule.STRUCTURED_REFERENCE and "check digits fail" in suggested.reason
    best = suggested.candidates[0]
    assert best.case_id == "C1" and best.score == 1.0
    assert any("with valid check digits" in e.note for e in best.evidence)


def test_the_payers_name_names_candidates_when_nothing_else_does() -> None:
    result = match_payments([credit("T1", "30.00", ref=MISTYPED, name="Marie Dubois")], CASES)
    (suggested,) = result.suggested
    assert "check digits fail" in suggested.reason
    assert [c.case_id for c in suggested.candidates] == ["C2"] and suggested.candidates[0].score < 1.0


def test_without_a_payer_the_reference_alone_names_nobody() -> None:
    result = match_payments([credit("T1", "30.00", ref=MISTYPED)], CASES)
    assert result.suggested == () and len(result.unmatched) == 1
