"""Readers for rendered letter PDFs: character boxes and images in mm, page text, QR codes.

Positions come from pypdfium2's text page API (character boxes) and page objects;
QR codes are decoded from a rendering with zxing-cpp.
"""

from __future__ import annotations

from dataclasses import dataclass

import pypdfium2 as pdfium
import zxingcpp

from dunning.letters.check import image_boxes

__all__ = ["Char", "decode_qr_codes", "image_boxes", "lines_of", "page_chars", "page_text"]

PT_TO_MM = 25.4 / 72


@dataclass(frozen=True)
class Char:
    text: str
    left: float  # mm from the left edge
    top: float  # mm from the top edge
    right: float
    bottom: float


def page_chars(pdf: bytes, page_index: int = 0) -> list[Char]:
    document = pdfium.PdfDocument(pdf)
    page = document[page_index]
    height = page.get_height()
    textpage = page.get_textpage()
    chars = []
    for i in range(textpage.count_chars()):
        text = textpage.get_text_range(i, 1)
        if not text.strip():
            continue
        left, bottom, right, top = textpage.get_charbox(i)
        chars.append(
            Char(text, left * PT_TO_MM, (height - top) * PT_TO_MM, right * PT_TO_MM, (height - bottom) * PT_TO_MM)
        )
    document.close()
    return chars


def lines_of(chars: list[Char]) -> dict[float, str]:
    """Group characters into text lines: the tallest characters open lines, smaller ones
    (commas, dots) join the line whose vertical extent holds their centre."""
    lines: list[tuple[float, float, list[Char]]] = []
    for char in sorted(chars, key=lambda c: c.top - c.bottom):  # tallest first
        centre = (char.top + char.bottom) / 2
        for top, bottom, members in lines:
            if top - 0.3 <= centre <= bottom + 0.3:
                members.append(char)
                break
        else:
            lines.append((char.top, char.bottom, [char]))
    return {
        top: "".join(c.text for c in sorted(members, key=lambda c: c.left))
        for top, _, members in sorted(lines, key=lambda line: line[0])
    }


def page_text(pdf: bytes, page_index: int) -> str:
    document = pdfium.PdfDocument(pdf)
    text = document[page_index].get_textpage().get_text_range()
    document.close()
    return text.replace("\r\n", "\n")


def decode_qr_codes(pdf: bytes, page_index: int = 0, dpi: int = 300) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    image = document[page_index].render(scale=dpi / 72).to_pil()
    document.close()
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]
