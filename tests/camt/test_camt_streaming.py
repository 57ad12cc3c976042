"""The streaming API: event order, per-statement iteration, file objects that cannot seek."""

from __future__ import annotations

import io

import pytest

import camt
from tests.camt.camt_helpers import CORPUS, XSD_DIR, balance, camt053, entry

MULTI = CORPUS / "genkgo/camt053.v2.multi.statement.xml"


@pytest.mark.requires_corpus
def test_event_order() -> None:
    kinds = [type(event).__name__ for event in camt.iter_events(MULTI)]
    assert kinds == [
        "MessageInfo",
        "StatementHeader", "Entry", "Statement",
        "StatementHeader", "Entry", "Statement",
    ]  # fmt: skip
    statements = [e for e in camt.iter_events(MULTI) if isinstance(e, camt.Statement)]
    assert all(s.entries == () and s.entry_count == 1 for s in statements)  # streamed, not kept


@pytest.mark.requires_corpus
def test_iter_statements_and_iter_entries_agree_with_read() -> None:
    whole = camt.read(MULTI)
    assert list(camt.iter_statements(MULTI)) == list(whole.statements)
    pairs = list(camt.iter_entries(MULTI))
    assert [e for _, e in pairs] == whole.entries()
    assert [h.id for h, _ in pairs] == [s.id for s in whole.statements]


def test_header_arrives_before_the_entries_with_the_balances_known() -> None:
    xml = camt053(entry("5.00") * 3, balances=balance("OPBD", "1.00") + balance("CLBD", "16.00"))
    events = list(camt.iter_events(io.BytesIO(xml.encode())))
    assert isinstance(events[1], camt.StatementHeader) and events[1].account.iban == "BE68539007547034"
    assert isinstance(events[-1], camt.Statement) and events[-1].balance_check.status == "ok"


@pytest.mark.requires_corpus
def test_statement_without_entries_is_kept() -> None:
    (statement,) = camt.read(CORPUS / "genkgo/camt53.only-Dt-with-DtTm.xml").statements
    assert (statement.entries, statement.entry_count) == ((), 0)
    assert [b.type for b in statement.balances] == ["OPBD"]


class OneWay(io.RawIOBase):
    """A pipe-like stream: read only, no seek, no name."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 1000))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.requires_corpus
def test_non_seekable_stream() -> None:
    data = MULTI.read_bytes()
    result = camt.read(OneWay(data))  # type: ignore[arg-type]
    assert result.file == "<stream>"
    assert len(result.statements) == 2


@pytest.mark.requires_corpus
def test_read_a_file_object_with_validation() -> None:
    with (CORPUS / "viafintech/camt053_valid_example.xml").open("rb") as handle:
        result = camt.read(handle, validate=True, xsd_dir=XSD_DIR)
    assert result.validation_errors is not None and result.validation_errors[0].startswith("L62: ")
    assert len(result.entries()) == 4
    data = result.to_dict()
    assert data["schema_valid"] is False


@pytest.mark.requires_corpus
def test_validation_of_a_non_seekable_stream_is_skipped_not_broken() -> None:
    result = camt.read(OneWay(MULTI.read_bytes()), validate=True, xsd_dir=XSD_DIR)  # type: ignore[arg-type]
    assert result.validation_errors == ("stream is not seekable: not validated",)
    assert result.schema_valid is None
    assert len(result.statements) == 2
