"""What a rendered batch is: one PDF and where each letter sits in it (no WeasyPrint here).

Kept apart from :mod:`dunning.letters.render` so the process that hands chunks to render workers and
writes their PDFs (``dunning letters``) does not import WeasyPrint and its native libraries itself.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CHUNK_SIZE", "DEFAULT_TEMPLATES_DIR", "BatchResult", "RenderedLetter"]

DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
# Letters per WeasyPrint document. Up to about 100 a chunk shares set-up work; beyond, WeasyPrint's
# page styling (each page walks the styles of the whole document) makes a letter dearer again:
# 28 ms a letter at 50 or 100, 39 ms at 200 (benchmarks/letters.py --chunk).
CHUNK_SIZE = 100


@dataclass(frozen=True, slots=True)
class RenderedLetter:
    letter_id: str
    first_page: int  # 0-based index in the batch PDF
    page_count: int

    @property
    def pages(self) -> range:
        return range(self.first_page, self.first_page + self.page_count)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One batch PDF, where each letter sits in it, and the letters that could not be rendered."""

    pdf: bytes
    letters: tuple[RenderedLetter, ...]
    problems: tuple[str, ...] = ()
    #: ids of the letters refused because they cannot be printed as they are (an address too long for
    #: the window: :mod:`dunning.letters.printsafe`); their reasons are among ``problems``
    unprintable: tuple[str, ...] = ()

    @property
    def page_count(self) -> int:
        return sum(r.page_count for r in self.letters)

    def split(self) -> dict[str, bytes]:
        """One PDF per letter (pages copied from the batch PDF with pdfium; fonts are shared subsets)."""
        import pypdfium2 as pdfium

        out: dict[str, bytes] = {}
        source = pdfium.PdfDocument(self.pdf)
        try:
            for rendered in self.letters:
                target = pdfium.PdfDocument.new()
                target.import_pages(source, list(rendered.pages))
                buffer = io.BytesIO()
                target.save(buffer)
                target.close()
                out[rendered.letter_id] = buffer.getvalue()
        finally:
            source.close()
        return out
