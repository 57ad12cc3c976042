"""Each matching rule on its own, in the order the matcher tries them, with its evidence."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from dunning.domain.matching.match import (
    CaseStatus,
    MatchConfig,
    RefKind,
    Rule,
    StructuredRef,
    match_payments,
)
from tests.domain.matching.builders import D, allocated, case, credit, inv, ogm, open_amounts, outcome, rf

REF = ogm(1234567890)  # +++123/4567/89002+++
DIGITS = "123456789002"
PATTERN = MatchConfig(invoice_number_pattern=r"RE-?\d{4}")


def one_case(**kw: object) -> list:  # type: ignore[type-arg]
    return [
        case(
            "C1",
            inv("I1", "100.00", number="RE-1001"),
            inv("I2", "50.00", number="RE-1002"),
            ref=REF,
            ibans=("BE68 5390 0754 7034",),
            name="Jan Peeters",
            **kw,  # type: ignore[arg-type]
        )
    ]


# ---------------------------------------------------------------- rule 1: structured reference


def test_rule1_valid_structured_reference_settles_the_case() -> None:
    result = match_payments([credit("T1", "150.00", ref=REF)], one_case())
    (m,) = result.matched
    assert m.rule is Rule.STRUCTURED_REFERENCE and m.case_id == "C1"
    assert allocated(result, "T1") == {"I1": D("100.00"), "I2": D("50.00")}
    assert outcome(result, "C1").status is CaseStatus.PAID
    assert m.evidence[0].where == "structured_reference"
    assert "payment reference of case C1" in m.evidence[0].note


def test_rule1_partial_payment_lowers_what_is_owed_and_never_closes() -> None:
    result = match_payments([credit("T1", "30.00", ref=REF)], one_case())
    assert allocated(result, "T1") == {"I1": D("30.00")}
    assert open_amounts(result, "C1") == {"I1": D("70.00"), "I2": D("50.00")}
    assert outcome(result, "C1").status is CaseStatus.PARTIAL


def test_rule1_rf_reference() -> None:
    ref = rf("C2026000123")
    cases = [case("C1", inv("I1", "10"), ref=f"{ref[:4]} {ref[4:8]} {ref[8:]}")]
    result = match_payments([credit("T1", "10", ref=ref.lower())], cases)
    assert [m.rule for m in result.matched] == [Rule.STRUCTURED_REFERENCE]


def test_rule1_invalid_check_digits_never_match() -> None:
    # AC-17: a reference whose check digits fail goes to a person, even if it equals ours.
    bad = StructuredRef(RefKind.BE_OGM, DIGITS, valid=False)
    tx = replace(credit("T1", "150.00"), structured_ref=bad)
    result = match_payments([tx], one_case())
    assert result.matched == ()
    (u,) = result.unmatched
    assert "check digits fail" in u.evidence[0].note


def test_rule1_16_digit_bba_reference_is_invalid() -> None:
    # genkgo/camt053.v2.minimal.xml carries SCOR/BBA "4654654654654654": not a 12-digit OGM.
    result = match_payments([credit("T1", "8.85", ref="4654654654654654")], one_case())
    assert result.matched == () and len(result.unmatched) == 1


def test_rule1_reference_of_no_open_case_falls_through_to_later_rules() -> None:
    result = match_payments([credit("T1", "100.00", ref=ogm(99), text="RE-1001")], one_case(), config=PATTERN)
    (m,) = result.matched
    assert m.rule is Rule.TEXT_REFERENCE
    assert any("no open case carries it" in e.note for e in m.evidence)


def test_rule1_reference_shared_by_two_cases_is_only_suggested() -> None:
    cases = [case("C1", inv("I1", "10"), ref=REF), case("C2", inv("I2", "10"), ref=DIGITS)]
    result = match_payments([credit("T1", "10", ref=REF)], cases)
    (s,) = result.suggested
    assert s.rule is Rule.STRUCTURED_REFERENCE
    assert [c.case_id for c in s.candidates] == ["C1", "C2"]
    assert result.cases == ()


def test_rule1_beats_a_text_reference_to_another_case() -> None:
    cases = [*one_case(), case("C2", inv("I9", "150.00"), ref=ogm(777))]
    tx = credit("T1", "150.00", ref=REF, text=f"pay {ogm(777)}")
    result = match_payments([tx], cases)
    assert [(m.rule, m.case_id) for m in result.matched] == [(Rule.STRUCTURED_REFERENCE, "C1")]


def test_rule1_invoice_numbers_in_the_text_name_what_is_paid() -> None:
    result = match_payments([credit("T1", "50.00", ref=REF, text="RE-1002")], one_case(), config=PATTERN)
    assert allocated(result, "T1") == {"I2": D("50.00")}


def test_payment_in_another_currency_is_suggested_not_applied() -> None:
    result = match_payments([credit("T1", "150.00", ref=REF, currency="CHF")], one_case())
    (s,) = result.suggested
    assert "currency" in s.reason and result.cases == ()


# ---------------------------------------------------------------- rule 2: text


@pytest.mark.parametrize(
    "text",
    [
        "+++123/4567/89002+++",
        "***123/4567/89002***",
        "123/4567/89002",
        "123 4567 89002",
        "123456789002",
        "+++ 123 / 4567 / 89002 +++",
        "Mededeling 123-4567-89002 factuur",
        "/ROC/+++123/4567/89002+++ dank u",
    ],
)
def test_rule2_ogm_in_free_text(text: str) -> None:
    result = match_payments([credit("T1", "150.00", text=text)], one_case())
    (m,) = result.matched
    assert m.rule is Rule.TEXT_REFERENCE and m.case_id == "C1"
    assert m.evidence[0].where == "remittance"
    assert m.evidence[0].found in text


def test_rule2_rf_with_spaces_in_free_text() -> None:
    ref = rf("C2026000123")
    cases = [case("C1", inv("I1", "10"), ref=ref)]
    result = match_payments([credit("T1", "10", text=f"Zahlung {ref[:4]} {ref[4:8]} {ref[8:]}")], cases)
    assert [m.rule for m in result.matched] == [Rule.TEXT_REFERENCE]


def test_rule2_repaired_ogm_confirmed_by_amount_is_applied() -> None:
    ref = ogm(1234567)  # +++000/1234/567xx+++
    digits = ref.strip("+").replace("/", "")
    cases = [case("C1", inv("I1", "75.00"), ref=ref)]
    result = match_payments([credit("T1", "75.00", text=digits.lstrip("0"))], cases)
    (m,) = result.matched
    assert "leading zeros restored" in m.evidence[0].note


def test_rule2_repaired_ogm_without_confirmation_is_only_suggested() -> None:
    ref = ogm(1234567)
    digits = ref.strip("+").replace("/", "")
    cases = [case("C1", inv("I1", "75.00"), ref=ref)]
    result = match_payments([credit("T1", "12.00", text=digits.lstrip("0"))], cases)
    assert result.matched == ()
    (s,) = result.suggested
    assert s.rule is Rule.TEXT_REFERENCE and "repaired" in s.reason


def test_rule2_invoice_number_pays_that_invoice_first() -> None:
    result = match_payments([credit("T1", "50.00", text="Rechnung RE-1002")], one_case(), config=PATTERN)
    (m,) = result.matched
    assert m.rule is Rule.TEXT_REFERENCE
    assert allocated(result, "T1") == {"I2": D("50.00")}  # not the older I1
    assert "invoice number of I2" in m.evidence[0].note


def test_rule2_invoice_number_without_a_pattern() -> None:
    result = match_payments([credit("T1", "50.00", text="factuur re1002")], one_case())
    assert allocated(result, "T1") == {"I2": D("50.00")}


def test_rule2_text_naming_two_cases_is_only_suggested() -> None:
    cases = [*one_case(), case("C2", inv("I7", "20", number="RE-2001"))]
    result = match_payments([credit("T1", "70", text="RE-1002 RE-2001")], cases, config=PATTERN)
    (s,) = result.suggested
    assert [c.case_id for c in s.candidates] == ["C1", "C2"] and result.cases == ()


# ---------------------------------------------------------------- rule 3: debtor IBAN


def test_rule3_known_iban_and_the_open_total() -> None:
    result = match_payments([credit("T1", "150.00", iban="BE68539007547034")], one_case())
    (m,) = result.matched
    assert m.rule is Rule.DEBTOR_IBAN and outcome(result, "C1").status is CaseStatus.PAID
    assert [e.where for e in m.evidence] == ["debtor_iban", "amount"]
    assert all("BE68" not in e.found for e in m.evidence)  # evidence never repeats the IBAN


def test_rule3_known_iban_and_exactly_one_invoice() -> None:
    result = match_payments([credit("T1", "50.00", iban="be68 5390 0754 7034")], one_case())
    assert allocated(result, "T1") == {"I2": D("50.00")}


def test_rule3_known_iban_with_an_amount_that_fits_nothing_is_suggested() -> None:
    result = match_payments([credit("T1", "42.00", iban="BE68539007547034")], one_case())
    (s,) = result.suggested
    assert s.rule is Rule.DEBTOR_IBAN and [c.case_id for c in s.candidates] == ["C1"]
    assert result.cases == ()


def test_rule3_two_invoices_with_the_same_amount_are_suggested() -> None:
    cases = [case("C1", inv("I1", "50"), inv("I2", "50"), inv("I3", "10"), ibans=("BE68539007547034",))]
    result = match_payments([credit("T1", "50", iban="BE68539007547034")], cases)
    assert result.matched == () and len(result.suggested) == 1


def test_rule3_iban_shared_by_two_cases_picks_the_one_whose_amount_fits() -> None:
    cases = [
        case("C1", inv("I1", "80"), ibans=("BE68539007547034",)),
        case("C2", inv("I2", "55"), ibans=("BE68539007547034",)),
    ]
    result = match_payments([credit("T1", "55", iban="BE68539007547034")], cases)
    assert [(m.rule, m.case_id) for m in result.matched] == [(Rule.DEBTOR_IBAN, "C2")]


def test_rule3_within_tolerance() -> None:
    config = MatchConfig(tolerance=Decimal("0.05"))
    result = match_payments([credit("T1", "149.96", iban="BE68539007547034")], one_case(), config=config)
    (m,) = result.matched
    assert sum(w.amount for w in m.write_offs) == D("0.04")
    assert outcome(result, "C1").status is CaseStatus.PAID


# ---------------------------------------------------------------- rule 4: amount and name


def test_rule4_amount_and_similar_name_is_a_suggestion_never_applied() -> None:
    tx = credit("T1", "50.00", name="PEETERS JAN", iban="NL91ABNA0417164300")
    result = match_payments([tx], one_case())
    assert result.matched == () and result.cases == ()
    (s,) = result.suggested
    assert s.rule is Rule.AMOUNT_NAME
    (c,) = s.candidates
    assert (c.case_id, c.item_id, c.score) == ("C1", "I2", 1.0)
    assert {e.where for e in c.evidence} == {"debtor_name", "amount"}
    assert sum(r.unapplied for r in result.records) == D("50.00")


def test_rule4_fuzzy_name_with_a_typo() -> None:
    result = match_payments([credit("T1", "150.00", name="Jan Peters")], one_case())
    (s,) = result.suggested
    assert 0.85 <= s.candidates[0].score < 1.0 and s.candidates[0].item_id is None  # the open total


def test_rule4_amount_with_an_unrelated_name_stays_unmatched() -> None:
    result = match_payments([credit("T1", "50.00", name="Marie Dubois")], one_case())
    (u,) = result.unmatched
    assert "no similar name" in u.evidence[-1].note


def test_rule4_similar_name_without_the_amount_is_not_enough() -> None:
    result = match_payments([credit("T1", "33.00", name="Jan Peeters")], one_case())
    assert result.suggested == () and len(result.unmatched) == 1


def test_rule4_candidates_ranked_by_score() -> None:
    cases = [
        case("C1", inv("I1", "20"), name="Jan Peeters"),
        case("C2", inv("I2", "20"), name="Jan Peters"),
        case("C3", inv("I3", "20"), name="Marie Dubois"),
    ]
    result = match_payments([credit("T1", "20", name="Jan Peeters")], cases)
    (s,) = result.suggested
    assert [c.case_id for c in s.candidates] == ["C1", "C2"]


def test_nothing_known_is_unmatched_with_a_reason() -> None:
    result = match_payments([credit("T1", "12.34", text="gift")], one_case())
    (u,) = result.unmatched
    assert u.reason == "no rule identified a case" and u.amount == D("12.34")
    (r,) = result.records
    assert r.unapplied == D("12.34") and r.allocations == ()
