"""Bad input: clear errors for bad records and configuration; bad case data reported, never fatal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dunning.domain.matching.match import (
    BankTransaction,
    CreditDebit,
    EntryStatus,
    InvalidMatchInput,
    MatchConfig,
    MatchIndex,
    OpenItem,
    Rule,
    match_payments,
)
from dunning.errors import ConfigError, InputError
from tests.domain.matching.builders import D, case, credit, inv, ogm

REF = ogm(5)


def test_a_float_amount_is_refused_with_the_key() -> None:
    with pytest.raises(InvalidMatchInput, match=r"T9.*float"):
        BankTransaction("T9", 1.5, "EUR", CreditDebit.CRDT, EntryStatus.BOOK, date(2026, 1, 1))  # type: ignore[arg-type]


def test_a_negative_amount_is_refused() -> None:
    with pytest.raises(InvalidMatchInput, match="negative"):
        credit("T1", "-5.00")
    assert issubclass(InvalidMatchInput, InputError)


def test_a_bad_currency_is_refused() -> None:
    with pytest.raises(InvalidMatchInput, match="'eur'"):
        credit("T1", "5.00", currency="eur")


def test_a_negative_open_amount_is_refused_with_the_item() -> None:
    with pytest.raises(InvalidMatchInput, match="I7"):
        OpenItem.invoice("I7", "RE-7", date(2026, 1, 1), D("-1"))


def test_two_items_with_one_id_are_refused() -> None:
    with pytest.raises(InvalidMatchInput, match="C1"):
        case("C1", inv("I1", "1"), inv("I1", "2"))


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"tolerance": Decimal("-0.01")}, "matching.tolerance"),
        ({"tolerance": 0.05}, "matching.tolerance"),
        ({"invoice_number_pattern": "RE-(\\d"}, "matching.invoice_number_pattern"),
        ({"name_threshold": 1.5}, "matching.name_threshold"),
    ],
)
def test_bad_configuration_names_the_key(kwargs: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        MatchConfig(**kwargs)  # type: ignore[arg-type]


def test_a_case_given_twice_is_reported_and_not_matched() -> None:
    cases = [case("C1", inv("I1", "10"), ref=REF), case("C1", inv("I1", "99"), ref=REF)]
    result = match_payments([credit("T1", "10", ref=REF)], cases)
    assert result.problems == ("case C1: given more than once; not matched in this run",)
    assert result.matched == () and len(result.unmatched) == 1


def test_a_prebuilt_index_serves_several_runs() -> None:
    index = MatchIndex([case("C1", inv("I1", "10"), ref=REF)])
    first = match_payments([credit("T1", "4", ref=REF)], index)
    second = match_payments([credit("T2", "4", ref=REF)], index)
    assert [m.rule for m in first.matched + second.matched] == [Rule.STRUCTURED_REFERENCE] * 2
    assert len(index) == 1


def test_evidence_and_problems_hold_no_personal_data() -> None:
    iban, name = "BE71096123456769", "Sofie Maes"
    cases = [case("C1", inv("I1", "45.00"), ibans=(iban,), name=name), case("C2", inv("I2", "9"), name=name)]
    result = match_payments(
        [credit("T1", "45.00", iban=iban), credit("T2", "9", name=name), credit("T3", "1", iban=iban)], cases
    )
    text = repr(result.matched) + repr(result.suggested) + repr(result.problems)
    assert iban not in text and "Sofie" not in text and "Maes" not in text
