"""Payment references: Belgian structured communication (OGM/VCS) and ISO 11649 RF.

A payment reference is printed on every letter of a case and travels in the
EPC QR code, so a bank transfer comes back (camt.053/054) carrying it and the
payment matches its case automatically. It is derived from the case number
alone, so it is **unique per case and stable across all of the case's
reminders**: the second reminder repeats the reference of the first.

Belgian structured communication (OGM/VCS, "gestructureerde mededeling"):
12 digits, the last two the check ``first 10 digits mod 97`` (0 becomes 97),
printed ``+++ddd/dddd/ddddd+++``. In an EPC QR the 12 digits go into the
structured remittance element::

    >>> ogm_from_case(1234567890).printed
    '+++123/4567/89002+++'
    >>> ogm_from_case("C-26-000123", prefix="7").compact
    '702600012393'

ISO 11649 RF creditor reference: ``RF`` + 2 check digits (ISO 7064 mod 97-10)
+ 1 to 21 letters or digits, printed in groups of four::

    >>> rf_from_case("C-2026-000123").printed
    'RF78 C202 6000 123'
    >>> parse_reference("+++123/4567/89002+++").kind
    'ogm'
    >>> parse_reference("rf18 5390 0754 7034").compact
    'RF18539007547034'

The check-digit arithmetic is python-stdnum's (``stdnum.be.ogm_vcs``,
``stdnum.iso11649``, ``stdnum.iso7064.mod_97_10``); this module only decides
how a case number becomes a reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_97_10

from dunning.errors import InvalidValue

__all__ = [
    "InvalidReference",
    "Reference",
    "ReferenceKind",
    "ogm_from_case",
    "parse_reference",
    "reference_for_case",
    "rf_from_case",
]

ReferenceKind = Literal["ogm", "rf"]

_OGM_BODY_DIGITS = 10
_RF_MAX_BODY = 21


class InvalidReference(InvalidValue):
    """A payment reference (or the case number it is made from) is not valid; names the value."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A validated payment reference.

    ``compact`` is the machine form (12 digits for an OGM, ``RF..`` without
    spaces for RF): the form that goes into the EPC QR code and that bank
    files return. ``printed`` is the form for the paper letter.
    """

    kind: ReferenceKind
    compact: str

    @property
    def printed(self) -> str:
        if self.kind == "ogm":
            return f"+++{ogm_vcs.format(self.compact)}+++"
        return str(iso11649.format(self.compact))

    def __str__(self) -> str:
        return self.printed


def _case_digits(case_number: int | str) -> str:
    if isinstance(case_number, bool):
        raise InvalidReference(f"case number {case_number!r} is not a number or a string")
    if isinstance(case_number, int):
        if case_number < 0:
            raise InvalidReference(f"case number {case_number!r} is negative")
        return str(case_number)
    digits = re.sub(r"\D", "", case_number)
    if not digits:
        raise InvalidReference(f"case number {case_number!r} has no digits for a structured communication")
    return digits


def ogm_from_case(case_number: int | str, prefix: str = "") -> Reference:
    """Belgian structured communication for a case.

    The body is ``prefix`` followed by the digits of the case number, zero
    padded to 10 digits; the check digits are stdnum's. Letters and
    separators in a string case number are dropped ("C-2026-000123" gives
    "2026000123"), so two case numbers that differ only in letters would
    collide: use a numeric case sequence for OGM creditors. A body longer
    than 10 digits is refused rather than truncated (truncation would make
    two cases share a reference).
    """
    if prefix and not prefix.isdigit():
        raise InvalidReference(f"OGM prefix {prefix!r} must be digits")
    digits = _case_digits(case_number)
    body = prefix + digits.zfill(_OGM_BODY_DIGITS - len(prefix))
    if len(body) > _OGM_BODY_DIGITS:
        raise InvalidReference(
            f"case number {case_number!r} with prefix {prefix!r} needs {len(body)} digits; "
            f"a structured communication holds {_OGM_BODY_DIGITS}"
        )
    return Reference("ogm", body + ogm_vcs.calc_check_digits(body))


def rf_from_case(case_number: int | str) -> Reference:
    """ISO 11649 RF reference for a case: ``RF`` + check digits + the case number's letters and digits.

    Separators are dropped and letters upper-cased ("c-2026/7" gives body
    "C20267"); the body keeps letters, so distinct case numbers stay distinct
    unless they differ only in separators or case.
    """
    if isinstance(case_number, bool):
        raise InvalidReference(f"case number {case_number!r} is not a number or a string")
    body = re.sub(r"[^0-9A-Za-z]", "", str(case_number)).upper()
    if not body:
        raise InvalidReference(f"case number {case_number!r} has no letters or digits for an RF reference")
    if len(body) > _RF_MAX_BODY:
        raise InvalidReference(
            f"case number {case_number!r} gives {len(body)} characters; an RF reference holds {_RF_MAX_BODY}"
        )
    check = mod_97_10.calc_check_digits(body + "RF")
    return Reference("rf", f"RF{check}{body}")


def reference_for_case(case_number: int | str, kind: ReferenceKind, ogm_prefix: str = "") -> Reference:
    """The case's reference of the creditor's chosen ``kind`` ("ogm" for Belgian creditors, else "rf")."""
    if kind == "ogm":
        return ogm_from_case(case_number, ogm_prefix)
    if kind == "rf":
        return rf_from_case(case_number)
    raise InvalidReference(f"reference kind {kind!r} is neither 'ogm' nor 'rf'")


def parse_reference(value: str) -> Reference:
    """Validate a reference as typed, printed or returned by a bank, and return it compacted.

    Accepts ``+++123/4567/89002+++``, ``123/4567/89002``, ``123456789002``,
    ``RF18 5390 0754 7034``, lower case and stray spaces.
    """
    text = value.strip()
    if not text:
        raise InvalidReference("empty payment reference")
    if text[:2].upper() == "RF":
        try:
            return Reference("rf", str(iso11649.validate(text)))
        except ValidationError as exc:
            raise InvalidReference(f"{value!r} is not a valid ISO 11649 RF reference: {exc}") from None
    candidate = text.strip("+*").strip()
    try:
        return Reference("ogm", str(ogm_vcs.validate(candidate)))
    except ValidationError as exc:
        raise InvalidReference(f"{value!r} is not a valid Belgian structured communication: {exc}") from None
