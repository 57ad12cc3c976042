"""Instalment references: valid (mod 97), deterministic, distinct from every case reference, reversible."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649
from stdnum.be import ogm_vcs

from dunning.domain.plans.model import PlanError
from dunning.domain.plans.references import case_reference_of, instalment_reference
from dunning.domain.references import ogm_from_case, parse_reference, rf_from_case

numbers = st.integers(min_value=1, max_value=99)


@given(st.integers(min_value=0, max_value=10**8 - 1), numbers)
def test_ogm_instalment_references_are_valid_and_never_a_case_reference(case: int, number: int) -> None:
    case_ref = ogm_from_case(case).compact
    ref = instalment_reference(case_ref, number)
    assert ogm_vcs.is_valid(ref)  # stdnum's own mod-97 check
    assert ref == instalment_reference(case_ref, number)  # deterministic
    assert case_reference_of(ref) == (case_ref, number)
    # a case reference below 10^8 has "00" where an instalment has its number: they cannot be equal
    assert case_reference_of(case_ref) is None
    assert parse_reference(f"+++{ogm_vcs.format(ref)}+++").compact == ref


@given(st.integers(min_value=0, max_value=10**7 - 1), numbers)
def test_ogm_prefix_is_kept(case: int, number: int) -> None:
    case_ref = ogm_from_case(case, prefix="7").compact
    ref = instalment_reference(case_ref, number, ogm_prefix="7")
    assert ref.startswith("7") and ogm_vcs.is_valid(ref)
    assert case_reference_of(ref, ogm_prefix="7") == (case_ref, number)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/", min_size=1, max_size=22), numbers)
def test_rf_instalment_references_are_valid_and_reversible(case: str, number: int) -> None:
    body = "".join(c for c in case if c.isalnum())
    if not body or len(body) > 21:
        return
    case_ref = rf_from_case(case).compact
    if len(body) > 18:
        with pytest.raises(PlanError, match="no room for an instalment number"):
            instalment_reference(case_ref, number)
        return
    ref = instalment_reference(case_ref, number)
    assert iso11649.is_valid(ref) and ref != case_ref
    assert case_reference_of(ref) == (case_ref, number)


def test_distinct_instalments_and_cases_give_distinct_references() -> None:
    refs = {instalment_reference(ogm_from_case(case).compact, n) for case in range(200) for n in range(1, 25)}
    cases = {ogm_from_case(case).compact for case in range(200)}
    assert len(refs) == 200 * 24 and not refs & cases


def test_a_case_number_too_large_for_plans_is_refused_with_the_reason() -> None:
    with pytest.raises(PlanError, match="needs a number below 100,000,000"):
        instalment_reference(ogm_from_case(123456789).compact, 1)
    with pytest.raises(PlanError, match="between 1 and 99"):
        instalment_reference(ogm_from_case(1).compact, 100)
    with pytest.raises(PlanError, match="is not valid"):
        instalment_reference("+++000/0000/00000+++", 1)
