"""Finding references and invoice numbers in free text: the ways banks and debtors write them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649
from stdnum.be import ogm_vcs

from dunning.domain.matching.match import RefKind, structured_ref
from dunning.domain.matching.text import (
    NameScorer,
    find_invoice_numbers,
    find_references,
    name_similarity,
    normalize_name,
    normalize_reference,
)
from tests.domain.matching.builders import ogm, ogm_digits, rf

OGM = ogm(1080681718)  # +++108/0681/71840+++ style, digits below
DIGITS = OGM.strip("+").replace("/", "")
A, B, C = DIGITS[:3], DIGITS[3:7], DIGITS[7:]


@pytest.mark.parametrize(
    "text",
    [
        f"+++{A}/{B}/{C}+++",
        f"***{A}/{B}/{C}***",
        f"{A}/{B}/{C}",
        f"{A} {B} {C}",
        f"{DIGITS}",
        f"+++ {A} / {B} / {C} +++",
        f"Mededeling: +++{A}/{B}/{C}+++ factuur maart",
        f"OGM{DIGITS}",  # glued to a word
        f"{A}-{B}-{C}",
        f"{A}.{B}.{C}",
        f"+++{A}/{B}/\n{C}+++",  # remittance lines joined with a newline
        f"/ROC/+++{A}/{B}/{C}+++/",
        f"{A}{B} {C}",  # a stray space
    ],
)
def test_ogm_found_however_it_is_written(text: str) -> None:
    found = find_references(text)
    assert [(r.kind, r.value, r.repair) for r in found] == [(RefKind.BE_OGM, DIGITS, None)]


def test_ogm_with_leading_zeros_dropped_is_repaired() -> None:
    digits = ogm_digits(1234567)  # 0001234567 + check: 3 leading zeros
    assert digits.startswith("000")
    found = find_references(f"betaling {digits.lstrip('0')} dank u")
    assert [(r.value, r.repair) for r in found] == [(digits, "leading zeros restored")]


def test_short_numbers_are_not_taken_for_a_zero_stripped_ogm() -> None:
    digits = ogm_digits(12345)  # 00000 12345 + check: only 7 significant digits
    short = digits.lstrip("0")
    assert len(short) == 7
    assert [r.value for r in find_references(short)] == [digits]
    tiny = ogm_digits(123).lstrip("0")  # 5 digits: a house number, a date, anything
    assert find_references(f"Kerkstraat {tiny}") == []


def test_ogm_with_bad_check_digits_is_not_found() -> None:
    bad = DIGITS[:10] + f"{(int(DIGITS[10:]) % 97) + 1:02d}"
    assert not ogm_vcs.is_valid(bad)
    assert find_references(f"+++{bad[:3]}/{bad[3:7]}/{bad[7:]}+++") == []


def test_digits_inside_a_longer_number_are_not_an_ogm() -> None:
    # 16 digits (the genkgo "BBA" reference): no 12-digit OGM hides inside it.
    assert find_references("4654654654654654") == []
    assert find_references(DIGITS + "7") == []


@pytest.mark.parametrize(
    "text",
    [
        "RF18 5390 0754 7034",
        "RF18539007547034",
        "rf18 5390 0754 7034",
        "Ref: RF18 5390 0754 7034 Rechnung 44",
        "r f 18 5390 0754 7034",
        "RF18  5390  0754 7034.",
    ],
)
def test_rf_found_with_spaces_and_any_case(text: str) -> None:
    found = find_references(text)
    assert [(r.kind, r.value) for r in found] == [(RefKind.RF, "RF18539007547034")]


def test_rf_with_letters_and_next_word_glued_on() -> None:
    ref = rf("C2026000123")
    found = find_references(f"Zahlung {ref[:8]} {ref[8:]} INVOICE")
    assert [r.value for r in found] == [ref]


def test_rf_with_bad_check_digits_is_not_found() -> None:
    # From moov/FI_camt_053_sample.xml.xml: an FFFS sample reference that fails mod 97-10.
    assert not iso11649.is_valid("RF98123456789012")
    assert find_references("RF98123456789012") == []
    assert find_references("RF98 1234 5678 9012") == []


def test_accept_filter_runs_before_validation() -> None:
    seen: list[str] = []

    def accept(value: str) -> bool:
        seen.append(value)
        return False

    assert find_references(f"{OGM} RF18 5390 0754 7034", accept) == []
    assert DIGITS in seen and "RF18539007547034" in seen


def test_several_references_in_one_text_in_order() -> None:
    other = ogm(42)
    found = find_references(f"{OGM} en {other}")
    assert [r.value for r in found] == [DIGITS, other.strip("+").replace("/", "")]


@pytest.mark.parametrize(
    ("value", "kind", "canonical", "valid"),
    [
        ("+++123/4567/89002+++", RefKind.BE_OGM, "123456789002", True),
        ("123456789002", RefKind.BE_OGM, "123456789002", True),
        ("123/4567/89003", RefKind.BE_OGM, "123456789003", False),
        ("rf18 5390 0754 7034", RefKind.RF, "RF18539007547034", True),
        ("RF17 5390 0754 7034", RefKind.RF, "RF17539007547034", False),
        ("210000000003139471430009017", RefKind.OTHER, "210000000003139471430009017", True),
    ],
)
def test_normalize_reference(value: str, kind: RefKind, canonical: str, valid: bool) -> None:
    assert normalize_reference(value) == (kind, canonical, valid)
    assert structured_ref(value).valid is valid


@given(st.integers(min_value=1, max_value=9_999_999_999))
def test_every_issued_ogm_is_found_in_every_printed_form(n: int) -> None:
    printed = ogm(n)
    digits = printed.strip("+").replace("/", "")
    for text in (printed, printed.replace("+", "*"), digits, f"{digits[:3]} {digits[3:7]} {digits[7:]}"):
        assert digits in [r.value for r in find_references(f"x {text} y")]


@given(st.text(alphabet="0123456789 /+*-.RFrfABC", max_size=60))
def test_whatever_is_found_validates(text: str) -> None:
    for ref in find_references(text):
        if ref.kind is RefKind.BE_OGM:
            assert ogm_vcs.is_valid(ref.value)
        else:
            assert iso11649.is_valid(ref.value)


def test_invoice_numbers_with_the_creditors_pattern() -> None:
    pattern = re.compile(r"RE[- ]?\d{4}", re.IGNORECASE)
    text = "Rechnungen RE-1001, re 1002 und RE1003; Kunde 4711"
    assert [n for n, _ in find_invoice_numbers(text, pattern)] == ["RE1001", "RE1002", "RE1003"]


def test_invoice_numbers_with_a_named_group() -> None:
    pattern = re.compile(r"(?:invoice|factuur)\s*(?P<number>\d{6})", re.IGNORECASE)
    assert find_invoice_numbers("Factuur 202601 en invoice 202602", pattern) == [
        ("202601", "202601"),
        ("202602", "202602"),
    ]


def test_invoice_numbers_without_a_pattern_are_words_with_a_digit() -> None:
    found = [n for n, _ in find_invoice_numbers("Betaling RE-1001 en 2024/17, dank u", None)]
    assert found == ["RE1001", "202417"]


def test_names_normalised_for_comparison() -> None:
    assert normalize_name("Peeters, Jan") == normalize_name("JAN PEETERS")
    assert normalize_name("Müller GmbH & Co. KG") == "muller"
    assert normalize_name("Šiaulių bankas") == "bankas siauliu"
    assert name_similarity("Jan Peeters", "PEETERS JAN") == 1.0
    assert name_similarity("Jan Peeters", "Jan Peters") > 0.85
    assert name_similarity("Jan Peeters", "Marie Dubois") < 0.5


@given(st.text(max_size=30), st.text(max_size=30), st.floats(min_value=0.05, max_value=1.0))
def test_name_scorer_agrees_with_name_similarity_above_its_threshold(a: str, b: str, threshold: float) -> None:
    exact = name_similarity(a, b)
    fast = NameScorer(a, threshold).score(b)
    assert fast == (exact if exact >= threshold else 0.0)
