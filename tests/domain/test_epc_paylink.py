from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal

import pytest

from dunning.domain.epc import EpcError, EpcPayment, epc_payload, parse_epc_payload
from dunning.domain.paylink import ExpiredToken, InvalidToken, PayLinkError, make_token, pay_link, verify_token

SECRET = b"0123456789abcdef0123456789abcdef"


def payment(**changes: object) -> EpcPayment:
    base: dict[str, object] = {"name": "Atelier Nord BV", "iban": "BE68 5390 0754 7034",
                               "amount": Decimal("149.90"), "bic": "GKCCBEBB",
                               "reference": "+++123/4567/89002+++"}
    base.update(changes)
    return EpcPayment(**base)  # type: ignore[arg-type]


def test_payload_layout() -> None:
    text = epc_payload(payment())
    assert text.split("\n") == [
        "BCD", "002", "1", "SCT", "GKCCBEBB", "Atelier Nord BV", "BE68539007547034", "EUR149.90", "",
        "123456789002",
    ]
    assert not text.endswith("\n")


def test_amount_keeps_two_decimals_and_rf_goes_in_structured_field() -> None:
    text = epc_payload(payment(amount=Decimal("20"), reference="RF18 5390 0754 7034", bic=""))
    lines = text.split("\n")
    assert lines[4] == "" and lines[7] == "EUR20.00" and lines[9] == "RF18539007547034"


def test_unstructured_text_and_info() -> None:
    lines = epc_payload(payment(reference="", text="Invoice 2026-1", info="Thank you")).split("\n")
    assert lines[9] == "" and lines[10] == "Invoice 2026-1" and lines[11] == "Thank you"


def test_round_trip() -> None:
    parsed = parse_epc_payload(epc_payload(payment()))
    assert parsed.amount == Decimal("149.90") and parsed.reference == "123456789002"
    assert parsed.iban == "BE68539007547034" and parsed.name == "Atelier Nord BV"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"iban": "BE68 5390 0754 7035"}, "iban"),
        ({"iban": "US12345678901234"}, "iban"),
        ({"bic": "NOTABIC"}, "bic"),
        ({"name": "N" * 71}, "name"),
        ({"name": ""}, "name"),
        ({"amount": Decimal("0.00")}, "amount"),
        ({"amount": Decimal("1000000000.00")}, "amount"),
        ({"amount": Decimal("1.005")}, "amount"),
        ({"reference": "RF00 1234"}, "reference"),
        ({"text": "also text"}, "text"),
        ({"purpose": "gdds"}, "purpose"),
        ({"reference": "", "text": "x" * 141}, "text"),
        ({"name": "two\nlines"}, "name"),
    ],
)
def test_errors_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(EpcError) as info:
        epc_payload(payment(**changes))
    assert info.value.field == field
    assert repr(field) in str(info.value)


def test_payload_byte_limit() -> None:
    with pytest.raises(EpcError, match="331"):
        epc_payload(payment(name="É" * 70, reference="", text="é" * 140, info="ü" * 70))


def test_token_round_trip_and_expiry() -> None:
    token = make_token("C2026000123", date(2026, 12, 31), SECRET)
    assert verify_token(token, SECRET, date(2026, 12, 31)) == "C2026000123"
    with pytest.raises(ExpiredToken, match="2026-12-31"):
        verify_token(token, SECRET, date(2027, 1, 1))


def test_token_carries_only_case_id_and_expiry() -> None:
    token = make_token("C2026000123", date(2026, 12, 31), SECRET)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert raw[:-16] == b"C2026000123~20261231"
    assert len(token) <= 60


def test_tampered_or_foreign_tokens_are_refused() -> None:
    token = make_token("C1", date(2026, 12, 31), SECRET)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[1] ^= 1  # another case id, same signature
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="signature"):
        verify_token(forged, SECRET, date(2026, 1, 1))
    with pytest.raises(InvalidToken):
        verify_token(token, b"another-secret-of-32-bytes......", date(2026, 1, 1))
    with pytest.raises(InvalidToken):
        verify_token("not a token!", SECRET, date(2026, 1, 1))


def test_bad_inputs_to_make_token() -> None:
    with pytest.raises(PayLinkError, match="secret"):
        make_token("C1", date(2026, 1, 1), b"short")
    with pytest.raises(PayLinkError, match="case id"):
        make_token("Jan Peeters", date(2026, 1, 1), SECRET)


def test_pay_link() -> None:
    assert pay_link("https://pay.example.com/p/", "abc") == "https://pay.example.com/p/abc"
    assert pay_link("https://pay.example.com/p", "abc") == "https://pay.example.com/p/abc"
    with pytest.raises(PayLinkError):
        pay_link("ftp://x", "abc")
