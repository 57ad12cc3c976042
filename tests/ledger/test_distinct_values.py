"""Reading by distinct value: the shortcuts give exactly what the general readers give."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from dunning.ledger import Mapping, read_ledger
from dunning.ledger.normalize import _amount_reader
from dunning.ledger.values import parse_amount
from dunning.store.bulk import _memoised

COMMA = ["1.234,56", "99,90", "0,00", "-0,00", "-20,00", "12,", "007,50", "1.234.567,891", "1234", "12,5", "0,0001"]
COMMA += ["1.23,4", "12,50-", "(12,50)", "€ 12,00", "1 234,56", "+5,00", "1,2,3", "١٢,٥٠", "abc", "12.5", "-"]
POINT = ["1,234.56", "99.90", "-0.00", "12.", ".5", "1,23.4", "12.50-", "$12", "1,234,567.891", "12345678901234.57"]


@pytest.mark.parametrize(("mark", "raw"), [(",", v) for v in COMMA] + [(".", v) for v in POINT])
def test_plain_amounts_read_as_parse_amount_reads_them(mark: str, raw: str) -> None:
    try:
        expected: Decimal | str = parse_amount(raw, mark)
    except ValueError as exc:
        expected = str(exc)
    try:
        got: Decimal | str = _amount_reader(mark)(raw)
    except ValueError as exc:
        got = str(exc)
    assert type(got) is type(expected) and str(got) == str(expected)  # same value *and* same digits kept


def test_values_that_differ_only_in_spaces_are_one_value(tmp_path: Path) -> None:
    path = tmp_path / "spaces.csv"
    path.write_text(
        "debtor_id,name,invoice_id,due_date,amount,country,phone\n"
        "D1,Ann,I1,2026-10-01,10.00,BE,0470 12 34 56\n"
        " D1 ,Ann,  I1,2026-10-01 , 10.00,BE , 0470 12 34 56\n"  # the same invoice again: a duplicate
        "D2,Bob,I2,2026-10-01,5.00,XX,0470 12 34 56\n",  # unknown country: warned, number read as Belgian
        encoding="utf-8",
    )
    snapshot = read_ledger(path)
    assert [(p.line, p.column, p.value, p.severity) for p in snapshot.problems] == [
        (3, "invoice_id", "I1", "rejected"),
        (4, "country", "XX", "warning"),
    ]
    assert "already on line 2" in snapshot.problems[0].reason
    rows = list(snapshot.rows())
    assert [(r.debtor_id, r.invoice_id, r.country, r.phone) for r in rows] == [
        ("D1", "I1", "BE", "+32470123456"),
        ("D2", "I2", None, "+32470123456"),
    ]
    assert snapshot.rejected_invoice_ids == {"I1"}


def test_one_header_may_feed_two_columns(tmp_path: Path) -> None:
    path = tmp_path / "one-amount.csv"
    path.write_text("Kunde;Name;Beleg;Fälligkeit;Betrag\nK1;Ann;B1;01.10.2026;1.234,50\n", encoding="utf-8")
    mapping = Mapping(columns={"amount": "Betrag", "original_amount": "Betrag"})
    (row,) = read_ledger(path, mapping).rows()
    assert (row.amount, row.original_amount) == (Decimal("1234.50"), Decimal("1234.50"))


def test_remembered_times_keep_their_zone() -> None:
    run = _memoised(lambda value: value.isoformat())
    noon_utc = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    same_instant = datetime(2026, 11, 2, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert noon_utc == same_instant
    assert run(noon_utc) == "2026-11-02T12:00:00+00:00"
    assert run(same_instant) == "2026-11-02T13:00:00+01:00"
    assert run(date(2026, 11, 2)) == run(date(2026, 11, 2)) == "2026-11-02"
