"""Assembling a batch: page ranges, blank backs, manifests, ticket, determinism, inserter marks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp

from dunning.errors import InputError
from dunning.print import BatchingRules, MarkSettings, PrintLetter, assemble_batch, plan_batches
from dunning.print.assemble import datamatrix_payload, load_assembled_batch, omr_positions, read_manifest_csv
from tests.print.conftest import SampleDebtor, sha256_of

DAY = date(2026, 11, 24)
Letters = list[tuple[PrintLetter, SampleDebtor]]


def page_text(pdf: pdfium.PdfDocument, number: int) -> str:
    page = pdf[number - 1]
    text = page.get_textpage().get_text_range()
    return str(text)


def assemble_all(letters: Letters, out: Path, **kw: object) -> list:  # type: ignore[type-arg]
    plan = plan_batches([x for x, _ in letters], DAY, BatchingRules(home_country="BE"))
    return [assemble_batch(b, out, run_date=DAY, **kw) for b in plan.batches]  # type: ignore[arg-type]


def test_manifest_page_ranges_match_the_pdf(rendered_letters: Letters, tmp_path: Path) -> None:
    debtors = {letter.debtor_id: debtor for letter, debtor in rendered_letters}
    pages = {letter.letter_id: letter.page_count for letter, _ in rendered_letters}
    batches = assemble_all(rendered_letters, tmp_path)
    assert sum(len(b.rows) for b in batches) == len(rendered_letters)
    for batch in batches:
        pdf = pdfium.PdfDocument(batch.pdf)
        rows = read_manifest_csv(batch.manifest_csv)
        assert [r["letter_id"] for r in rows] == [r.letter_id for r in batch.rows]
        expected_first = 1
        for row in rows:
            first, count, blanks = int(row["first_page"]), int(row["page_count"]), int(row["blank_pages"])
            assert first == expected_first  # contiguous, in manifest order
            assert count == pages[row["letter_id"]]
            debtor = debtors[row["debtor_id"]]
            text = page_text(pdf, first)
            # the letter's first page carries its own debtor's address, and no other debtor's name
            assert debtor.name in text
            assert f"{debtor.postal_code} {debtor.city}" in text
            assert not [d.name for d in debtors.values() if d is not debtor and d.name in text]
            # the blank back really is empty
            for blank in range(first + count, first + count + blanks):
                assert page_text(pdf, blank).strip() == ""
            assert int(row["sheets"]) == (count + blanks) // 2  # all test letters are duplex
            assert row["batch_sha256"] == sha256_of(batch.pdf)
            expected_first = first + count + blanks
        assert len(pdf) == expected_first - 1  # nothing after the last letter
        pdf.close()


def test_manifest_json_ticket_and_grouping(rendered_letters: Letters, tmp_path: Path) -> None:
    batches = assemble_all(rendered_letters, tmp_path)
    codes = {json.loads(b.ticket.read_text())["profile"]["code"]: b for b in batches}
    # BE letters domestic in DL, the 11-page letter (6 sheets) moved to C4, NL/DE international
    assert set(codes) == {"DK-DL-STANDARD-DOM", "DK-C4-STANDARD-DOM", "DK-DL-STANDARD-INT"}
    domestic = codes["DK-DL-STANDARD-DOM"]
    assert [r.postal_code for r in domestic.rows] == ["1000", "2000", "3000", "3500", "9000"]
    ticket = json.loads(domestic.ticket.read_text())
    manifest = json.loads(domestic.manifest_json.read_text())
    assert manifest["batch_sha256"] == sha256_of(domestic.pdf) == ticket["files"]["pdf"]["sha256"]
    assert ticket["files"]["manifest_csv"]["sha256"] == sha256_of(domestic.manifest_csv)
    assert ticket["totals"]["letters"] == len(manifest["letters"]) == 5
    assert ticket["totals"]["pages"] == len(pdfium.PdfDocument(domestic.pdf))
    assert ticket["totals"]["sheets"] == sum(r["sheets"] for r in manifest["letters"])
    assert ticket["totals"]["by_country"] == {"BE": 5}
    assert ticket["run_date"] == "2026-11-24"
    big = codes["DK-C4-STANDARD-DOM"].rows[0]
    assert (big.page_count, big.blank_pages, big.sheets, big.envelope) == (11, 1, 6, "C4")


def test_assembly_is_deterministic_and_loadable(rendered_letters: Letters, tmp_path: Path) -> None:
    first = assemble_all(rendered_letters, tmp_path / "a")
    second = assemble_all(rendered_letters, tmp_path / "b")
    assert [b.pdf_sha256 for b in first] == [b.pdf_sha256 for b in second]
    assert [sha256_of(b.ticket) for b in first] == [sha256_of(b.ticket) for b in second]
    loaded = load_assembled_batch(first[0].ticket)
    assert loaded == first[0]
    first[0].manifest_csv.write_text("tampered\n")
    with pytest.raises(InputError, match=r"manifest\.csv: SHA-256 .* differs"):
        load_assembled_batch(first[0].ticket)


def test_a_letter_with_a_wrong_page_count_or_broken_pdf_is_left_out(rendered_letters: Letters, tmp_path: Path) -> None:
    good = [x for x, _ in rendered_letters if x.country == "BE" and x.page_count < 5]
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 not really")
    wrong = PrintLetter(**{**good[0].__dict__, "letter_id": "L-WRONG", "page_count": 3})
    bad = PrintLetter(**{**good[0].__dict__, "letter_id": "L-BROKEN", "pdf": broken})
    as_bytes = PrintLetter(**{**good[1].__dict__, "letter_id": "L-BYTES", "pdf": Path(good[1].pdf).read_bytes()})  # type: ignore[arg-type]
    plan = plan_batches([*good, wrong, bad, as_bytes], DAY, BatchingRules())
    (batch,) = [assemble_batch(b, tmp_path / "out", run_date=DAY) for b in plan.batches]
    assert {r.letter_id for r in batch.rows} == {x.letter_id for x in good} | {"L-BYTES"}
    reasons = {p.letter_id: p.message for p in batch.problems}
    assert reasons["L-WRONG"].startswith(f"PDF has {good[0].page_count} pages but the letter says 3")
    assert reasons["L-BROKEN"].startswith(f"cannot read {broken}")
    ticket = json.loads(batch.ticket.read_text())
    assert {x["letter_id"] for x in ticket["left_out"]} == {"L-WRONG", "L-BROKEN"}
    assert ticket["totals"]["pages"] == len(pdfium.PdfDocument(batch.pdf))


def render(
    pdf_path: Path, number: int, scale: float = 600 / 72, crop: tuple[float, float, float, float] = (0, 0, 0, 0)
) -> np.ndarray:
    """Page ``number`` as a grey image; ``crop`` = points cut off (left, bottom, right, top)."""
    pdf = pdfium.PdfDocument(pdf_path)
    bitmap = pdf[number - 1].render(scale=scale, grayscale=True, crop=crop)
    return np.asarray(bitmap.to_pil().convert("L"))


MM = 72 / 25.4
DATAMATRIX = zxingcpp.barcode_formats_from_str("DataMatrix")
# the left margin band from 100 mm to 150 mm from the top, where the marks are by default
MARK_BAND = (0.0, (297 - 150) * MM, (210 - 40) * MM, 100 * MM)


def test_datamatrix_marks_decode_to_job_sequence_sheet_and_end_of_set(
    rendered_letters: Letters, tmp_path: Path
) -> None:
    marks = MarkSettings(kind="datamatrix", job_number=42)
    batches = assemble_all(rendered_letters, tmp_path, marks=marks)
    batch = next(b for b in batches if json.loads(b.ticket.read_text())["profile"]["code"] == "DK-DL-STANDARD-DOM")
    # duplex: a mark on each sheet's front page, none on the backs
    seen = []
    for row in batch.rows:
        for sheet in range(1, row.sheets + 1):
            front = row.first_page + 2 * (sheet - 1)
            found = zxingcpp.read_barcodes(render(batch.pdf, front, crop=MARK_BAND), formats=DATAMATRIX)
            assert [b.text for b in found] == [datamatrix_payload(42, row.sequence, sheet, row.sheets)]
            seen.append(found[0].text)
            back = zxingcpp.read_barcodes(render(batch.pdf, front + 1, crop=MARK_BAND), formats=DATAMATRIX)
            assert back == []
    # the 3-page letter (2 sheets) ends its set on sheet 2 only
    three = next(r for r in batch.rows if r.page_count == 3)
    assert datamatrix_payload(42, three.sequence, 1, 2).endswith("01020")
    assert datamatrix_payload(42, three.sequence, 2, 2) in seen
    # the address is still readable next to the mark (the mark did not paint over the letter)
    pdf = pdfium.PdfDocument(batch.pdf)
    assert "Chloé Dubois" in page_text(pdf, 1)


def test_omr_marks_are_bars_at_the_documented_positions(rendered_letters: Letters, tmp_path: Path) -> None:
    marks = MarkSettings(kind="omr", x_mm=5, y_mm=120, size_mm=10)
    batches = assemble_all(rendered_letters, tmp_path, marks=marks)
    batch = next(b for b in batches if b.rows[0].page_count == 11)  # the C4 letter, 6 sheets
    dpi = 300
    image = render(batch.pdf, 1 + 2 * 5, scale=dpi / 72)  # sheet 6 of 6: end of set
    x = int((5 + 5) / 25.4 * dpi)  # middle of the bars
    column = image[:, x] < 128
    bars = []
    for position in range(7):
        centre_mm = 120 + position * 4.23 + 0.25
        bars.append(bool(column[int(centre_mm / 25.4 * dpi)]))
    expected = omr_positions(6, 6)
    assert [p for p, on in enumerate(bars) if on] == expected
    assert 1 in expected and 0 in expected and 6 in expected and len(expected) % 2 == 0


def test_batches_assembled_side_by_side_are_the_batches_assembled_one_by_one(
    rendered_letters: Letters, tmp_path: Path
) -> None:
    """dunning letters assembles a night's batches in several processes: same files, same order."""
    from dunning.usecases.letters.assembly import BatchJob, assemble_batches

    plan = plan_batches([x for x, _ in rendered_letters], DAY, BatchingRules(home_country="BE", max_letters=3))
    assert len(plan.batches) >= 3
    marks = MarkSettings(kind="datamatrix")
    one_by_one = [assemble_batch(b, tmp_path / "a", run_date=DAY, marks=marks) for b in plan.batches]
    jobs = [BatchJob(b, tmp_path / "b", DAY) for b in plan.batches]
    side_by_side = list(assemble_batches(jobs, marks, workers=2, min_letters=1))
    assert [b.batch_id for b in side_by_side] == [b.batch_id for b in one_by_one]
    for mine, theirs in zip(side_by_side, one_by_one, strict=True):
        assert mine.pdf_sha256 == theirs.pdf_sha256
        assert mine.rows == theirs.rows
        assert [sha256_of(f) for f in mine.files] == [sha256_of(f) for f in theirs.files]
        assert mine.pdf.parent == tmp_path / "b"
