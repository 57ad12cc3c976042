from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649
from stdnum.be import ogm_vcs

from dunning.domain.references import (
    InvalidReference,
    ogm_from_case,
    parse_reference,
    reference_for_case,
    rf_from_case,
)
from dunning.errors import DunningError


def test_ogm_example_from_the_research() -> None:
    ref = ogm_from_case(1234567890)
    assert ref.compact == "123456789002"
    assert ref.printed == "+++123/4567/89002+++"


def test_ogm_check_zero_becomes_97() -> None:
    # 97 * 12345 leaves remainder 0, which the Belgian rule turns into 97
    ref = ogm_from_case(97 * 12345)
    assert ref.compact.endswith("97")
    assert ogm_vcs.is_valid(ref.compact)


def test_ogm_prefix_and_padding() -> None:
    assert ogm_from_case(42, prefix="9").compact[:10] == "9000000042"


def test_ogm_refuses_a_case_number_that_does_not_fit() -> None:
    with pytest.raises(InvalidReference, match="12345678901"):
        ogm_from_case(12345678901)
    with pytest.raises(InvalidReference, match="prefix"):
        ogm_from_case(1, prefix="x")


def test_rf_example_and_grouping() -> None:
    ref = rf_from_case("539007547034")
    assert ref.compact == "RF18539007547034"
    assert ref.printed == "RF18 5390 0754 7034"


def test_rf_keeps_letters_and_drops_separators() -> None:
    ref = rf_from_case("c-2026/7")
    assert ref.compact[4:] == "C20267"
    assert iso11649.is_valid(ref.compact)


def test_rf_refuses_too_long_or_empty() -> None:
    with pytest.raises(InvalidReference, match="22 characters"):
        rf_from_case("X" * 22)
    with pytest.raises(InvalidReference):
        rf_from_case("---")


def test_reference_is_stable_across_reminders() -> None:
    first = reference_for_case("C2026000123", "rf")
    second = reference_for_case("C2026000123", "rf")
    assert first == second
    assert reference_for_case(2026000123, "ogm") == reference_for_case("2026000123", "ogm")


def test_parse_accepts_printed_forms() -> None:
    assert parse_reference("+++123/4567/89002+++").compact == "123456789002"
    assert parse_reference("123/4567/89002").kind == "ogm"
    assert parse_reference(" rf18 5390 0754 7034 ").compact == "RF18539007547034"


@pytest.mark.parametrize("bad", ["+++123/4567/89003+++", "RF19539007547034", "", "hello"])
def test_parse_refuses_bad_references_naming_the_value(bad: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference(bad)
    assert isinstance(info.value, DunningError)
    if bad:
        assert repr(bad) in str(info.value)


@given(st.integers(min_value=0, max_value=9_999_999_999))
def test_every_ogm_validates_and_round_trips(case: int) -> None:
    ref = ogm_from_case(case)
    assert ogm_vcs.is_valid(ref.compact)
    assert parse_reference(ref.printed) == ref


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=21).filter(
    lambda s: any(c != "-" for c in s)))
def test_every_rf_validates_and_round_trips(case: str) -> None:
    ref = rf_from_case(case)
    assert iso11649.is_valid(ref.compact)
    assert parse_reference(ref.printed) == ref


def test_distinct_cases_get_distinct_references() -> None:
    refs = {ogm_from_case(n).compact for n in range(1, 2000)}
    assert len(refs) == 1999
