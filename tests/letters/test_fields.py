"""Page 1's address and value lines (dunning.letters.fields) and the claim table's body (dunning.letters.rows),
placed from probes laid out once, print what a one-pass rendering prints."""

from __future__ import annotations

import dataclasses
import shutil
import string
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning.letters import LetterKind, LetterRenderer
from dunning.letters.brand import DEFAULT_LAYOUTS_DIR
from dunning.letters.check import differences, one_pass_pdf, placed_text
from dunning.letters.model import Invoice
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


def counting(renderer: LetterRenderer, part: str = "fields") -> dict[str, int]:
    """Count the letters whose field blocks (``fields``) or claim table (``rows``) the renderer takes out."""
    counts = {"taken": 0, "kept": 0}
    cache = getattr(renderer._placed, part)
    take = cache.take

    def counted(*args: str):  # type: ignore[no-untyped-def]
        out = take(*args)
        counts["taken" if out[1] is not None else "kept"] += 1
        return out

    cache.take = counted
    return counts


def same_as_one_pass(renderer: LetterRenderer, result, letters) -> None:  # type: ignore[no-untyped-def]
    """Every character of every page of each letter where a one-pass rendering prints it."""
    for rendered, letter in zip(result.letters, letters, strict=True):
        one_pass = one_pass_pdf(renderer, letter, rendered.page_count)
        found = placed_text(result.pdf, rendered.pages)
        assert differences(found, placed_text(one_pass, range(rendered.page_count))) == [], letter.letter_id


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
    assert renderer._placed.fields.laid_out <= 3
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


def with_invoices(letter, number: int, invoices):  # type: ignore[no-untyped-def]
    owed = sum((invoice.open_amount for invoice in invoices), Decimal(0))
    charged = sum((charge.amount for charge in letter.charges), Decimal(0))
    return dataclasses.replace(letter, letter_id=f"R{number}", invoices=tuple(invoices), total=owed + charged)


@pytest.mark.parametrize(
    ("kind", "language", "brand"),
    [
        (LetterKind.FIRST_REMINDER, "nl", "default"),
        (LetterKind.FIRST_REMINDER, "de", "atelier"),
        (LetterKind.FINAL_NOTICE, "fr", "default"),
        (LetterKind.SECOND_REMINDER, "en", "atelier"),
    ],
)
def test_claim_tables_are_placed_whole_and_print_what_one_pass_prints(
    kind: LetterKind, language: str, brand: str
) -> None:
    renderer = LetterRenderer()
    counts = counting(renderer, "rows")
    base = sample_letter(kind, language, brand)
    day = base.invoices[0].issued
    letters = [
        with_invoices(base, 1, [Invoice("F-1", day, day, Decimal("12.30"))]),
        with_invoices(base, 2, [Invoice("F-2", day, day, Decimal("99999.99"), "Wartung & Support")]),
        # a credit note: an empty due-date cell and a deduction
        with_invoices(
            base, 3, [Invoice("F-3", day, day, Decimal("300.00")), Invoice("CN-9", day, day, Decimal("-20.50"))]
        ),
        with_invoices(base, 4, [Invoice("F-4", day, day, Decimal("7.00"))]),
    ]
    result = renderer.render_batch(letters)
    assert not result.problems
    same_as_one_pass(renderer, result, letters)
    if not base.charges:  # charge labels may be too long for one line: those tables stay in the HTML
        assert counts["kept"] == 0 and counts["taken"] >= 4
        # letters 1, 2 and 4 have the same rows: one probe for them
        assert renderer._placed.rows.laid_out <= 2
    for rendered, letter in zip(result.letters, letters, strict=True):
        text = "".join(page_text(result.pdf, page) for page in rendered.pages)
        for invoice in letter.invoices:
            assert invoice.number in text


@pytest.mark.parametrize(
    "description",
    [
        "A description much too long for the invoice column of the claim table, so it wraps",
        "Wartung 保守",  # a character the body font lacks
    ],
)
def test_a_table_whose_cells_need_layout_stays_in_the_html(description: str) -> None:
    renderer = LetterRenderer()
    counts = counting(renderer, "rows")
    base = sample_letter(LetterKind.FIRST_REMINDER, "de", "default")
    day = base.invoices[0].issued
    letters = [
        with_invoices(base, 1, [Invoice("F-1", day, day, Decimal("10.00"), description)]),
        with_invoices(base, 2, [Invoice("F-2", day, day, Decimal("10.00"), "Wartung")]),
    ]
    result = renderer.render_batch(letters)
    assert not result.problems
    assert counts == {"taken": 1, "kept": 1}
    same_as_one_pass(renderer, result, letters)


def test_a_brand_whose_cells_are_indented_keeps_its_tables(tmp_path: Path) -> None:
    renderer = LetterRenderer(layouts_dir=brand_with(tmp_path, "table.lines td { text-indent: 1mm; }"))
    counts = counting(renderer, "rows")
    letter = dataclasses.replace(sample_letter(LetterKind.FIRST_REMINDER, "en", "default"), brand="mybrand")
    result = renderer.render_batch([letter])
    assert not result.problems
    assert counts == {"taken": 0, "kept": 1}
    same_as_one_pass(renderer, result, [letter])


# Text a ledger may hold: Latin letters with accents, digits, punctuation HTML escapes, a stray
# character the fonts lack now and then, runs of spaces (the address keeps them: white-space: pre).
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.,'&<>\"/" + "éèëçßüöäñøÅŁ€–王"
_TEXT = st.text(
    alphabet=st.sampled_from(list(_ALPHABET)),
    min_size=1,
    max_size=30,
).filter(lambda text: text.strip() != "")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=_TEXT,
    street=_TEXT,
    customer=st.one_of(st.just(""), st.text(alphabet="ABCDEFGHIJ0123456789-", min_size=1, max_size=40)),
    descriptions=st.lists(st.one_of(st.just(""), _TEXT), min_size=1, max_size=4),
    cents=st.lists(st.integers(min_value=-50_000, max_value=99_999_999), min_size=1, max_size=4),
    language=st.sampled_from(["nl", "fr", "de", "en"]),
    brand=st.sampled_from(["default", "atelier"]),
    # the pay link under its code is broken into lines as WeasyPrint breaks it (break-all)
    token=st.text(alphabet=string.ascii_letters + string.digits + "-_./", min_size=1, max_size=90),
)
def test_any_debtor_and_claim_print_in_a_batch_what_one_pass_prints(
    renderer: LetterRenderer, name, street, customer, descriptions, cents, language, brand, token
) -> None:  # type: ignore[no-untyped-def]
    """Whatever is placed or laid out, a batch letter carries the same characters at the same places."""
    base = sample_letter(LetterKind.FIRST_REMINDER, language, brand)
    day = base.invoices[0].issued
    invoices = [
        Invoice(f"F-{i}", day, day, Decimal(amount or 1) / 100, description)
        for i, (amount, description) in enumerate(zip(cents, descriptions, strict=False))
    ]
    if sum(invoice.open_amount for invoice in invoices) <= 0:
        invoices.append(Invoice("F-X", day, day, Decimal("100.00")))
    letter = with_invoices(to_debtor(base, 1, name, street, customer), 1, invoices)
    letter = dataclasses.replace(letter, pay_link=f"https://pay.example.com/p/{token}")
    twin = dataclasses.replace(letter, letter_id="R2")  # twice in the batch: shared blocks stamped as on a night
    result = renderer.render_batch([letter, twin])
    if result.problems:  # refused as the letter model refuses it (e.g. the window): nothing to compare
        assert result.unprintable or all("R1" in p or "R2" in p for p in result.problems)
        return
    same_as_one_pass(renderer, result, [letter, twin])
