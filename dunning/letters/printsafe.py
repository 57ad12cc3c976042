"""Print-safe by construction: what a letter may not do on paper, checked before and after layout.

* **The address fits its window** (:func:`address_refusal`). The address box clips (``overflow:
  hidden``, one line per address line): a street too long for the window would print cut off and the
  letter would still go out. Each line is measured with the brand's own font at the envelope profile's
  size, by Pango (the text engine WeasyPrint lays the letter out with, so kerning and fallbacks are the
  same), and the line count against the box's height. A letter that cannot fit is refused before it is
  laid out: the refusal names the letter and the line (its number, never its text: addresses are
  personal data), the batch goes on, and the letter channel fails the action with an event on the case
  (:mod:`dunning.usecases.letters.render`), so a person fixes the address.
  Measuring costs about 0.03 ms a line (a layout at 1000 pt, scaled: at small sizes FreeType rounds
  advances to whole units, 5 % off for Liberation Sans at 10 pt).
* **Nothing inside the printer's margin** (:func:`margin_intrusions`): no character and no image
  within ``margin_mm`` of a sheet's edge (``print.margin_mm``, default 5 mm: most office and
  production printers cannot print closer to the edge). Read back from the rendered PDF with
  pypdfium2, as the brand check and the tests do.
* **No fold through the Swiss payment part** (:func:`fold_crossings`): a QR-bill's payment part and
  receipt take the bottom 105 mm of page 1 and must not be folded through (the Swiss QR Code would be
  creased). Letters with a QR-bill are folded at 105 mm and along the perforation at 192 mm
  (:attr:`~dunning.letters.geometry.EnvelopeProfile.qrbill_fold_marks`): the panels are 105, 87 and
  105 mm, the packet is the same 105 mm and the address sits in the same window.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw

from dunning.letters.geometry import PAGE_HEIGHT, PAGE_WIDTH, EnvelopeProfile
from dunning.letters.model import LetterDataError

__all__ = [
    "DEFAULT_MARGIN_MM",
    "QRBILL_TOP",
    "AddressMeasure",
    "Intrusion",
    "UnprintableLetter",
    "address_refusal",
    "fold_crossings",
    "margin_intrusions",
]

PT_TO_MM = 25.4 / 72
#: what most printers cannot print: 5 mm along every edge (``print.margin_mm``)
DEFAULT_MARGIN_MM = 5.0
#: the QR-bill's payment part and receipt: the bottom 105 mm of the page (SIX IG QR-bill, A6 landscape)
QRBILL_TOP = PAGE_HEIGHT - 105.0
# Pango measures at this size and scales: whole-unit rounding of advances is then negligible.
_MEASURE_PT = 1000.0


class UnprintableLetter(LetterDataError):
    """A letter that would not print as it is (an address line too long for the window): refused."""


class AddressMeasure:
    """Widths of text lines in a font family, in mm, as Pango lays them out (one per process and thread).

    Built on WeasyPrint's own bindings of Pango and fontconfig: the family resolves to the font file
    the letter is printed with.
    """

    def __init__(self) -> None:
        from weasyprint.text.ffi import ffi, pango, pangoft2

        self._ffi, self._pango = ffi, pango
        self._fontmap = pangoft2.pango_ft2_font_map_new()
        self._context = pango.pango_font_map_create_context(self._fontmap)
        self._layouts: dict[str, object] = {}
        self._ink = ffi.new("PangoRectangle *")
        self._logical = ffi.new("PangoRectangle *")
        self._unit = pango.pango_units_to_double(1) * PT_TO_MM / _MEASURE_PT
        self._lock = threading.Lock()

    def _layout(self, family: str) -> object:
        layout = self._layouts.get(family)
        if layout is None:
            pango = self._pango
            layout = pango.pango_layout_new(self._context)
            desc = pango.pango_font_description_new()
            pango.pango_font_description_set_family(desc, family.encode("utf-8"))
            pango.pango_font_description_set_absolute_size(desc, pango.pango_units_from_double(_MEASURE_PT))
            pango.pango_layout_set_font_description(layout, desc)
            pango.pango_font_description_free(desc)
            self._layouts[family] = layout
        return layout

    def width_mm(self, text: str, family: str, size_pt: float) -> float:
        """The advance width of ``text`` on one line, in mm at ``size_pt``."""
        data = text.encode("utf-8")
        with self._lock:
            layout = self._layout(family)
            self._pango.pango_layout_set_text(layout, data, len(data))
            line = self._pango.pango_layout_get_line_readonly(layout, 0)
            self._pango.pango_layout_line_get_extents(line, self._ink, self._logical)
            return float(self._logical.width * self._unit * size_pt)


_MEASURE: AddressMeasure | None = None


def _measure() -> AddressMeasure:
    global _MEASURE
    if _MEASURE is None:
        _MEASURE = AddressMeasure()
    return _MEASURE


def address_refusal(
    lines: Sequence[str], family: str, envelope: EnvelopeProfile, return_line: str = ""
) -> str | None:
    """Why this address cannot be printed in the envelope's window, or None when it fits.

    ``lines``: the address as printed (name, address lines, country line). ``return_line`` (the
    sender's line above it, 6.5 pt) is checked too: it is clipped to the window's width as well.
    """
    box = envelope.address_box
    room = int(box.height / envelope.address_line_mm + 1e-6)
    if len(lines) > room:
        return f"the address has {len(lines)} lines; the window holds {room} ({envelope.name})"
    measure = _measure()
    for number, line in enumerate(lines, start=1):
        width = measure.width_mm(line, family, envelope.address_font_pt)
        if width > box.width:
            return (
                f"address line {number} is {width:.1f} mm wide at {envelope.address_font_pt:g} pt; "
                f"the window holds {box.width:g} mm ({envelope.name}): shorten it"
            )
    if return_line and envelope.return_box is not None:
        width = measure.width_mm(return_line, family, 6.5)
        if width > envelope.return_box.width:
            return f"the return line is {width:.1f} mm wide; the window holds {envelope.return_box.width:g} mm"
    return None


@dataclass(frozen=True, slots=True)
class Intrusion:
    page: int  # 0-based in the PDF
    what: str  # "text 'P'" or "image"
    box: tuple[float, float, float, float]  # left, top, right, bottom in mm

    def __str__(self) -> str:
        left, top, right, bottom = self.box
        return f"page {self.page + 1}: {self.what} at {left:.1f}/{top:.1f}-{right:.1f}/{bottom:.1f} mm"


def margin_intrusions(pdf: bytes, margin_mm: float, pages: Iterable[int] | None = None) -> list[Intrusion]:
    """Characters and images closer than ``margin_mm`` to an edge of the sheet (0.05 mm tolerance)."""
    found: list[Intrusion] = []
    low, high_x, high_y = margin_mm - 0.05, PAGE_WIDTH - margin_mm + 0.05, PAGE_HEIGHT - margin_mm + 0.05

    def outside(left: float, top: float, right: float, bottom: float) -> bool:
        return left < low or top < low or right > high_x or bottom > high_y

    document = pdfium.PdfDocument(pdf)
    try:
        for index in range(len(document)) if pages is None else pages:
            page = document[index]
            height = page.get_height()
            textpage = page.get_textpage()
            for i in range(textpage.count_chars()):
                text = textpage.get_text_range(i, 1)
                if not text.strip():
                    continue
                left, bottom, right, top = textpage.get_charbox(i)
                box = (left * PT_TO_MM, (height - top) * PT_TO_MM, right * PT_TO_MM, (height - bottom) * PT_TO_MM)
                if outside(*box):
                    found.append(Intrusion(index, f"text {text!r}", box))
            for obj in page.get_objects(max_depth=4):
                if obj.type == pdfium_raw.FPDF_PAGEOBJ_IMAGE:
                    left, bottom, right, top = obj.get_bounds()
                    box = (left * PT_TO_MM, (height - top) * PT_TO_MM, right * PT_TO_MM, (height - bottom) * PT_TO_MM)
                    if outside(*box):
                        found.append(Intrusion(index, "image", box))
    finally:
        document.close()
    return found


def fold_crossings(folds: Iterable[float], top: float = QRBILL_TOP, bottom: float = PAGE_HEIGHT) -> list[float]:
    """The folds that would crease the part of the page from ``top`` to ``bottom`` (mm; a fold on its
    upper edge, the perforation, does not)."""
    return [fold for fold in folds if top + 0.3 < fold < bottom]
