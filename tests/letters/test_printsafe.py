"""Print-safe by construction (issue 17 item 7), read back from the rendered PDFs.

An address that cannot fit the window is refused (never clipped), measured with the brand's font;
nothing lies within the printer's margin; a Swiss letter is never folded through its QR-bill;
inserter marks keep clear of the fold and punch lines.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from click.testing import CliRunner
from letters_pdf import lines_of, page_chars

from dunning.cli import EXIT_PROBLEMS, cli
from dunning.letters import LetterData, LetterKind, LetterRenderer
from dunning.letters.brand import DEFAULT_LAYOUTS_DIR, load_brand
from dunning.letters.check import print_problems
from dunning.letters.geometry import PROFILES
from dunning.letters.printsafe import (
    QRBILL_TOP,
    AddressMeasure,
    address_refusal,
    fold_crossings,
    margin_intrusions,
)
from dunning.letters.samples import sample_letter, swiss_sample_letter
from dunning.print.assemble import mark_collisions, mark_settings, mark_zone

BRANDS = ("default", "atelier")
PT_TO_MM = 25.4 / 72


def _with_address(letter: LetterData, *lines: str, letter_id: str) -> LetterData:
    debtor = dataclasses.replace(letter.debtor, address_lines=lines)
    return dataclasses.replace(letter, letter_id=letter_id, debtor=debtor)


def _address_line_width(pdf: bytes, text: str) -> float:
    """The printed width (mm) of the address line that reads ``text`` (spaces have no boxes: squashed)."""
    chars = [c for c in page_chars(pdf) if 55 < c.top < 95 and c.left < 115]
    wanted = text.replace(" ", "")
    by_line: dict[float, list] = {}
    for top, line in lines_of(chars).items():
        if line == wanted:
            by_line[top] = [c for c in chars if abs(c.top - top) < 2.5 and (c.top + c.bottom) / 2 > top - 0.3]
    (members,) = by_line.values()
    return max(c.right for c in members) - min(c.left for c in members)


@pytest.mark.parametrize("brand", BRANDS)
def test_the_measure_is_the_printed_width_in_the_brands_font(renderer: LetterRenderer, brand: str) -> None:
    """Pango with the brand's body font at the profile's size gives what WeasyPrint prints (to 0.3 mm)."""
    street = "Avenue du Général Lieutenant Wavelet 117"
    letter = _with_address(sample_letter(LetterKind.FIRST_REMINDER, "fr", brand), street, "1000 Bruxelles",
                           letter_id="W")
    result = renderer.render_batch([letter])
    assert result.problems == ()
    envelope = load_brand(brand).envelope
    measured = AddressMeasure().width_mm(street, load_brand(brand).fonts["body"], envelope.address_font_pt)
    # ink from the first to the last glyph: the advance width less the side bearings (a few tenths)
    assert 0 <= measured - _address_line_width(result.pdf, street) < 0.4
    # another font gives another width: the brand's own font is what counts
    other = AddressMeasure().width_mm(street, "DejaVu Sans Mono", envelope.address_font_pt)
    assert abs(other - measured) > 5


@pytest.mark.parametrize("brand", BRANDS)
def test_an_address_too_wide_for_the_window_is_refused_and_the_batch_goes_on(
    renderer: LetterRenderer, brand: str
) -> None:
    base = sample_letter(LetterKind.FIRST_REMINDER, "nl", brand)
    envelope = load_brand(brand).envelope
    font = load_brand(brand).fonts["body"]
    measure = AddressMeasure()
    # the longest street that fits, and one letter more
    street = "Burgemeester van Nispen tot Sevenaerstraat "
    while measure.width_mm(street + "W", font, envelope.address_font_pt) <= envelope.address_box.width:
        street += "W"
    fits = _with_address(base, street, "1000 Brussel", letter_id="FITS")
    too_wide = _with_address(base, street + "W", "1000 Brussel", letter_id="WIDE")
    other = sample_letter(LetterKind.SECOND_REMINDER, "nl", brand, letter_id="OTHER")
    result = renderer.render_batch([fits, too_wide, other])
    assert [r.letter_id for r in result.letters] == ["FITS", "OTHER"]
    assert result.unprintable == ("WIDE",)
    (problem,) = result.problems
    assert problem.startswith("letter 'WIDE': address line 2 is ")  # the line (name is line 1), never its text
    assert f"the window holds {envelope.address_box.width:g} mm" in problem and "Sevenaer" not in problem
    # the one that fits is printed whole: the window reads exactly the address given
    pdf = result.split()["FITS"]
    window = [c for c in page_chars(pdf) if envelope.address_box.overlaps(c.left, c.top, c.right, c.bottom)]
    assert list(lines_of(window).values()) == [s.replace(" ", "") for s in (base.debtor.name, street, "1000 Brussel")]
    assert all(c.right <= envelope.address_box.right + 0.05 for c in window)
    # more address lines than the window holds: refused as unprintable too (check_letter counts them)
    five = _with_address(base, "Bus 3", "Blok C", "Residentie Zonneveld", "Kerkstraat 1", "1000 Brussel",
                         letter_id="TALL")
    tall = renderer.render_batch([five])
    assert tall.unprintable == ("TALL",) and "the window takes 4 plus name and country" in tall.problems[0]
    # seven lines do not fit the six of the window
    seven = ["Name", "Bus 3", "Blok C", "Residentie Zonneveld", "Kerkstraat 1", "1000 Brussel", "BELGIË"]
    assert address_refusal(seven, font, envelope) == f"the address has 7 lines; the window holds 6 ({envelope.name})"
    assert address_refusal(seven[:6], font, envelope) is None


def test_a_long_return_line_is_refused_too() -> None:
    envelope = PROFILES["din5008b-dl"]
    assert address_refusal(["A", "B"], "Liberation Sans", envelope, "x" * 60) is None
    refusal = address_refusal(["A", "B"], "Liberation Sans", envelope, "Brabantse Incasso NV · " * 8)
    assert refusal is not None and refusal.startswith("the return line is")


def test_measuring_costs_next_to_nothing(renderer: LetterRenderer) -> None:
    """The check measures every address line of every letter: far below 1 % of a letter's render time."""
    envelope = PROFILES["din5008b-dl"]
    lines = ["Erika Mustermann-Lüdenscheid", "Rue de la Loi 16 boîte 3", "1040 Etterbeek", "BELGIQUE"]
    address_refusal(lines, "Liberation Sans", envelope)
    start = time.perf_counter()
    for _ in range(200):
        assert address_refusal(lines, "Liberation Sans", envelope) is None
    per_letter = (time.perf_counter() - start) / 200
    assert per_letter < 0.0015  # a letter renders in about 28 ms; measured here: ~0.15 ms


@pytest.mark.parametrize("brand", BRANDS)
def test_nothing_within_the_printers_margin(renderer: LetterRenderer, brand: str) -> None:
    """Every kind in every language and the Swiss QR-bill letter, both brands: no text or image within 5 mm."""
    assert print_problems(brand, renderer, margin_mm=5.0) == []


def test_the_margin_check_sees_what_a_wider_margin_takes(renderer: LetterRenderer) -> None:
    result = renderer.render_batch([sample_letter(LetterKind.FIRST_REMINDER, "en", "default")])
    assert margin_intrusions(result.pdf, 5.0) == []
    wide = margin_intrusions(result.pdf, 21.0)  # the body text ends 20 mm from the right edge
    assert wide and all(i.what.startswith("text") for i in wide)
    assert any(i.what == "image" for i in margin_intrusions(result.pdf, 26.0))  # the logo, 25 mm from the left
    problems = print_problems("default", renderer, margin_mm=21.0, languages=("en",))
    assert problems and "within the printer's 21 mm margin" in problems[0].message


def _fold_marks(pdf: bytes) -> list[float]:
    """Where the fold and punch marks are (mm from the top): 5 and 6 mm rules 5.5 mm from the left edge."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        height = page.get_height()
        marks = []
        for obj in page.get_objects(max_depth=4):
            left, bottom, right, top = obj.get_bounds()
            width = (right - left) * PT_TO_MM
            if 5.0 < left * PT_TO_MM < 6.0 and 4.8 < width < 6.4 and (top - bottom) * PT_TO_MM < 0.5:
                marks.append(round((height - (top + bottom) / 2) * PT_TO_MM, 1))
        return sorted(marks)
    finally:
        document.close()


@pytest.mark.parametrize("brand", BRANDS)
def test_a_swiss_letter_is_never_folded_through_its_qr_bill(renderer: LetterRenderer, brand: str) -> None:
    swiss = swiss_sample_letter("de", brand, letter_id="CH")
    plain = sample_letter(LetterKind.FIRST_REMINDER, "de", brand, letter_id="BE")
    result = renderer.render_batch([swiss, plain])
    assert result.problems == ()
    pdfs = result.split()
    envelope = load_brand(brand).envelope
    chars = page_chars(pdfs["CH"])
    payment_part = [c for c in chars if c.top >= QRBILL_TOP - 1]
    assert "Zahlteil" in "".join(c.text for c in payment_part)
    assert min(c.top for c in payment_part) > QRBILL_TOP  # the payment part starts at the perforation
    image = pdfium.PdfDocument(pdfs["CH"])[0].render(scale=300 / 72).to_pil()
    (code,) = [b for b in zxingcpp.read_barcodes(image) if b.text.startswith("SPC")]
    code_top = min(p.y for p in (code.position.top_left, code.position.top_right)) * 72 / 300 * PT_TO_MM
    code_bottom = max(p.y for p in (code.position.bottom_left, code.position.bottom_right)) * 72 / 300 * PT_TO_MM
    folds = envelope.qrbill_fold_marks
    assert fold_crossings(folds) == [] and fold_crossings(envelope.fold_marks) == [210.0]  # what it was
    assert all(not code_top - 3 < fold < code_bottom + 3 for fold in folds)
    if envelope.marks:  # the print house folds where the marks say: 105 and the perforation, punch at 148.5
        assert _fold_marks(pdfs["CH"]) == [*folds[:1], envelope.punch_mark, *folds[1:]]
        assert _fold_marks(pdfs["BE"]) == [envelope.fold_marks[0], envelope.punch_mark, envelope.fold_marks[1]]
    else:  # a hybrid-mail provider folds itself: no marks
        assert _fold_marks(pdfs["CH"]) == []


@pytest.mark.parametrize("kind", ["omr", "datamatrix"])
def test_inserter_marks_keep_clear_of_folds_punch_and_margin(kind: str) -> None:
    marks = mark_settings(kind, margin_mm=5.0)
    assert marks is not None and marks.kind == kind
    lines = {*PROFILES["din5008b-dl"].fold_marks, *PROFILES["din5008b-dl"].qrbill_fold_marks, 148.5}
    assert mark_collisions(marks, lines, margin_mm=5.0) == []
    left, top, _right, bottom = mark_zone(marks)
    assert left >= 5.0 and top > 105 and bottom < 148.5
    wider = mark_settings(kind, margin_mm=8.0)
    assert wider is not None and mark_zone(wider)[0] >= 8.0  # the marks move in with the margin
    moved = dataclasses.replace(marks, y_mm=100.0)
    assert mark_collisions(moved, lines, margin_mm=5.0) == [
        f"the marks ({mark_zone(moved)[1]:.1f}-{mark_zone(moved)[3]:.1f} mm) lie on the line at 105 mm"
    ]
    assert mark_settings("none") is None


def test_brand_check_names_a_brand_that_prints_into_the_margin(tmp_path: Path) -> None:
    layouts = tmp_path / "layouts"
    shutil.copytree(DEFAULT_LAYOUTS_DIR / "default", layouts / "edge")
    css = layouts / "edge" / "letter.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n.sender { left: 2mm; }\n", encoding="utf-8")  # near the edge
    result = CliRunner().invoke(cli, ["brand-check", "edge", "--layouts", str(layouts), "--lang", "en", "--format",
                                      "json"], catch_exceptions=False)
    assert result.exit_code == EXIT_PROBLEMS
    margin = [row for row in json.loads(result.stdout)["problems"] if "printer's 5 mm margin" in row["difference"]]
    assert margin and re.search(r"page 1: text '\w' at 2\.\d/", margin[0]["difference"])  # the sender's name
