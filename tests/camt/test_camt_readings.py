"""Readings the XSD allows and a reader easily gets wrong: RvslInd 1, Sts in the form of another version."""

from __future__ import annotations

import io

import pytest

import camt
from tests.camt.camt_helpers import NS53, camt053, entry

NS02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def _read(xml: str) -> camt.Statement:
    (statement,) = camt.read(io.BytesIO(xml.encode())).statements
    return statement


@pytest.mark.parametrize(("value", "reversal"), [("true", True), ("1", True), ("false", False), ("0", False)])
def test_rvslind_is_an_xs_boolean(value: str, reversal: bool) -> None:
    statement = _read(camt053(entry("550.47", "DBIT", extra=f"<RvslInd>{value}</RvslInd>")))
    assert statement.entries[0].reversal is reversal


def test_v08_status_code_is_read_without_a_warning() -> None:
    statement = _read(camt053(entry("10.00", status="BOOK")))  # entry() writes <Sts><Cd>
    assert statement.entries[0].status == "BOOK" and statement.warnings == ()


def test_v08_status_code_in_an_older_namespace_is_read_with_a_warning() -> None:
    statement = _read(camt053(entry("10.00", status="PDNG"), ns=NS02))
    assert statement.entries[0].status == "PDNG"
    (warning,) = statement.warnings
    assert "Sts/Cd" in warning and "version 02" in warning and warning.startswith("line ")


def test_a_bare_status_in_a_v08_file_is_read_with_a_warning() -> None:
    xml = camt053(entry("10.00").replace("<Sts><Cd>BOOK</Cd></Sts>", "<Sts>BOOK</Sts>"), ns=NS53)
    statement = _read(xml)
    assert statement.entries[0].status == "BOOK"
    assert any("bare code 'BOOK'" in w for w in statement.warnings)


def test_a_bare_status_in_a_v02_file_is_read_silently() -> None:
    statement = _read(camt053(entry("10.00").replace("<Sts><Cd>BOOK</Cd></Sts>", "<Sts>BOOK</Sts>"), ns=NS02))
    assert statement.entries[0].status == "BOOK" and statement.warnings == ()
