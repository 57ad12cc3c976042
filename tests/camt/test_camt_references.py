"""RF / Belgian OGM / Swiss QRR check digits, cross-checked against python-stdnum (used by the rest of dunning)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.ch import esr

from camt.references import (
    be_ogm_is_valid,
    ch_qrr_is_valid,
    classify,
    compact,
    find_in_text,
    qrr_check_digit,
    rf_is_valid,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=30)
alnum = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=21)


@given(alnum, st.integers(0, 99))
def test_rf_agrees_with_stdnum(body: str, check: int) -> None:
    candidate = f"RF{check:02d}{body}"
    assert rf_is_valid(candidate) == iso11649.is_valid(candidate)


@given(alnum)
def test_every_rf_built_by_stdnum_is_valid(body: str) -> None:
    check = iso11649.calc_check_digits(body) if hasattr(iso11649, "calc_check_digits") else None
    if check is None:  # stdnum < 1.20 had no helper: compute through the mod-97 rule
        number = int("".join(str(int(c, 36)) for c in body + "RF00"))
        check = f"{98 - number % 97:02d}"
    assert rf_is_valid(f"RF{check}{body}")


@given(digits)
def test_ogm_agrees_with_stdnum(number: str) -> None:
    assert be_ogm_is_valid(number) == ogm_vcs.is_valid(number)


@given(st.text(alphabet="0123456789", min_size=26, max_size=26))
def test_qrr_agrees_with_stdnum(body: str) -> None:
    assert str(qrr_check_digit(body)) == esr.calc_check_digit(body)
    assert ch_qrr_is_valid(body + esr.calc_check_digit(body))
    assert not ch_qrr_is_valid(body + str((qrr_check_digit(body) + 1) % 10))


@pytest.mark.parametrize(
    ("raw", "kwargs", "kind", "valid"),
    [
        ("RF18 5390 0754 7034", {"code": "SCOR", "issuer": "ISO"}, "rf", True),
        ("RF19539007547034", {"code": "SCOR"}, "rf", False),
        ("+++090/9337/55493+++", {}, "be-ogm", True),
        ("090933755493", {"code": "SCOR"}, "be-ogm", True),
        ("090933755494", {"code": "SCOR", "issuer": "BBA"}, "be-ogm", False),
        ("4654654654654654", {"code": "SCOR", "issuer": "BBA"}, "be-ogm", False),
        ("210000000003139471430009017", {"proprietary": "QRR"}, "ch-qrr", True),
        ("12 34567 89012 34567 89012 34568", {}, "ch-qrr", False),
        ("3900", {"code": "SCOR"}, "scor", None),
        ("INV-2026-001", {}, "other", None),
    ],
)
def test_classify(raw: str, kwargs: dict[str, str], kind: str, valid: bool | None) -> None:
    ref = classify(raw, **kwargs)
    assert (ref.kind, ref.valid, ref.raw) == (kind, valid, raw)
    assert ref.value == compact(raw)


def test_find_in_text_only_returns_valid_references() -> None:
    text = "Pay +++090/9337/55493+++ or rf18 5390 0754 7034; not +++090/9337/55494+++ nor RF19539007547034"
    assert [(r.kind, r.value) for r in find_in_text(text)] == [("be-ogm", "090933755493"), ("rf", "RF18539007547034")]


def test_docstring_examples() -> None:
    import doctest

    import camt.references

    assert doctest.testmod(camt.references).failed == 0
