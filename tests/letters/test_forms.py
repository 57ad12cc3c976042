"""Page 1 in two layers (form + data) must print exactly what a one-pass rendering prints."""

from __future__ import annotations

import dataclasses
import io

import pikepdf
import pytest

from dunning.letters import LetterKind, LetterRenderer, RenderPool
from dunning.letters.check import differences, image_boxes, one_pass_pdf, placed_text
from dunning.letters.samples import sample_letter
from tests.letters.letters_pdf import decode_qr_codes, page_text


def forms_drawn(pdf_bytes: bytes) -> list[list[tuple[int, int]]]:
    """Per page, the Form XObjects of dunning.letters.forms drawn on it (object numbers)."""
    out = []
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        for page in pdf.pages:
            xobjects = page.Resources.get("/XObject", {})
            drawn = [
                xobjects[str(operands[0])].objgen
                for operands, operator in pikepdf.parse_content_stream(page)
                if str(operator) == "Do" and str(operands[0]).startswith("/DunForm")
            ]
            out.append(drawn)
    return out


@pytest.mark.parametrize(
    ("kind", "language", "brand"),
    [
        (LetterKind.FIRST_REMINDER, "nl", "default"),
        (LetterKind.FIRST_REMINDER, "de", "atelier"),
        (LetterKind.FINAL_NOTICE, "fr", "default"),
        (LetterKind.PAYMENT_CONFIRMATION, "en", "atelier"),
    ],
)
def test_form_and_data_layers_print_what_one_pass_prints(
    renderer: LetterRenderer, kind: LetterKind, language: str, brand: str
) -> None:
    letter = sample_letter(kind, language, brand)
    layered = renderer.render_batch([letter])
    assert not layered.problems
    one_pass = one_pass_pdf(renderer, letter, layered.letters[0].page_count)  # "page 1 of n" alike
    expected = placed_text(one_pass, range(1))
    found = placed_text(layered.pdf, range(1))
    assert len(found) > 30
    assert differences(found, expected) == []
    # The QR codes stamped into the data layer's empty boxes sit where the one-pass images do.
    one_pass_images = sorted(image_boxes(one_pass))
    stamped_images = sorted(image_boxes(layered.pdf))
    assert len(stamped_images) == len(one_pass_images)
    for got, want in zip(stamped_images, one_pass_images, strict=True):
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 0.1, (got, want)


def test_a_split_letter_carries_only_its_own_codes(renderer: LetterRenderer) -> None:
    base = sample_letter(LetterKind.FIRST_REMINDER, "nl", "default")
    letters = [
        dataclasses.replace(
            base, letter_id=f"S{i}", case_number=f"C{i:04d}", reference=f"{i + 1:010d}" + f"{(i + 1) % 97 or 97:02d}",
            pay_link=f"https://pay.example.com/p/token{i}",
        )
        for i in range(3)
    ]
    result = renderer.render_batch(letters)
    assert not result.problems
    parts = result.split()
    for i, letter in enumerate(letters):
        pdf = parts[letter.letter_id]
        with pikepdf.open(io.BytesIO(pdf)) as opened:
            images = [
                name for page in opened.pages for name, xobject in page.Resources.get("/XObject", {}).items()
                if xobject.get("/Subtype") == "/Image"
            ]
        assert len(images) == 2  # its EPC code and its pay-link code, not the batch's six
        codes = decode_qr_codes(pdf)
        assert f"https://pay.example.com/p/token{i}?m=q" in codes
        assert any(code.startswith("BCD\n") and letter.reference in code.replace(" ", "") for code in codes)


def test_a_form_is_laid_out_once_and_stored_once_per_batch() -> None:
    renderer = LetterRenderer()
    base = sample_letter(LetterKind.FIRST_REMINDER, "nl", "default")
    letters = [
        dataclasses.replace(
            base, letter_id=f"L{i}", case_number=f"C{i:04d}", reference=f"{i + 1:010d}" + f"{(i + 1) % 97 or 97:02d}"
        )
        for i in range(5)
    ]
    other_language = dataclasses.replace(sample_letter(LetterKind.FIRST_REMINDER, "fr", "default"), letter_id="F1")
    result = renderer.render_batch([*letters, other_language])
    assert not result.problems
    assert renderer._forms.laid_out == 2  # one form for the five Dutch letters, one for the French one

    drawn = forms_drawn(result.pdf)
    assert [len(drawn[r.first_page]) for r in result.letters] == [1] * 6
    first_pages = [drawn[r.first_page][0] for r in result.letters]
    assert len(set(first_pages[:5])) == 1  # the five Dutch letters share one Form XObject
    assert first_pages[5] != first_pages[0]

    # A second batch reuses the laid-out forms.
    renderer.render_batch(letters[:2])
    assert renderer._forms.laid_out == 2


def test_letters_to_different_debtors_share_one_form() -> None:
    """Name, customer number and address are the letter's own layer, continuation pages' running head too:
    a form per debtor would lay out page 1 twice for every letter (issue 17: 24.7 letters/s instead of 45)."""
    renderer = LetterRenderer()
    base = sample_letter(LetterKind.FIRST_REMINDER, "nl", "default")
    letters = [
        dataclasses.replace(
            base, letter_id=f"D{i}", case_number=f"C{i:04d}",
            debtor=dataclasses.replace(base.debtor, name=f"Debiteur {i}", customer_number=f"K{i:05d}",
                                       address_lines=(f"Kerkstraat {i}", f"{1000 + i} Brussel")),
        )
        for i in range(4)
    ]
    result = renderer.render_batch(letters)
    assert not result.problems
    assert renderer._forms.laid_out == 1
    for i, placed in enumerate(result.letters):
        text = page_text(result.pdf, placed.first_page)
        assert f"Debiteur {i}" in text and f"K{i:05d}" in text and f"Kerkstraat {i}" in text


def test_a_pool_keeps_its_renderer_across_loads() -> None:
    """`dunning letters` feeds one pool load after load: each form is laid out once per run, not per load."""
    base = sample_letter(LetterKind.FIRST_REMINDER, "nl", "default")
    letters = [dataclasses.replace(base, letter_id=f"P{i}", case_number=f"C{i:04d}") for i in range(4)]
    with RenderPool(workers=1) as pool:
        first = list(pool.render([(letters[:2], frozenset())]))
        second = list(pool.render([(letters[2:], frozenset({"default"}))]))  # this load's brand in one pass
        assert pool._local is not None and pool._local._forms.laid_out == 1
    assert [r.letter_id for res in first + second for r in res.letters] == [f"P{i}" for i in range(4)]
    assert [len(d) for d in forms_drawn(second[0].pdf)] == [0, 0]  # one pass: no form stamped
    assert [len(d) for d in forms_drawn(first[0].pdf)] == [1, 1]


def test_only_page_one_gets_the_form(renderer: LetterRenderer) -> None:
    letter = sample_letter(LetterKind.ACCOUNT_STATEMENT, "en", "default")
    long_statement = dataclasses.replace(letter, statement=letter.statement * 12) if letter.statement else letter
    result = renderer.render_batch([long_statement])
    assert result.letters[0].page_count >= 2
    stamped = [bool(drawn) for drawn in forms_drawn(result.pdf)]
    assert stamped == [True] + [False] * (len(stamped) - 1)
