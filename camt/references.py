"""Creditor references: typing and check-digit validation.

The camt package depends on lxml only, so the three check-digit rules it needs
are implemented here in a few lines each (the rest of dunning uses
python-stdnum; the tests cross-check these functions against it).

Kinds (``Reference.kind``):

``rf``
    ISO 11649 "RF" creditor reference: ``RF`` + 2 check digits + up to 21
    letters/digits, valid when the mod-97 of the rearranged number is 1.
``be-ogm``
    Belgian structured communication (OGM/VCS): 12 digits, the last two are the
    first ten mod 97 (97 when that is 0); written ``+++123/4567/89002+++``.
``ch-qrr``
    Swiss QR reference / ISR (ESR) reference: 27 digits, the last is the
    mod-10 recursive check digit of the first 26.
``scor``
    Typed as SCOR but none of the above; no check digit known.
``other``
    Proprietary or untyped reference that is none of the above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ReferenceKind = Literal["rf", "be-ogm", "ch-qrr", "scor", "other"]

_RF_SHAPE = re.compile(r"RF\d{2}[0-9A-Z]{1,21}")
_OGM_TEXT = re.compile(r"(?:\+{3}|\*{3})\s*(\d{3})\s*/?\s*(\d{4})\s*/?\s*(\d{5})\s*(?:\+{3}|\*{3})")
_RF_TEXT = re.compile(r"\bRF\d{2}(?: ?[0-9A-Z]{1,4}){1,6}\b")
_QRR_TABLE = (0, 9, 4, 6, 8, 2, 7, 1, 3, 5)
_SWISS_PROPRIETARY = {"QRR", "ISR", "ISR REFERENCE", "ESR", "ESR REFERENCE", "BVR"}


@dataclass(frozen=True, slots=True)
class Reference:
    """A structured creditor reference as found in the file, typed and checked.

    ``value`` is the compact form (no spaces, no ``+++``/``/`` decoration);
    ``raw`` is the text as in the file. ``valid`` is True/False for the kinds
    that carry a check digit (rf, be-ogm, ch-qrr) and None for scor/other.
    """

    kind: ReferenceKind
    value: str
    valid: bool | None
    raw: str
    code: str | None = None
    proprietary: str | None = None
    issuer: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "value": self.value,
            "valid": self.valid,
            "raw": self.raw,
            "code": self.code,
            "proprietary": self.proprietary,
            "issuer": self.issuer,
        }


def compact(value: str) -> str:
    """Remove spaces and OGM decoration and upper-case: ``'+++090/9337/55493+++'`` -> ``'090933755493'``."""
    return re.sub(r"[\s+*/.-]", "", value).upper()


def rf_is_valid(value: str) -> bool:
    """ISO 11649: move ``RFcc`` to the end, letters to numbers (A=10 … Z=35); valid when mod 97 == 1.

    >>> rf_is_valid("RF18 5390 0754 7034")
    True
    >>> rf_is_valid("RF19 5390 0754 7034")
    False
    """
    number = compact(value)
    if not _RF_SHAPE.fullmatch(number):
        return False
    rearranged = number[4:] + number[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def be_ogm_is_valid(value: str) -> bool:
    """Belgian OGM/VCS: 12 digits; the first 10 mod 97 (97 if 0) equal the last 2.

    >>> be_ogm_is_valid("+++090/9337/55493+++")
    True
    >>> be_ogm_is_valid("090933755494")
    False
    """
    number = compact(value)
    if len(number) != 12 or not number.isdigit():
        return False
    check = int(number[:10]) % 97 or 97
    return check == int(number[10:])


def qrr_check_digit(digits: str) -> int:
    """Swiss mod-10 recursive check digit of a digit string (ISR/ESR and QRR).

    >>> qrr_check_digit("21000000000313947143000901")
    7
    """
    carry = 0
    for ch in digits:
        carry = _QRR_TABLE[(carry + int(ch)) % 10]
    return (10 - carry) % 10


def ch_qrr_is_valid(value: str) -> bool:
    """Swiss QR reference: 27 digits, the last one the mod-10 recursive check of the first 26.

    >>> ch_qrr_is_valid("21 00000 00003 13947 14300 09017")
    True
    >>> ch_qrr_is_valid("210000000003139471430009018")
    False
    """
    number = compact(value)
    if len(number) != 27 or not number.isdigit():
        return False
    return qrr_check_digit(number[:26]) == int(number[26])


def classify(
    raw: str,
    *,
    code: str | None = None,
    proprietary: str | None = None,
    issuer: str | None = None,
) -> Reference:
    """Type and validate a CdtrRefInf reference using its Tp (Cd/Prtry/Issr) and its shape.

    >>> classify("RF18539007547034", code="SCOR", issuer="ISO").kind
    'rf'
    >>> classify("210000000003139471430009017", proprietary="QRR").valid
    True
    >>> classify("+++090/9337/55493+++").kind
    'be-ogm'
    """
    value = compact(raw)
    prop = (proprietary or "").strip().upper()
    iss = (issuer or "").strip().upper()
    kind: ReferenceKind
    valid: bool | None
    if prop in _SWISS_PROPRIETARY or (len(value) == 27 and value.isdigit()):
        kind, valid = "ch-qrr", ch_qrr_is_valid(value)
    elif value.startswith("RF") and value[2:4].isdigit():
        kind, valid = "rf", rf_is_valid(value)
    elif (
        iss == "BBA"
        or _OGM_TEXT.fullmatch(raw.strip())
        or (value.isdigit() and len(value) == 12 and be_ogm_is_valid(value))
    ):
        kind, valid = "be-ogm", be_ogm_is_valid(value)
    elif (code or "").strip().upper() == "SCOR":
        kind, valid = "scor", None
    else:
        kind, valid = "other", None
    return Reference(kind, value, valid, raw, code, proprietary, issuer)


def find_in_text(text: str) -> tuple[Reference, ...]:
    """References written into free text (Ustrd): ``+++ddd/dddd/ddddd+++`` OGMs and RF references.

    Only *valid* ones are returned: in free text a failed check digit means it
    was probably not a reference at all.

    >>> [r.value for r in find_in_text("Invoice 17 +++090/9337/55493+++ thanks")]
    ['090933755493']
    """
    found: list[Reference] = []
    for match in _OGM_TEXT.finditer(text):
        ref = classify(match.group(0))
        if ref.valid:
            found.append(ref)
    for match in _RF_TEXT.finditer(text.upper()):
        ref = classify(match.group(0))
        if ref.valid:
            found.append(ref)
    return tuple(found)
