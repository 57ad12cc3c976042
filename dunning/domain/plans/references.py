"""Every instalment its own payment reference, derived from the case's reference and its number.

So a bank transfer for instalment 2 comes back (camt.053/054) naming instalment 2, and is matched to
it without a person. The derivation is deterministic: the same case and number always give the same
reference, and the case reference is recovered from any of its instalments' references.

**Belgian structured communication** (the case reference is an OGM, ``+++ddd/dddd/ddddd+++``): the
10-digit body is ``prefix`` + two digits ``00`` + the case number; an instalment puts its number
(01 to 99) in those two digits, and the mod-97 check digits are computed again::

    >>> instalment_reference("000001239576", 2)
    '020001239544'
    >>> case_reference_of("020001239544")
    ('000001239576', 2)

This reserves the two digits after the prefix: a creditor offering plans under OGM keeps its case
numbers below 10^(8 - len(prefix)) (100 million without a prefix), or an instalment reference could
equal another case's reference; a case beyond that range is refused a plan, with the reason.

**ISO 11649 RF** (every other creditor): the body is the case's body, ``P`` and the number on two
digits, with new check digits::

    >>> instalment_reference("RF78C2026000123", 3)
    'RF19C2026000123P03'
    >>> case_reference_of("RF19C2026000123P03")
    ('RF78C2026000123', 3)
"""

from __future__ import annotations

import re

from stdnum.be import ogm_vcs
from stdnum.iso7064 import mod_97_10

from dunning.domain.plans.model import PlanError
from dunning.domain.references import InvalidReference, parse_reference

__all__ = ["MAX_INSTALMENTS", "case_reference_of", "instalment_reference"]

#: the most instalments a plan can number (two digits in the reference)
MAX_INSTALMENTS = 99
_RF_MAX_BODY = 21
_RF_INSTALMENT = re.compile(r"^(?P<body>[0-9A-Z]+)P(?P<number>\d\d)$")


def _ogm(body: str) -> str:
    return body + ogm_vcs.calc_check_digits(body)


def _rf(body: str) -> str:
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def _checked_number(number: int) -> str:
    if not 1 <= number <= MAX_INSTALMENTS:
        raise PlanError(f"instalment number {number} is not between 1 and {MAX_INSTALMENTS}")
    return f"{number:02d}"


def instalment_reference(case_reference: str, number: int, ogm_prefix: str = "") -> str:
    """The compact reference of instalment ``number`` of the case whose reference is ``case_reference``."""
    digits = _checked_number(number)
    try:
        case = parse_reference(case_reference)
    except InvalidReference as exc:
        raise PlanError(f"case reference {case_reference!r} is not valid: {exc}") from None
    if case.kind == "ogm":
        body = case.compact[:10]
        if not body.startswith(ogm_prefix):
            raise PlanError(f"case reference {case.printed} does not start with the OGM prefix {ogm_prefix!r}")
        at = len(ogm_prefix)
        if body[at : at + 2] != "00":
            raise PlanError(
                f"case reference {case.printed}: the two digits after the prefix carry the instalment "
                f"number, so a case with plans needs a number below {10 ** (8 - at):,}"
            )
        return _ogm(body[:at] + digits + body[at + 2 :])
    body = case.compact[4:]
    if len(body) + 3 > _RF_MAX_BODY:
        raise PlanError(
            f"case reference {case.printed} leaves no room for an instalment number "
            f"(an RF body holds {_RF_MAX_BODY} characters)"
        )
    return _rf(f"{body}P{digits}")


def case_reference_of(reference: str, ogm_prefix: str = "") -> tuple[str, int] | None:
    """(case reference, instalment number) when ``reference`` is an instalment's; else None."""
    try:
        parsed = parse_reference(reference)
    except InvalidReference:
        return None
    if parsed.kind == "ogm":
        body = parsed.compact[:10]
        at = len(ogm_prefix)
        if not body.startswith(ogm_prefix) or body[at : at + 2] == "00":
            return None
        return _ogm(body[:at] + "00" + body[at + 2 :]), int(body[at : at + 2])
    found = _RF_INSTALMENT.match(parsed.compact[4:])
    if found is None or found["number"] == "00":
        return None
    return _rf(found["body"]), int(found["number"])
