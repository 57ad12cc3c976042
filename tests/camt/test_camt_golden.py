"""Golden JSON (``python -m camt --json`` shape) for a selection across 052/053/054 and versions.

The goldens are never rewritten by a test run. Regenerate on purpose with ``pytest
tests/camt/test_camt_golden.py --update-goldens`` (or ``python -m tests.camt.regen_golden``) and
review the diff against the XML.
"""

from __future__ import annotations

import json

import pytest

from tests.camt.camt_helpers import GOLDEN
from tests.camt.regen_golden import GOLDEN_FILES, golden_name, render
from tests.conftest import Goldens

REGENERATE = "pytest tests/camt/test_camt_golden.py --update-goldens (or python -m tests.camt.regen_golden)"


def same_json(expected: str, actual: str) -> bool:
    return bool(json.loads(expected) == json.loads(actual))


@pytest.mark.requires_corpus
@pytest.mark.parametrize("corpus_file", GOLDEN_FILES)
def test_output_matches_golden(corpus_file: str, goldens: Goldens) -> None:
    goldens.check(GOLDEN / golden_name(corpus_file), render(corpus_file), regenerate=REGENERATE, same=same_json)


def test_golden_has_the_documented_shape() -> None:
    data = json.loads((GOLDEN / golden_name("viafintech/camt053_valid_example_v8.xml")).read_text())
    assert set(data) >= {"file", "message", "statements"}
    statement = data["statements"][0]
    assert set(statement) >= {"id", "account", "balance_check", "entries"}
    assert set(statement["account"]) >= {"iban", "other_id", "currency"}
    entry = statement["entries"][0]
    assert set(entry) >= {
        "amount", "currency", "credit_debit", "status", "reversal", "booking_date", "value_date",
        "bank_reference", "transactions",
    }  # fmt: skip
    tx = entry["transactions"][0]
    assert set(tx) >= {
        "amount", "currency", "credit_debit", "reference", "remittance", "end_to_end_id", "debtor",
        "creditor", "return_reason",
    }  # fmt: skip
    assert set(tx["debtor"]) >= {"name", "iban"}
    assert isinstance(entry["amount"], str) and isinstance(tx["amount"], str)
