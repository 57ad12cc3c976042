"""Golden JSON (``python -m camt --json`` shape) for a selection across 052/053/054 and versions.

Regenerate with ``python -m tests.camt.regen_golden`` and review the diff against the XML.
"""

from __future__ import annotations

import json

import pytest

from tests.camt.camt_helpers import GOLDEN
from tests.camt.regen_golden import GOLDEN_FILES, golden_name, render


@pytest.mark.parametrize("corpus_file", GOLDEN_FILES)
def test_output_matches_golden(corpus_file: str) -> None:
    expected = (GOLDEN / golden_name(corpus_file)).read_text(encoding="utf-8")
    assert json.loads(render(corpus_file)) == json.loads(expected)


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
