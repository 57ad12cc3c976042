"""Check a brand: do its batch letters print exactly what a one-pass rendering prints?

A batch prints page 1 in layers (:mod:`dunning.letters.forms`) and stamps shared text
blocks into slots (:mod:`dunning.letters.memo`). That is exact only while the brand's
CSS keeps a box's size and place independent of its contents, and a shared block
independent of its neighbours. :func:`check_brand` renders sample letters of every
kind and language both ways and compares where each character and each QR code lands
(to 0.1 mm). ``dunning brand-check`` runs it for a designer's brand.

The PDF readers here (pypdfium2) are also what the tests use.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw

from dunning.letters.model import LetterData, LetterKind
from dunning.letters.samples import sample_letter, swiss_sample_letter

if TYPE_CHECKING:
    from dunning.letters.render import LetterRenderer

__all__ = [
    "LANGUAGES", "TOLERANCE_MM", "BrandProblem", "brand_fingerprint", "check_brand", "differences", "image_boxes",
    "one_pass_pdf", "placed_text", "print_problems",
]

PT_TO_MM = 25.4 / 72
TOLERANCE_MM = 0.1
LANGUAGES = ("nl", "fr", "de", "en")

Placed = dict[str, list[tuple[int, float, float]]]  # character -> sorted (page, top mm, left mm)


@dataclass(frozen=True, slots=True)
class BrandProblem:
    """A letter whose batch rendering differs from its one-pass rendering."""

    kind: str
    language: str
    message: str


def placed_text(pdf: bytes, pages: Iterable[int]) -> Placed:
    """Each printed character's positions over ``pages`` (page numbered from 0 in that range), sorted."""
    found: Placed = {}
    document = pdfium.PdfDocument(pdf)
    try:
        for number, index in enumerate(pages):
            page = document[index]
            height = page.get_height()
            textpage = page.get_textpage()
            for i in range(textpage.count_chars()):
                text = textpage.get_text_range(i, 1)
                if text.strip():
                    left, _, _, top = textpage.get_charbox(i)
                    found.setdefault(text, []).append((number, (height - top) * PT_TO_MM, left * PT_TO_MM))
    finally:
        document.close()
    return {text: sorted(positions) for text, positions in found.items()}


def image_boxes(pdf: bytes, page_index: int = 0) -> list[tuple[float, float, float, float]]:
    """(left, top, right, bottom) in mm of every raster image on the page, forms included."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[page_index]
        height = page.get_height()
        boxes = []
        for obj in page.get_objects(max_depth=4):
            if obj.type == pdfium_raw.FPDF_PAGEOBJ_IMAGE:
                left, bottom, right, top = obj.get_bounds()
                boxes.append(
                    (left * PT_TO_MM, (height - top) * PT_TO_MM, right * PT_TO_MM, (height - bottom) * PT_TO_MM)
                )
    finally:
        document.close()
    return boxes


def differences(found: Placed, expected: Placed, tolerance: float = TOLERANCE_MM) -> list[str]:
    """Characters that are not printed as often in both, or not within ``tolerance`` mm of the same place."""
    out = []
    for text in sorted(set(found) | set(expected)):
        a, b = found.get(text, []), expected.get(text, [])
        if len(a) != len(b):
            out.append(f"{text!r}: {len(a)} times, expected {len(b)}")
            continue
        out.extend(
            f"{text!r} on page {p[0] + 1} at {p[1]:.1f}/{p[2]:.1f} mm (top/left) instead of {q[1]:.1f}/{q[2]:.1f}"
            for p, q in zip(a, b, strict=True)
            if p[0] != q[0] or abs(p[1] - q[1]) > tolerance or abs(p[2] - q[2]) > tolerance
        )
    return out


def check_brand(
    brand: str,
    renderer: LetterRenderer | None = None,
    *,
    kinds: Sequence[LetterKind] = tuple(LetterKind),
    languages: Sequence[str] = LANGUAGES,
) -> list[BrandProblem]:
    """Render sample letters of ``brand`` in batches and in one pass; return where they differ.

    Every kind in every language, and a Swiss creditor's first reminder (QR-bill instead of the
    payment strip) in the first of ``languages``. Each letter is rendered twice in its batch, so
    that its shared blocks are stamped as on a real night; the second copy is compared.
    """
    from dunning.letters.render import LetterRenderer

    renderer = renderer or LetterRenderer()
    samples = [
        (kind.value, language, sample_letter(kind, language, brand, letter_id="CHECK-1"))
        for kind in kinds for language in languages
    ]
    if LetterKind.FIRST_REMINDER in kinds and languages:
        swiss = swiss_sample_letter(languages[0], brand, letter_id="CHECK-1")
        samples.append((f"{LetterKind.FIRST_REMINDER.value} (Swiss QR-bill)", languages[0], swiss))
    problems: list[BrandProblem] = []
    for kind, language, letter in samples:
        problems.extend(BrandProblem(kind, language, found) for found in _compare(renderer, letter))
    return problems


def print_problems(
    brand: str,
    renderer: LetterRenderer | None = None,
    *,
    margin_mm: float | None = None,
    languages: Sequence[str] = LANGUAGES,
) -> list[BrandProblem]:
    """What of ``brand``'s letters a printer would not print as designed (:mod:`dunning.letters.printsafe`).

    Sample letters of every kind in ``languages`` and a Swiss QR-bill letter, in one batch: a
    character or image within ``margin_mm`` of a sheet's edge (default 5 mm), and a fold of the
    brand's envelope profile through the QR-bill's payment part.
    """
    from dunning.letters.printsafe import DEFAULT_MARGIN_MM, fold_crossings, margin_intrusions
    from dunning.letters.render import LetterRenderer

    renderer = renderer or LetterRenderer()
    margin = DEFAULT_MARGIN_MM if margin_mm is None else margin_mm
    samples = [(kind.value, language, sample_letter(kind, language, brand, letter_id=f"{kind.value}-{language}"))
               for kind in LetterKind for language in languages]
    if languages:
        swiss = swiss_sample_letter(languages[0], brand, letter_id="swiss")
        samples.append((f"{LetterKind.FIRST_REMINDER.value} (Swiss QR-bill)", languages[0], swiss))
    result = renderer.render_batch([letter for _, _, letter in samples])
    problems = [BrandProblem("", "", found) for found in result.problems]
    names = {letter.letter_id: (kind, language) for kind, language, letter in samples}
    for rendered in result.letters:
        kind, language = names[rendered.letter_id]
        found = margin_intrusions(result.pdf, margin, rendered.pages)
        if found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            message = f"within the printer's {margin:g} mm margin: {found[0]}{more}"
            problems.append(BrandProblem(kind, language, message))
    crossing = fold_crossings(renderer.brand(brand).envelope.qrbill_fold_marks)
    if crossing:
        problems.append(BrandProblem("(Swiss QR-bill)", "", f"a fold at {crossing[0]:g} mm crosses the payment part"))
    return problems


def _compare(renderer: LetterRenderer, letter: LetterData) -> list[str]:
    """The differences between a letter's batch rendering (as a twin's second copy) and its one-pass rendering."""
    twin = dataclasses.replace(letter, letter_id="CHECK-2")
    result = renderer.render_batch([letter, twin])
    if result.problems:
        return list(result.problems)
    rendered = result.letters[1]
    one_pass = one_pass_pdf(renderer, twin, rendered.page_count)
    preview_pages = _page_count(one_pass)
    if preview_pages != rendered.page_count:
        return [f"{rendered.page_count} pages in a batch, {preview_pages} in a preview"]
    found = differences(placed_text(result.pdf, rendered.pages), placed_text(one_pass, range(rendered.page_count)))
    found += _image_differences(image_boxes(result.pdf, rendered.first_page), image_boxes(one_pass))
    if not found:
        return []
    more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
    return ["; ".join(found[:3]) + more]


def one_pass_pdf(renderer: LetterRenderer, letter: LetterData, page_total: int = 1) -> bytes:
    """The whole letter laid out in one pass (``part="all"``), as a preview or the naive loop prints it."""
    from weasyprint import HTML

    section = renderer.letter_html(letter, page_total, "all")
    html = f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{section}</body></html>'
    return bytes(HTML(string=html).write_pdf(stylesheets=renderer.stylesheets(letter.brand)))


def brand_fingerprint(brand_folder: Path, templates_dir: Path) -> str:
    """SHA-256 over what a check's verdict depends on: the brand's files, the letter templates, this code."""
    digest = hashlib.sha256()
    code = Path(__file__).parent
    for root in (brand_folder, templates_dir / "letters", code):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc"):
            digest.update(f"{path.relative_to(root)}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _page_count(pdf: bytes) -> int:
    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def _image_differences(
    found: list[tuple[float, float, float, float]], expected: list[tuple[float, float, float, float]]
) -> list[str]:
    found, expected = sorted(found), sorted(expected)
    if len(found) != len(expected):
        return [f"{len(found)} images on page 1, expected {len(expected)}"]
    return [
        f"image at {a[0]:.1f}/{a[1]:.1f} mm (left/top) instead of {b[0]:.1f}/{b[1]:.1f}"
        for a, b in zip(found, expected, strict=True)
        if max(abs(x - y) for x, y in zip(a, b, strict=True)) > TOLERANCE_MM
    ]
