"""Rendered letters, read back from the PDF: QR codes, reference, window, keep-free zones, page x of y."""

from __future__ import annotations

import dataclasses
import re
import zlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import segno
from letters_pdf import decode_qr_codes, image_boxes, lines_of, page_chars, page_text
from stdnum.ch import esr

from dunning.domain.epc import EpcPayment, epc_payload, parse_epc_payload
from dunning.domain.references import parse_reference
from dunning.letters import LetterKind, LetterRenderer, StatementEntry, preview, render_parallel
from dunning.letters.brand import load_brand
from dunning.letters.geometry import PROFILES
from dunning.letters.samples import SAMPLE_DATE, sample_letter, swiss_sample_letter

LANGUAGES = ("nl", "fr", "de", "en")
BRANDS = ("default", "atelier")
PAGE_LABEL = {"nl": "Pagina {x} van {y}", "fr": "Page {x} sur {y}", "de": "Seite {x} von {y}", "en": "Page {x} of {y}"}


def squash(text: str) -> str:
    return re.sub(r"\s", "", text)


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


@pytest.fixture(scope="module")
def reminders(renderer: LetterRenderer) -> dict[tuple[str, str], tuple[object, bytes]]:
    """A first reminder per language and brand, all rendered in one batch and split."""
    letters = [
        sample_letter(LetterKind.FIRST_REMINDER, lang, brand, letter_id=f"{lang}-{brand}", case_number=100 + i)
        for i, (lang, brand) in enumerate((lang, brand) for lang in LANGUAGES for brand in BRANDS)
    ]
    result = renderer.render_batch(letters)
    assert result.problems == ()
    pdfs = result.split()
    return {(x.debtor.language, x.brand): (x, pdfs[x.letter_id]) for x in letters}


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_epc_qr_decodes_to_the_letters_data(reminders, lang: str, brand: str) -> None:
    letter, pdf = reminders[(lang, brand)]
    codes = decode_qr_codes(pdf)
    epc = [c for c in codes if c.startswith("BCD")]
    assert len(epc) == 1, codes
    decoded = parse_epc_payload(epc[0])
    assert decoded.name == letter.creditor.name
    assert decoded.iban == letter.creditor.iban.replace(" ", "")
    assert decoded.bic == letter.creditor.bic
    assert decoded.amount == letter.total
    assert parse_reference(decoded.reference) == parse_reference(letter.reference)
    assert letter.pay_link + "?m=q" in codes  # the second code: the pay page, the link marked as scanned


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_payment_data_repeated_in_text(reminders, lang: str, brand: str) -> None:
    letter, pdf = reminders[(lang, brand)]
    text = norm(page_text(pdf, 0))
    printed = parse_reference(letter.reference).printed
    assert parse_reference(printed).compact == letter.reference  # the printed reference validates
    for expected in (letter.creditor.name, "IBAN", printed, letter.pay_link.split("/p/")[0].removeprefix("https://")):
        assert expected in text.replace(" ", "") or expected in text, expected
    assert re.sub(r"\s", "", letter.creditor.iban) in text.replace(" ", "")
    assert norm(PAGE_LABEL[lang].format(x=1, y=1)) in text


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_address_in_window_and_nothing_else(reminders, lang: str, brand: str) -> None:
    letter, pdf = reminders[(lang, brand)]
    envelope = load_brand(brand).envelope
    chars = page_chars(pdf)
    in_window = [c for c in chars if envelope.window.overlaps(c.left, c.top, c.right, c.bottom)]
    found = list(lines_of(in_window).values())  # spaces are not characters with boxes
    address = [letter.debtor.name, *letter.debtor.address_lines]
    assert found[1:] == [squash(line) for line in address], found
    assert squash(letter.creditor.name) in found[0]  # the return line, first line of the window
    # the recipient lies wholly in the part of the window that always shows
    address_chars = [c for c in in_window if c.top > envelope.address_box.y - 1]
    assert address_chars
    for c in address_chars:
        assert envelope.readable.contains(c.left, c.top, c.right, c.bottom), c
    return_chars = [c for c in in_window if c.top < envelope.address_box.y - 1]
    assert all(envelope.return_box.contains(c.left, c.top, c.right, c.bottom, slack=0.5) for c in return_chars)
    for left, top, right, bottom in image_boxes(pdf):
        assert not envelope.window.overlaps(left, top, right, bottom), "an image enters the window"


@pytest.mark.parametrize("brand", BRANDS)
def test_keep_free_zones_and_qr_placement(reminders, brand: str) -> None:
    letter, pdf = reminders[("de", brand)]
    envelope = load_brand(brand).envelope
    chars = page_chars(pdf)
    for zone in envelope.keep_free:
        intruders = [c.text for c in chars if zone.overlaps(c.left, c.top, c.right, c.bottom)]
        assert not intruders, (zone, "".join(intruders))
    images = image_boxes(pdf)
    qr_boxes = [b for b in images if abs((b[2] - b[0]) - (b[3] - b[1])) < 0.5 and b[2] - b[0] > 15]
    assert len(qr_boxes) == 2
    for _left, top, _right, bottom in qr_boxes:
        for fold in envelope.fold_marks:
            assert not top - 3 < fold < bottom + 3, "a QR code lies on a fold"
    # the EPC code (the larger one) is printed at >= 0.4 mm per module, quiet zone included
    payload = epc_payload(EpcPayment(name=letter.creditor.name, iban=letter.creditor.iban, amount=letter.total,
                                     bic=letter.creditor.bic, reference=letter.reference))
    modules = segno.make(payload, error="m", boost_error=False, encoding="utf-8").symbol_size(border=4)[0]
    epc_width = max(b[2] - b[0] for b in qr_boxes)
    assert epc_width / modules >= 0.4


def test_din_profile_figures() -> None:
    din = PROFILES["din5008b-dl"]
    assert din.fold_marks == (105.0, 210.0) and din.punch_mark == 148.5
    assert (din.address_box.x, din.address_box.bottom) == (25.0, 90.0)
    pingen = PROFILES["pingen"]
    assert (pingen.window.x, pingen.window.y, pingen.window.width, pingen.window.height) == (22.0, 60.0, 85.5, 25.5)


def test_fold_marks_are_printed_for_the_print_house(reminders) -> None:
    _, pdf = reminders[("nl", "default")]
    document = pdfium.PdfDocument(pdf)
    page = document[0]
    height = page.get_height()
    marks = []
    for obj in page.get_objects(max_depth=4):
        _left, bottom, right, top = obj.get_bounds()
        if right * 25.4 / 72 < 12 and (top - bottom) < 2:
            marks.append(round((height - (top + bottom) / 2) * 25.4 / 72, 1))
    document.close()
    for y in (105.0, 148.5, 210.0):
        assert any(abs(m - y) <= 0.3 for m in marks), (y, marks)


def test_every_kind_in_every_language_renders(renderer: LetterRenderer) -> None:
    letters = [
        sample_letter(kind, lang, brand, letter_id=f"{kind.value}-{lang}-{brand}")
        for kind in LetterKind for lang in LANGUAGES for brand in BRANDS
    ]
    result = renderer.render_batch(letters)
    assert result.problems == ()
    assert len(result.letters) == len(letters)
    subjects = {"nl": "Rekeningoverzicht", "fr": "Relevé de compte", "de": "Kontoauszug", "en": "Statement of account"}
    for placed, letter in zip(result.letters, letters, strict=True):
        assert placed.letter_id == letter.letter_id
        text = norm(page_text(result.pdf, placed.first_page))
        assert letter.debtor.name in text
        if letter.kind is LetterKind.ACCOUNT_STATEMENT:
            assert subjects[letter.debtor.language].lower() in text.lower()  # atelier: small caps
        if letter.kind is LetterKind.PAYMENT_CONFIRMATION:
            assert not any(c.startswith("BCD") for c in decode_qr_codes(result.pdf, placed.first_page, dpi=150))


def test_legal_mentions_belgium_and_netherlands(renderer: LetterRenderer) -> None:
    be = sample_letter(LetterKind.FIRST_REMINDER, "nl", letter_id="be")
    nl = sample_letter(LetterKind.FIRST_REMINDER, "nl", letter_id="nl", dutch=True)
    result = renderer.render_batch([be, nl])
    pdfs = result.split()
    be_text, nl_text = norm(page_text(pdfs["be"], 0)), norm(page_text(pdfs["nl"], 0))
    # figures of the rule packs: the Book XIX cap on €296.90 is €30 + 10 % of €146.90; posted Tuesday 24
    # November, the 14 days run from the 3rd working day (Friday 27) to 10 December included
    assert "€ 296,90" in be_text and "€ 44,69" in be_text and "uiterlijk op 10 december 2026" in be_text
    assert "14 kalenderdagen" in be_text and "ondernemingsnummer BE 0403.170.701" in be_text
    assert "binnen veertien dagen vanaf de dag nadat deze brief bij u is bezorgd" in nl_text
    assert "€ 44,54" in nl_text and "Betalingskenmerk" in nl_text  # WIK: 15 % of €296.90
    # presumed delivered Thursday 26 November (2nd day after posting): 14 days from Friday 27
    assert "bij bezorging op 26 november 2026 dus uiterlijk op 10 december 2026" in nl_text


def test_page_x_of_y_per_letter_in_a_batch(renderer: LetterRenderer) -> None:
    long_statement = sample_letter(LetterKind.ACCOUNT_STATEMENT, "de", letter_id="long")
    entries = tuple(
        StatementEntry(SAMPLE_DATE - timedelta(days=200 - i), f"Abschlag {i}", Decimal("12.00"), f"R-{i:04d}")
        for i in range(90)
    )
    total = sum((e.amount for e in entries), Decimal(0))
    long_statement = dataclasses.replace(long_statement, statement=entries, total=total)
    letters = [
        sample_letter(LetterKind.FIRST_REMINDER, "en", letter_id="before"),
        long_statement,
        sample_letter(LetterKind.SECOND_REMINDER, "fr", "atelier", letter_id="after"),
    ]
    result = renderer.render_batch(letters)
    assert result.problems == ()
    before, middle, after = result.letters
    assert before.page_count == 1 and after.page_count == 1
    assert middle.page_count >= 3
    assert middle.first_page == 1 and after.first_page == 1 + middle.page_count
    assert "Page 1 of 1" in page_text(result.pdf, 0)
    for x in range(1, middle.page_count + 1):
        text = page_text(result.pdf, middle.first_page + x - 1)
        assert f"Seite {x} von {middle.page_count}" in text
        if x > 1:  # a continuation page says whose letter it is
            assert "Erika Mustermann · Kundennummer 4711-0815" in norm(text)
    assert "Erika Mustermann · Kundennummer" not in norm(page_text(result.pdf, middle.first_page))  # page 1: the window
    assert "Page 1 sur 1" in page_text(result.pdf, after.first_page)
    # the statement's payment part sits on its first page, and its QR code pays the balance
    epc = [c for c in decode_qr_codes(result.pdf, middle.first_page) if c.startswith("BCD")]
    assert parse_epc_payload(epc[0]).amount == total
    # split: one PDF per letter with its own pages
    pdfs = result.split()
    assert [len(pdfium.PdfDocument(pdfs[k])) for k in ("before", "long", "after")] == [1, middle.page_count, 1]


def test_swiss_creditor_gets_a_qr_bill(renderer: LetterRenderer) -> None:
    letter = swiss_sample_letter("de")
    result = renderer.render_batch([letter])
    assert result.problems == ()
    codes = decode_qr_codes(result.pdf, 0)
    spc = [c for c in codes if c.startswith("SPC")]
    assert spc and not any(c.startswith("BCD") for c in codes)
    fields = spc[0].splitlines()
    assert fields[3] == letter.creditor.iban.replace(" ", "")
    assert Decimal(fields[18]) == letter.total and fields[19] == "CHF"
    # the debtor ("payable by") as a structured address read from the letter's address lines
    assert fields[20:27] == ["S", letter.debtor.name, "Marktgasse", "28", "9400", "Rorschach", "CH"]
    assert fields[27] == "QRR" and fields[28] == letter.reference and esr.is_valid(fields[28])
    text = norm(page_text(result.pdf, 0))
    assert "Zahlteil" in text and "Empfangsschein" in text
    assert f"Seite 1 von {result.letters[0].page_count}" in text


def test_bad_letters_are_reported_and_skipped(renderer: LetterRenderer) -> None:
    good = sample_letter(LetterKind.FIRST_REMINDER, "nl", letter_id="good")
    bad_iban = dataclasses.replace(
        sample_letter(LetterKind.FIRST_REMINDER, "nl", letter_id="bad-iban"),
        creditor=dataclasses.replace(good.creditor, iban="BE68 5390 0754 7035"),
    )
    bad_total = dataclasses.replace(good, letter_id="bad-total", total=Decimal("1.00"))
    bad_ref = dataclasses.replace(good, letter_id="bad-ref", reference="+++123/4567/89003+++")
    result = renderer.render_batch([bad_iban, good, bad_total, bad_ref, good])
    assert [r.letter_id for r in result.letters] == ["good"]
    problems = " | ".join(result.problems)
    assert "'bad-iban'" in problems and "iban" in problems
    assert "'bad-total'" in problems and "total" in problems
    assert "'bad-ref'" in problems and "reference" in problems
    assert "duplicate" in problems


def test_render_parallel_keeps_order_and_ranges() -> None:
    letters = [sample_letter(LetterKind.FIRST_REMINDER, "nl", letter_id=f"P{i}", case_number=500 + i) for i in range(6)]
    results = list(render_parallel(letters, workers=2, chunk_size=2))
    assert [r.letter_id for res in results for r in res.letters] == [f"P{i}" for i in range(6)]
    assert all(res.pdf.startswith(b"%PDF") and res.page_count == 2 for res in results)


def test_preview_writes_pdf_and_png(tmp_path: Path) -> None:
    png = preview("final_notice", "fr", "atelier", tmp_path / "notice.pdf")
    assert png == tmp_path / "notice.png"
    assert (tmp_path / "notice.pdf").read_bytes().startswith(b"%PDF")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "mise en demeure" in page_text((tmp_path / "notice.pdf").read_bytes(), 0).lower()


def test_pdfa_variant(tmp_path: Path) -> None:
    renderer = LetterRenderer(pdf_variant="pdf/a-2b")
    result = renderer.render_batch([sample_letter(LetterKind.FIRST_REMINDER, "de", letter_id="A")])
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", result.pdf, re.S)
    texts = [result.pdf]
    for raw in streams:
        try:
            texts.append(zlib.decompress(raw))
        except zlib.error:
            continue
    assert any(b'pdfaid:part="2"' in t or b"<pdfaid:part>2</pdfaid:part>" in t for t in texts)


def test_qr_bill_debtor_with_a_care_of_line_and_a_post_office_box(renderer: LetterRenderer) -> None:
    letter = swiss_sample_letter("fr", letter_id="CH-POBOX")
    lines = ("c/o Fiduciaire Muster", "Case postale 1220", "1211 Genève")
    debtor = dataclasses.replace(letter.debtor, address_lines=lines)
    result = renderer.render_batch([dataclasses.replace(letter, debtor=debtor)])
    assert result.problems == ()
    spc = next(c for c in decode_qr_codes(result.pdf, 0) if c.startswith("SPC")).splitlines()
    assert spc[20:27] == [
        "S", f"{letter.debtor.name}, c/o Fiduciaire Muster", "Case postale 1220", "", "1211", "Genève", "CH"
    ]


def word_box(chars: list, word: str, after: float = 0.0) -> tuple[float, float, float]:
    """(left, right, top) in mm of the ink of the first printed ``word`` below ``after`` mm (spaces ignored)."""
    chars = [c for c in chars if c.top > after]
    text = "".join(c.text for c in chars)
    start = text.index(squash(word))
    found = chars[start:start + len(squash(word))]
    return found[0].left, found[-1].right, found[0].top


@pytest.mark.parametrize("brand", BRANDS)
def test_claim_table_columns_line_up_with_their_head(renderer: LetterRenderer, brand: str) -> None:
    """The head of the claim table is a table of its own (a shared block): the body's columns must
    land under it, also when the first row is a credit note, and when the second reminder adds charges."""
    base = sample_letter(LetterKind.SECOND_REMINDER, "en", brand)
    credit_first = dataclasses.replace(
        base, letter_id="CREDIT-FIRST",
        invoices=(dataclasses.replace(base.invoices[0], number="CN-7", open_amount=Decimal("-20.00")),
                  *base.invoices[1:]),
        total=base.total - base.invoices[0].open_amount - Decimal("20.00"),
    )
    labels = renderer._labels["en"]
    result = renderer.render_batch([base, credit_first])
    assert result.problems == ()
    for letter, rendered in zip((base, credit_first), result.letters, strict=True):
        chars = page_chars(result.pdf, rendered.first_page)
        fmt = renderer._context(letter)["f"]
        head_date = word_box(chars, labels["invoice_date"])
        head_amount = word_box(chars, labels["open_amount"])
        last = letter.invoices[-1]
        body_date = word_box(chars, fmt.date(last.issued), after=head_date[2])
        body_amount = word_box(chars, fmt.money(last.open_amount), after=head_date[2])
        total = word_box(chars, fmt.money(letter.total), after=body_amount[2])
        assert abs(body_date[0] - head_date[0]) < 0.5, (letter.letter_id, body_date, head_date)
        assert abs(body_amount[1] - head_amount[1]) < 0.5, (letter.letter_id, body_amount, head_amount)
        assert abs(total[1] - head_amount[1]) < 0.5
        assert head_amount[1] < 190.5  # inside the 20 mm right margin


def test_swiss_german_is_spelled_with_ss_and_amounts_follow_the_debtors_locale(renderer: LetterRenderer) -> None:
    """Issue 17: Swiss German writes "ss" (the letter's own words; names and addresses as given), and the body's
    amounts are in babel's format of the debtor's locale (de_CH, fr_CH), whatever the QR-bill prints."""
    swiss_de = dataclasses.replace(swiss_sample_letter("de", letter_id="CH-DE"), locale="")
    debtor = dataclasses.replace(swiss_de.debtor, name="Jürgen Weiß", address_lines=("Weißgasse 3", "9400 Rorschach"))
    swiss_de = dataclasses.replace(swiss_de, debtor=debtor)
    # a Belgian creditor writing German to a German debtor: "ß" stays
    german = sample_letter(LetterKind.FIRST_REMINDER, "de", letter_id="DE-DE")
    swiss_fr = dataclasses.replace(swiss_sample_letter("fr", letter_id="CH-FR"), locale="")
    result = renderer.render_batch([swiss_de, german, swiss_fr])
    assert result.problems == ()
    first, second = result.letters[0].page_count, result.letters[1].page_count
    ch_de, de, ch_fr = (norm(page_text(result.pdf, page)) for page in (0, first, first + second))
    assert "Mit freundlichen Grüssen" in ch_de and "Grüßen" not in ch_de
    assert "Jürgen Weiß" in ch_de and "Weißgasse 3" in ch_de  # the data is printed as given
    assert "ß" not in ch_de.replace("Jürgen Weiß", "").replace("Weißgasse", "")
    assert "Mit freundlichen Grüßen" in de
    # babel: de_CH "CHF 1'949.75", fr_CH "1'949,75 CHF" (not de_DE's "1.949,75 CHF" nor fr_BE's "1 949,75 CHF")
    assert "CHF 1’949.75" in ch_de or "CHF 1'949.75" in ch_de
    assert "1’949,75 CHF" in ch_fr or "1'949,75 CHF" in ch_fr
    assert "1.949,75" not in ch_de and "1 949,75" not in ch_fr
