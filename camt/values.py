"""Elements' names and paths, and the values read out of them: amounts, counts, refused values.

A value that cannot be read raises :class:`BadValue`, which the reader turns into a
:class:`camt.model.Problem` for the statement; the value is quoted cut short (a 10 MB amount is
not repeated in full).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

Element = Any  # lxml ships no type information

#: an xs:decimal amount as text (surrounding blanks and a leading ``+`` allowed)
AMOUNT = re.compile(r"\s*\+?([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*")


class BadValue(Exception):
    """A value in one record cannot be read; becomes a Problem, never stops the file."""

    def __init__(self, message: str, element: Element, value: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.line: int | None = element.sourceline if element is not None else None
        self.element = element
        self.value = value


def local_name(element: Element) -> str:
    tag: str = element.tag
    return tag.rpartition("}")[2]


def element_path(element: Element) -> str:
    """``Document/BkToCstmrStmt/Stmt/Ntry/Amt``-style path of an element, by local names."""
    names = []
    while element is not None:
        names.append(local_name(element))
        element = element.getparent()
    return "/".join(reversed(names))


#: ISO 20022 amounts (``ActiveOrHistoricCurrencyAndAmount``, ``DecimalNumber``) allow 18 digits in all.
MAX_AMOUNT_DIGITS = 18
SHOWN = 40  # a refused value is quoted up to this many characters


def _shown(text: str | None) -> str | None:
    """A value as quoted in a message: long ones are cut (a 10 MB amount is not repeated in full)."""
    if text is None or len(text) <= SHOWN:
        return text
    return f"{text[:SHOWN]}… ({len(text)} characters)"


def _significant_digits(digits: str) -> int:
    """The digits XSD ``totalDigits`` counts: leading zeros and trailing fraction zeros do not count."""
    whole, _, fraction = digits.partition(".")
    return len(whole.lstrip("0")) + len(fraction.rstrip("0"))


def parse_amount(element: Element) -> Decimal:
    """xs:decimal text to Decimal, exactly (``"18.150"`` stays 18.150; ``"000149.87"`` is 149.87).

    More than 18 significant digits breaks the schema (``totalDigits 18``) and every sum the
    reader or a ledger makes with them (28-digit Decimal context): refused as a BadValue.
    """
    text: str | None = element.text
    if text and len(text) <= MAX_AMOUNT_DIGITS and text.replace(".", "", 1).isdigit() and text.isascii():
        return Decimal(text)  # the common case, without the regex
    match = AMOUNT.fullmatch(text or "")
    if match is None:
        raise BadValue("unreadable amount", element, _shown(text))
    digits = match.group(1)
    if _significant_digits(digits) > MAX_AMOUNT_DIGITS:
        raise BadValue(
            f"amount has more than {MAX_AMOUNT_DIGITS} digits (ISO 20022 totalDigits)", element, _shown(text)
        )
    return Decimal(digits)


def parse_count(text: str | None) -> int | None:
    """A count such as ``Btch/NbOfTxs`` (``Max15NumericText``); None when it is not one."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 15:
        return None
    return int(text)
