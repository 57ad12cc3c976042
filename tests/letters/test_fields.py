"""Page 1's address and value lines placed from a probe (dunning.letters.fields) print what one pass prints."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from dunning.letters import LetterKind, LetterRenderer
from dunning.letters.brand import DEFAULT_LAYOUTS_DIR
from dunning.letters.check import differences, one_pass_pdf, placed_text
from dunning.letters.samples import sample_letter
from tests.letters.letters_pdf import page_text


def to_debtor(letter, number: int, name: str, street: str, customer: str):  # type: ignore[no-untyped-def]
    debtor = dataclasses.replace(
        letter.debtor,
        name=name,
        customer_number=customer,
        address_lines=(street, *letter.debtor.address_lines[1:]),
    )
    return dataclasses.replace(letter, letter_id=f"F{number}", debtor=debtor)


def counting(renderer: LetterRenderer) -> dict[str, int]:
    """Count the letters whose field blocks the renderer takes out of their HTML."""
    counts = {"taken": 0, "kept": 0}
    take = renderer._fields.take

    def counted(brand: str, section: str):  # type: ignore[no-untyped-def]
        out = take(brand, section)
        counts["taken" if out[1] is not None else "kept"] += 1
        return out

    renderer._fields.take = counted  # type: ignore[method-assign]
    return counts


def same_as_one_pass(renderer: LetterRenderer, result, letters) -> None:  # type: ignore[no-untyped-def]
    for rendered, letter in zip(result.letters, letters, strict=True):
        one_pass = one_pass_pdf(renderer, letter, rendered.page_count)
        found = placed_text(result.pdf, range(rendered.first_page, rendered.first_page + 1))
        assert differences(found, placed_text(one_pass, range(1))) == [], letter.letter_id


@pytest.mark.parametrize(
    ("kind", "language", "brand"),
    [
        (LetterKind.FIRST_REMINDER, "nl", "default"),
        (LetterKind.FIRST_REMINDER, "de", "atelier"),
        (LetterKind.FINAL_NOTICE, "fr", "default"),
        (LetterKind.PAYMENT_CONFIRMATION, "en", "atelier"),
    ],
)
def test_letters_to_different_debtors_share_one_probe_and_print_their_own_lines(
    kind: LetterKind, language: str, brand: str
) -> None:
    renderer = LetterRenderer()
    counts = counting(renderer)
    base = sample_letter(kind, language, brand)
    letters = [
        to_debtor(base, 1, "Anna Peeters", "Kerkstraat 1", "C1001"),
        to_debtor(base, 2, "Société Wéry & Fils", "Rue de l'Église 22", "C1002"),
        # a blank line in the values column: no customer number
        to_debtor(base, 3, "TAVARES AVV", "Wolfstraße 7", ""),
        # a value too long for its column goes in <span class="fit">
        to_debtor(base, 4, "Jan Janssens", "Lange Lozanastraat 142", "CUSTOMER-0000000000000000000000004"),
    ]
    result = renderer.render_batch(letters)
    assert not result.problems
    assert counts["kept"] == 0 and counts["taken"] in (4, 8)  # 8: longer letters' second pass takes them again
    # one probe per skeleton (rows and their layout), not one per letter
    assert renderer._fields.laid_out <= 3
    for rendered, letter in zip(result.letters, letters, strict=True):
        text = page_text(result.pdf, rendered.first_page)
        assert letter.debtor.name in text and letter.debtor.address_lines[0] in text
        if letter.debtor.customer_number:
            assert letter.debtor.customer_number in text
    same_as_one_pass(renderer, result, letters)


def test_a_swiss_letter_places_its_fields_too() -> None:
    renderer = LetterRenderer()
    counts = counting(renderer)
    letter = sample_letter(LetterKind.FIRST_REMINDER, "de", "default")
    swiss = dataclasses.replace(
        letter,
        creditor=dataclasses.replace(
            letter.creditor,
            iban="CH4431999123000889012",
            address=dataclasses.replace(letter.creditor.address, country="CH", postal_code="8000", city="Zürich"),
        ),
        currency="CHF",
        reference="210000000003139471430009017",
        debtor=dataclasses.replace(letter.debtor, country="CH", address_lines=("Bahnhofstrasse 1", "8001 Zürich")),
    )
    result = renderer.render_batch([swiss])
    if result.problems:  # the sample's Swiss variant is made by check_brand; this one must render too
        pytest.fail(str(result.problems))
    assert counts["taken"] == 1
    same_as_one_pass(renderer, result, [swiss])


def test_a_character_the_font_lacks_leaves_the_block_to_weasyprint() -> None:
    """A fallback font could make the line taller: that letter is laid out as before, the others are not."""
    renderer = LetterRenderer()
    counts = counting(renderer)
    base = sample_letter(LetterKind.FIRST_REMINDER, "en", "default")
    letters = [
        to_debtor(base, 1, "Wang Wei 王伟", "High Street 1", "C1"),
        to_debtor(base, 2, "Ann Lee", "Low Road 2", "C2"),
    ]
    result = renderer.render_batch(letters)
    assert not result.problems
    assert counts == {"taken": 1, "kept": 1}
    same_as_one_pass(renderer, result, letters)


def brand_with(tmp_path: Path, rule: str) -> Path:
    layouts = tmp_path / "layouts"
    shutil.copytree(DEFAULT_LAYOUTS_DIR / "default", layouts / "mybrand")
    css = layouts / "mybrand" / "letter.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n" + rule + "\n", encoding="utf-8")
    return layouts


@pytest.mark.parametrize(
    "rule",
    [
        ".info .values { text-align: right; }",  # needs the text's width: not measured
        ".address { text-transform: uppercase; letter-spacing: 0.5pt; }",
        ".address { white-space: pre-wrap; }",  # could wrap
    ],
)
def test_a_brand_whose_fields_need_layout_keeps_them_in_its_html(tmp_path: Path, rule: str) -> None:
    renderer = LetterRenderer(layouts_dir=brand_with(tmp_path, rule))
    counts = counting(renderer)
    letter = dataclasses.replace(sample_letter(LetterKind.FIRST_REMINDER, "en", "default"), brand="mybrand")
    result = renderer.render_batch([letter])
    assert not result.problems
    assert counts == {"taken": 0, "kept": 1}
    same_as_one_pass(renderer, result, [letter])


def test_a_pdf_variant_lays_its_fields_out() -> None:
    renderer = LetterRenderer(pdf_variant="pdf/a-3b")
    counts = counting(renderer)
    result = renderer.render_batch([sample_letter(LetterKind.FIRST_REMINDER, "en", "default")])
    assert not result.problems
    assert counts == {"taken": 0, "kept": 0}
