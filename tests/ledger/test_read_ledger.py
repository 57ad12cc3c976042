"""Reading ledger exports: formats, detection, rejections and warnings with their lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from dunning.errors import LedgerError
from dunning.ledger import load_mapping, read_ledger
from dunning.ledger.values import detect_decimal, parse_amount, parse_country, parse_date, parse_language
from tests.ledger.messy import BROKEN_LINES, GOOD_INVOICES, write_messy


def test_messy_german_export_keeps_every_good_row_and_names_every_broken_one(tmp_path: Path) -> None:
    snapshot = read_ledger(write_messy(tmp_path / "export.csv"))
    assert snapshot.dialect["encoding"] == "cp1252"
    assert snapshot.dialect["delimiter"] == ";"
    assert snapshot.dialect["decimal"] == ","
    assert snapshot.dialect["date_format"] == "%d.%m.%Y"
    assert {row.invoice_id for row in snapshot.rows()} == GOOD_INVOICES
    rejected = {p.line: p for p in snapshot.problems if p.severity == "rejected"}
    assert set(rejected) == set(BROKEN_LINES)
    for line, column in BROKEN_LINES.items():
        assert rejected[line].column == column
        assert rejected[line].file.endswith("export.csv")
    assert "32.10.2026" in str(rejected[4]) and "dd.mm.yyyy" in str(rejected[4])
    assert "already on line 2" in rejected[9].reason
    rows = {row.invoice_id: row for row in snapshot.rows()}
    assert rows["R-2026-001"].amount == Decimal("1234.56")
    assert rows["R-2026-001"].due_date == date(2026, 9, 15)
    assert rows["R-2026-001"].name == "Müller GmbH"
    assert rows["R-2026-001"].street == "Hauptstraße 1"
    assert rows["R-2026-001"].phone == "+49301234567"
    assert rows["R-2026-001"].language == "de"
    assert rows["R-2026-008"].amount == Decimal("12345.67")
    assert rows["R-2026-008"].phone == "+32470123456"  # the row's country is the default region
    assert rows["R-2026-008"].name == "Café Zoë"
    # a bad email is a warning: the row is imported without it
    assert rows["R-2026-007"].email is None
    assert rows["R-2026-007"].country == "DE"
    assert rows["R-2026-007"].amount == Decimal("-20.00")
    warning = next(p for p in snapshot.problems if p.severity == "warning")
    assert (warning.line, warning.column, warning.value) == (8, "E-Mail", "kaputt@")
    assert snapshot.rejected_invoice_ids == {"R-2026-003", "R-2026-004", "R-2026-005", "R-2026-006", "R-2026-001"}


def test_utf8_bom_comma_and_iso_dates(tmp_path: Path) -> None:
    path = tmp_path / "odoo.csv"
    path.write_bytes(
        "\ufeffCustomer,Customer Name,Invoice Number,Due Date,Amount Due,Currency\n"
        'P-1,"Doe, Jane",INV/2026/0001,2026-10-01,"1,234.50",EUR\n'.encode()
    )
    rows = list(read_ledger(path).rows())
    assert rows[0].debtor_id == "P-1" and rows[0].name == "Doe, Jane"
    assert rows[0].amount == Decimal("1234.50")


def test_tab_separated_with_quoted_newline_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "export.tsv"
    path.write_text(
        "debtor\tname\tinvoice\tdue date\tamount\n"
        'D1\t"Two\nLines"\tI1\t01/10/2026\t10.00\n'
        "D2\tBob\tI2\t01/10/2026\toops\n",
        encoding="utf-8",
    )
    snapshot = read_ledger(path)
    assert [p.line for p in snapshot.problems] == [4]
    assert next(snapshot.rows()).due_date == date(2026, 10, 1)


def test_xlsx_and_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "Klantnummer": ["K1", "K2"],
            "Naam": ["Jan", "Piet"],
            "Factuurnummer": ["F1", "F2"],
            "Vervaldatum": [pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-02")],
            "Openstaand bedrag": [Decimal("12.30"), Decimal("7.05")],
        }
    )
    xlsx = tmp_path / "export.xlsx"
    frame.assign(**{"Openstaand bedrag": [12.3, 7.05]}).to_excel(xlsx, index=False)
    rows = list(read_ledger(xlsx).rows())
    assert [(r.invoice_id, r.amount, r.due_date, r.line) for r in rows] == [
        ("F1", Decimal("12.3"), date(2026, 10, 1), 2),
        ("F2", Decimal("7.05"), date(2026, 10, 2), 3),
    ]
    parquet = tmp_path / "export.parquet"
    frame.to_parquet(parquet)
    rows = list(read_ledger(parquet).rows())
    assert [(r.invoice_id, r.amount) for r in rows] == [("F1", Decimal("12.30")), ("F2", Decimal("7.05"))]


def test_mapping_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("a|b|c|d|e\nX1|Name|N1|10-01-2026|5,5\n", encoding="latin-1")
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(
        "columns: {debtor_id: a, name: b, invoice_id: c, due_date: d, amount: e}\n"
        "delimiter: '|'\nencoding: latin-1\ndecimal: ','\ndate_format: mm-dd-yyyy\n"
    )
    row = next(read_ledger(path, load_mapping(mapping_file)).rows())
    assert (row.due_date, row.amount) == (date(2026, 10, 1), Decimal("5.5"))


def test_missing_required_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    path.write_text("customer,name,invoice\nA,B,C\n")
    with pytest.raises(LedgerError, match=r"nope\.csv: no column found for due_date, amount"):
        read_ledger(path)


def test_mapping_file_errors_name_the_key(tmp_path: Path) -> None:
    mapping_file = tmp_path / "m.yaml"
    mapping_file.write_text("columns: {debtor: a}\n")
    with pytest.raises(LedgerError, match=r"m\.yaml: columns\.debtor: not a canonical column"):
        load_mapping(mapping_file)
    mapping_file.write_text("decimall: ','\n")
    with pytest.raises(LedgerError, match=r"m\.yaml: decimall: unknown key"):
        load_mapping(mapping_file)


@pytest.mark.parametrize(
    ("raw", "mark", "expected"),
    [
        ("1.234,56", ",", "1234.56"),
        ("1234,5", ",", "1234.5"),
        ("-12,00", ",", "-12.00"),
        ("12,50-", ",", "-12.50"),
        ("1,234,567.891", ".", "1234567.891"),
        ("(99.95)", ".", "-99.95"),
        ("€ 1 234,00", ",", "1234.00"),
        ("1'234.00", ".", "1234.00"),
        ("0.1", ".", "0.1"),
    ],
)
def test_amounts(raw: str, mark: str, expected: str) -> None:
    assert parse_amount(raw, mark) == Decimal(expected)


@pytest.mark.parametrize("raw", ["1.23.4,5", "12,34,5", "abc", "", "1,2.3"])
def test_unreadable_amounts(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(raw, ",")


def test_decimal_detection() -> None:
    assert detect_decimal(["1.234,56", "99,90", "100"]) == ","
    assert detect_decimal(["1,234.56", "99.90"]) == "."
    assert detect_decimal(["100", "200"]) == "."


def test_dates_countries_languages() -> None:
    assert parse_date("2026-01-05 00:00:00", "%d.%m.%Y") == date(2026, 1, 5)
    with pytest.raises(ValueError, match=r"dd/mm/yyyy"):
        parse_date("2026-13-01", "%d/%m/%Y")
    assert parse_country("België") == parse_country("Belgique") == parse_country("be") == "BE"
    assert parse_country("Deutschland") == "DE"
    with pytest.raises(ValueError):
        parse_country("Atlantis")
    assert parse_language("nl_BE") == "nl" and parse_language("Français") == "fr"


@pytest.mark.parametrize("long_line", [2, 3])
def test_a_row_with_more_fields_than_the_header_is_refused_wherever_it_is(tmp_path: Path, long_line: int) -> None:
    """pandas would trim the first data row silently (and take a column as index without index_col=False)."""
    rows = ["D2,Piet,I2,2026-10-01,20.00", "D3,Marie,I3,2026-10-01,30.00"]
    rows.insert(long_line - 2, "D1,Jan,I1,2026-10-01,10.00,EXTRA")
    path = tmp_path / "extra.csv"
    path.write_text("debtor_id,name,invoice_id,due_date,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    snapshot = read_ledger(path)
    assert {row.invoice_id for row in snapshot.rows()} == {"I2", "I3"}
    (problem,) = [p for p in snapshot.problems if p.severity == "rejected"]
    assert problem.line == long_line and "expected 5 fields, saw 6" in problem.reason
    assert snapshot.rejected_invoice_ids == {"I1"}  # a broken row never lets its invoice close
    lines = {row.invoice_id: row.line for row in snapshot.rows()}
    assert sorted(lines.values()) == sorted({2, 3, 4} - {long_line})
