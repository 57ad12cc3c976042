"""EPC QR code payload (EPC069-12, "GiroCode", "SCT QR"), built and read in Python.

The payload is 12 elements joined by LF with nothing after the last
populated one (EPC069-12 section 2)::

    BCD             service tag
    002             version (BIC optional inside the EEA)
    1               character set: 1 = UTF-8
    SCT             identification: SEPA credit transfer
    GEBABEBB        BIC (may be empty in version 002)
    Atelier Nord    beneficiary name, at most 70 characters
    BE68539007547034  IBAN, no spaces
    EUR149.90       amount, 0.01 to 999999999.99, '.' as decimal point
    GDDS            purpose code (4 letters, optional)
    RF18539007547034  structured remittance: RF, or a Belgian OGM's 12 digits
                    unstructured remittance (at most 140; never together with the structured one)
    Invoice 2026-1  beneficiary-to-originator information (at most 70, shown to the payer)

The payload is built here and never in a template, because Jinja2's
autoescape would turn ``&`` and ``'`` in a name into entities that banking
apps then show or reject. IBAN and BIC are checked with schwifty, references
with python-stdnum; every failure raises :class:`EpcError` naming the field
and the value::

    >>> p = EpcPayment(name="Atelier Nord", iban="BE68 5390 0754 7034",
    ...                amount=Decimal("149.9"), reference="+++123/4567/89002+++")
    >>> epc_payload(p).split("\\n")[4:10]
    ['', 'Atelier Nord', 'BE68539007547034', 'EUR149.90', '', '123456789002']
    >>> parse_epc_payload(epc_payload(p)).amount
    Decimal('149.90')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from dunning.domain.references import InvalidReference, parse_reference
from dunning.errors import InvalidValue

__all__ = ["MAX_PAYLOAD_BYTES", "EpcError", "EpcPayment", "epc_payload", "parse_epc_payload"]

MAX_PAYLOAD_BYTES = 331  # EPC069-12: QR version 13 at error correction level M
_MIN_AMOUNT = Decimal("0.01")
_MAX_AMOUNT = Decimal("999999999.99")
_CENT = Decimal("0.01")


class EpcError(InvalidValue):
    """An EPC QR field is invalid. ``field`` names the element (e.g. "iban", "amount")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"EPC QR field {field!r}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class EpcPayment:
    """What a banking app pre-fills from the code. Amount is in EUR (the only currency EPC QR knows).

    ``reference`` is a structured reference (RF, or a Belgian OGM in any
    printed form) and ``text`` an unstructured remittance; give at most one.
    """

    name: str
    iban: str
    amount: Decimal | None = None
    bic: str = ""
    purpose: str = ""
    reference: str = ""
    text: str = ""
    info: str = ""


def _single_line(field: str, value: str, limit: int) -> str:
    if "\n" in value or "\r" in value:
        raise EpcError(field, f"{value!r} contains a line break")
    value = value.strip()
    if len(value) > limit:
        raise EpcError(field, f"{value!r} has {len(value)} characters; at most {limit} are allowed")
    return value


def _amount(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise EpcError("amount", f"{amount!r} is not a finite Decimal")
    if amount != amount.quantize(_CENT):
        raise EpcError("amount", f"{amount} has more than 2 decimals")
    if not _MIN_AMOUNT <= amount <= _MAX_AMOUNT:
        raise EpcError("amount", f"{amount} is outside 0.01 to 999999999.99 EUR")
    return f"EUR{amount.quantize(_CENT)}"


def _structured(reference: str) -> str:
    try:
        return parse_reference(reference).compact
    except InvalidReference as exc:
        raise EpcError("reference", str(exc)) from None


def epc_payload(payment: EpcPayment) -> str:
    """The EPC069-12 version 002 payload (UTF-8, LF separated, no trailing LF)."""
    name = _single_line("name", payment.name, 70)
    if not name:
        raise EpcError("name", "the beneficiary name is empty")
    try:
        iban = IBAN(payment.iban)
    except SchwiftyException as exc:
        raise EpcError("iban", f"{payment.iban!r} is not a valid IBAN: {exc}") from None
    if not iban.in_sepa_zone:
        raise EpcError("iban", f"{iban.compact!r} is not in the SEPA zone")
    bic = ""
    if payment.bic.strip():
        try:
            bic = BIC(payment.bic).compact
        except SchwiftyException as exc:
            raise EpcError("bic", f"{payment.bic!r} is not a valid BIC: {exc}") from None
    purpose = payment.purpose.strip()
    if purpose and not re.fullmatch(r"[A-Z]{4}", purpose):
        raise EpcError("purpose", f"{purpose!r} is not a 4-letter ISO 20022 purpose code")
    if payment.reference.strip() and payment.text.strip():
        raise EpcError("text", "give a structured reference or an unstructured text, not both")
    reference = _structured(payment.reference) if payment.reference.strip() else ""
    text = _single_line("text", payment.text, 140)
    info = _single_line("info", payment.info, 70)
    elements = ["BCD", "002", "1", "SCT", bic, name, iban.compact, _amount(payment.amount), purpose,
                reference, text, info]
    while elements[-1] == "":  # nothing may follow the last populated element
        elements.pop()
    payload = "\n".join(elements)
    size = len(payload.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise EpcError("payload", f"{size} bytes; an EPC QR code holds at most {MAX_PAYLOAD_BYTES}")
    return payload


def parse_epc_payload(payload: str) -> EpcPayment:
    """Read an EPC QR payload (as decoded from a code) back into an :class:`EpcPayment`.

    Used to check printed codes against the letter's data; accepts LF or CR LF.
    """
    lines = payload.replace("\r\n", "\n").split("\n")
    if len(lines) < 7 or lines[0] != "BCD":
        raise EpcError("service tag", f"{payload[:20]!r} does not start an EPC QR payload")
    if lines[1] not in ("001", "002"):
        raise EpcError("version", f"{lines[1]!r} is neither 001 nor 002")
    if lines[3] != "SCT":
        raise EpcError("identification", f"{lines[3]!r} is not SCT")
    lines += [""] * (12 - len(lines))
    amount_text = lines[7]
    amount: Decimal | None = None
    if amount_text:
        if not re.fullmatch(r"EUR\d{1,9}(\.\d{1,2})?", amount_text):
            raise EpcError("amount", f"{amount_text!r} is not EUR followed by an amount")
        amount = Decimal(amount_text[3:]).quantize(_CENT)
    return EpcPayment(name=lines[5], iban=lines[6], amount=amount, bic=lines[4], purpose=lines[8],
                      reference=lines[9], text=lines[10], info=lines[11])
