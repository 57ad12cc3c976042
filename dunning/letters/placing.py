"""What batch letters do not lay out: page 1's fields and the claim table, placed after layout.

:class:`Placements` takes both out of a letter's data layer before the batch is laid out and puts
them onto the letter's pages after (see :mod:`dunning.letters.fields` and
:mod:`dunning.letters.rows`); one font coverage cache serves both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dunning.letters.fields import FieldCache, FontCoverage, LetterFields
from dunning.letters.rows import LetterRows, RowCache

__all__ = ["Placements", "Taken"]


@dataclass(frozen=True, slots=True)
class Taken:
    """What was taken out of one letter's data layer (either may be ``None``: laid out as it is)."""

    fields: LetterFields | None
    rows: LetterRows | None


class Placements:
    """The field and row probes of one renderer; ``layout(brand, section)`` lays a probe out."""

    def __init__(self, layout: Callable[[str, str], Any]) -> None:
        fonts = FontCoverage()
        self.fields = FieldCache(layout, fonts)
        self.rows = RowCache(layout, fonts)

    def take(self, brand: str, section: str, anchor: str) -> tuple[str, Taken]:
        """The section without what can be placed, and what was taken; ``anchor``: the letter's anchor."""
        section, fields = self.fields.take(brand, section)
        section, rows = self.rows.take(brand, section, anchor + "-rows")
        return section, Taken(fields, rows)

    def place(self, pages: Sequence[Any], taken: Taken) -> None:
        """Put what was taken onto the letter's laid-out ``pages`` (WeasyPrint ``Page`` objects)."""
        if taken.fields is not None:
            self.fields.place(pages[0], taken.fields)
        if taken.rows is not None:
            self.rows.place(pages, taken.rows)
