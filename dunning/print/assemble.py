"""Building a batch for the print house: one PDF, its manifests and a job ticket.

For a :class:`~dunning.print.batching.PlannedBatch` this writes, into ``out_dir``:

``<batch>.pdf``
    every letter's pages in batch order, with a blank back after odd duplex letters, and optionally
    machine marks on the front of every sheet for the folder-inserter (see below). Pages are copied
    with PDFium's page import (pypdfium2; ~1 300 letters/s here against ~165 with pypdf), and the
    marks are appended as content streams with pypdf.
``<batch>.manifest.csv`` / ``<batch>.manifest.json``
    one row per letter: batch id, sequence, letter id, case id, debtor id, first page (1-based, in the
    batch PDF), page count, blank pages, sheets, envelope, postage class, country, postal code and
    the batch PDF's SHA-256. The print house splits the PDF by these page ranges (research/letters.md
    §2.4 option a).
``<batch>.ticket.json``
    the job ticket: profile, totals (letters, pages, sheets, per country), file names, sizes and
    SHA-256 of the PDF and the manifests.

Every file is written under a temporary name and renamed, and the PDF is byte-for-byte
deterministic (same letters and date → same SHA-256: PDFium's clock time and random file id are
replaced by values derived from the run date and the content), so assembling again after a crash
gives the same batch, which the delivery then recognises on the print house's side.
A letter whose PDF cannot be read or has another page count than announced is left out and reported;
the rest of the batch goes on.

**Inserter marks** (``MarkSettings``): on the front of each sheet, inside a white clear zone,
either a square **DataMatrix** (zxing-cpp's writer) holding 15 digits
``JJJJ SSSSSS xx yy E`` = job number, letter sequence in the batch, sheet x of y, end-of-set flag
(1 on the letter's last sheet: insert) — the fixed-width scheme of research/letters.md §2.5 — or
**OMR** bars (``kind="omr"``) in the Pitney Bowes/Quadient style: positions 0 start (always),
1 end-of-set, 2–4 sheet sequence (binary, wraps at 8), 5 parity (total marks even), 6 safety (always).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import pypdfium2 as pdfium
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, IndirectObject, NameObject

from dunning.csvcells import safe_row
from dunning.errors import InputError
from dunning.ports import write_atomic
from dunning.print.batching import BatchProblem, PlannedBatch, PlannedLetter

MM = 72 / 25.4  # PDF points per millimetre

MANIFEST_FIELDS = (
    "batch_id",
    "sequence",
    "letter_id",
    "case_id",
    "debtor_id",
    "first_page",
    "page_count",
    "blank_pages",
    "sheets",
    "envelope",
    "postage_class",
    "country",
    "postal_code",
    "batch_sha256",
)


@dataclass(frozen=True)
class MarkSettings:
    """Per-sheet marks for the folder-inserter; positions in mm from the page's top-left corner."""

    kind: Literal["datamatrix", "omr"] = "datamatrix"
    #: 0–9999; default: derived from the batch id (see :func:`job_number_for`).
    job_number: int | None = None
    x_mm: float = 5.0
    y_mm: float = 120.0  # below the address window and the first fold (DIN 5008 B: 105 mm)
    size_mm: float = 8.0  # DataMatrix side; OMR: bar length
    clear_mm: float = 2.0  # white margin painted around the marks
    omr_pitch_mm: float = 4.23  # 1/6 inch between OMR bars
    omr_thickness_mm: float = 0.5


def mark_settings(kind: str, margin_mm: float = 5.0) -> MarkSettings | None:
    """The marks of a print profile (``print.marks``: none, omr or datamatrix), inside its printer margin.

    The marks' white clear zone starts at the printer's margin, and the marks (x 7 mm by default,
    y 120-146 mm at most) stay clear of the fold and punch marks (:func:`mark_collisions`).
    """
    if kind == "none":
        return None
    if kind not in ("omr", "datamatrix"):
        raise ValueError(f"print marks {kind!r}: expected none, omr or datamatrix")
    base = MarkSettings(kind="omr" if kind == "omr" else "datamatrix")
    return MarkSettings(kind=base.kind, x_mm=max(base.x_mm, margin_mm + base.clear_mm))


def mark_zone(settings: MarkSettings) -> tuple[float, float, float, float]:
    """The sheet area (left, top, right, bottom, mm) the marks and their clear zone take."""
    omr = 6 * settings.omr_pitch_mm + settings.omr_thickness_mm
    height = settings.size_mm if settings.kind == "datamatrix" else omr
    return (settings.x_mm - settings.clear_mm, settings.y_mm - settings.clear_mm,
            settings.x_mm + settings.size_mm + settings.clear_mm, settings.y_mm + height + settings.clear_mm)


def mark_collisions(settings: MarkSettings, lines: Iterable[float], margin_mm: float = 0.0) -> list[str]:
    """Why these marks cannot go on the sheet: a fold or punch line (mm from the top) through their zone,
    or their zone inside the printer's margin."""
    left, top, _right, bottom = mark_zone(settings)
    found = [f"the marks ({top:.1f}-{bottom:.1f} mm) lie on the line at {y:g} mm" for y in lines if top <= y <= bottom]
    if left < margin_mm - 0.01:
        found.append(f"the marks start {left:.1f} mm from the edge, inside the printer's {margin_mm:g} mm margin")
    return found


@dataclass(frozen=True)
class ManifestRow:
    batch_id: str
    sequence: int
    letter_id: str
    case_id: str
    debtor_id: str
    first_page: int
    page_count: int
    blank_pages: int
    sheets: int
    envelope: str
    postage_class: str
    country: str
    postal_code: str
    batch_sha256: str


@dataclass(frozen=True)
class AssembledBatch:
    """A batch on the local disk, ready to deliver."""

    batch_id: str
    pdf: Path
    manifest_csv: Path
    manifest_json: Path
    ticket: Path
    pdf_sha256: str
    rows: tuple[ManifestRow, ...]
    problems: tuple[BatchProblem, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        """The files in the order they are delivered: PDF first, then manifests and ticket."""
        return (self.pdf, self.manifest_csv, self.manifest_json, self.ticket)


def job_number_for(batch_id: str) -> int:
    """A stable 4-digit job number for a batch (the marks have room for 4 digits)."""
    return int(hashlib.sha256(batch_id.encode()).hexdigest(), 16) % 10000


def datamatrix_payload(job: int, sequence: int, sheet: int, sheets: int) -> str:
    """``JJJJ SSSSSS xx yy E`` without spaces; sequence wraps at 10⁶, sheets at 100.

    >>> datamatrix_payload(17, 123, 2, 2)
    '001700012302021'
    """
    end_of_set = 1 if sheet == sheets else 0
    return f"{job % 10000:04d}{sequence % 1_000_000:06d}{sheet % 100:02d}{sheets % 100:02d}{end_of_set}"


def omr_positions(sheet: int, sheets: int) -> list[int]:
    """Which of the 7 OMR positions carry a bar on sheet ``sheet`` of ``sheets``."""
    marks = [0]
    if sheet == sheets:
        marks.append(1)
    sequence = (sheet - 1) % 8
    marks += [2 + bit for bit in range(3) if sequence & (4 >> bit)]
    if (len(marks) + 1) % 2:  # +1 for the safety mark: keep the total even
        marks.append(5)
    marks.append(6)
    return marks


def _datamatrix_ops(payload: str, x: float, y_top: float, size: float) -> bytes:
    import numpy as np
    import zxingcpp

    symbol = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.DataMatrix, forceSquare=True)
    modules = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False)) < 128
    rows, cols = modules.shape
    cell = size / max(rows, cols)
    ops = []
    for r in range(rows):
        c = 0
        while c < cols:
            if modules[r, c]:
                start = c
                while c < cols and modules[r, c]:
                    c += 1
                left, bottom = x + start * cell, y_top - (r + 1) * cell
                ops.append(f"{left:.3f} {bottom:.3f} {(c - start) * cell:.3f} {cell:.3f} re")
            else:
                c += 1
    return ("\n".join(ops) + "\nf\n").encode()


def _marks_stream(
    settings: MarkSettings, job: int, sequence: int, sheet: int, sheets: int, left: float, top: float
) -> bytes:
    """PDF operators painting the clear zone white and then the marks in black."""
    x = left + settings.x_mm * MM
    y_top = top - settings.y_mm * MM
    clear = settings.clear_mm * MM
    if settings.kind == "datamatrix":
        width = height = settings.size_mm * MM
        body = _datamatrix_ops(datamatrix_payload(job, sequence, sheet, sheets), x, y_top, width)
    else:
        width = settings.size_mm * MM
        pitch, thick = settings.omr_pitch_mm * MM, settings.omr_thickness_mm * MM
        height = 6 * pitch + thick
        bars = [
            f"{x:.3f} {y_top - p * pitch - thick:.3f} {width:.3f} {thick:.3f} re" for p in omr_positions(sheet, sheets)
        ]
        body = ("\n".join(bars) + "\nf\n").encode()
    zone = (
        f"1 g {x - clear:.3f} {y_top - height - clear:.3f} {width + 2 * clear:.3f} {height + 2 * clear:.3f} re f 0 g\n"
    )
    return b"Q q 1 0 0 1 0 0 cm\n" + zone.encode() + body + b"Q\n"




def _open_letter(planned: PlannedLetter) -> pdfium.PdfDocument | str:
    source = planned.letter.pdf
    try:
        document = pdfium.PdfDocument(source)
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        where = "its PDF bytes" if isinstance(source, bytes) else str(source)
        return f"cannot read {where}: {exc}"
    if len(document) != planned.pages:
        count = len(document)
        document.close()
        return f"PDF has {count} pages but the letter says {planned.pages}"
    return document


def _join_letters(
    batch: PlannedBatch, run_date: date
) -> tuple[bytes, list[tuple[PlannedLetter, int]], list[BatchProblem]]:
    """Import every letter's pages (PDFium, C speed) plus blank backs; return the PDF bytes."""
    joined = pdfium.PdfDocument.new()
    problems: list[BatchProblem] = []
    placed: list[tuple[PlannedLetter, int]] = []  # (letter, first page 1-based)
    for planned in batch.letters:
        letter = _open_letter(planned)
        if isinstance(letter, str):
            problems.append(BatchProblem(planned.letter.letter_id, letter))
            continue
        first = len(joined) + 1
        joined.import_pages(letter)
        width, height = letter.get_page_size(planned.pages - 1)  # without loading the page
        for _ in range(planned.blank_pages):
            joined.new_page(width, height)
        letter.close()
        placed.append((planned, first))
    buffer = io.BytesIO()
    joined.save(buffer)
    joined.close()
    return _make_deterministic(buffer.getvalue(), run_date), placed, problems


_INFO_REF = re.compile(rb"/Info\s+(\d+)\s+0\s+R")
_CREATION_DATE = re.compile(rb"/CreationDate\s*\(D:\d{14}[+\-]\d\d'\d\d'\)")
_TRAILER_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]{32})>\s*<([0-9A-Fa-f]{32})>\s*\]")


def _make_deterministic(pdf: bytes, run_date: date) -> bytes:
    """Replace PDFium's clock time (``/CreationDate``) and random ``/ID`` by values derived from the
    run date and the content, keeping every byte offset: the same letters give the same SHA-256."""
    data = bytearray(pdf)
    trailer_at = data.rfind(b"trailer")
    info = _INFO_REF.search(data, trailer_at) if trailer_at >= 0 else None
    if info is not None:
        start = data.find(b"\n" + info.group(1) + b" 0 obj")
        end = data.find(b"endobj", start)
        found = _CREATION_DATE.search(data, start, end) if start >= 0 else None
        if found is not None:
            stamp = f"/CreationDate(D:{run_date:%Y%m%d}000000+00'00')".encode()
            data[found.start() : found.end()] = stamp.ljust(found.end() - found.start())
    ident = _TRAILER_ID.search(data, max(trailer_at, 0))
    if ident is not None:
        for group in (1, 2):
            data[ident.start(group) : ident.end(group)] = b"0" * 32
        digest = hashlib.sha256(data).hexdigest()[:32].upper().encode()
        for group in (1, 2):
            data[ident.start(group) : ident.end(group)] = digest
    assert len(data) == len(pdf)
    return bytes(data)


def _add_marks(pdf: bytes, placed: list[tuple[PlannedLetter, int]], marks: MarkSettings, job: int) -> bytes:
    """Paint the inserter marks on the front of every sheet (pypdf: appends content streams)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    opening = writer._add_object(_stream(b"q\n"))
    for sequence, (planned, first) in enumerate(placed, start=1):
        step = 2 if planned.letter.duplex else 1
        for sheet in range(1, planned.sheets + 1):
            page = writer.pages[first - 1 + (sheet - 1) * step]
            box = page.mediabox
            ops = _marks_stream(marks, job, sequence, sheet, planned.sheets, float(box.left), float(box.top))
            _append_content(writer, page, opening, ops)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def assemble_batch(
    batch: PlannedBatch, out_dir: Path, *, run_date: date, marks: MarkSettings | None = None
) -> AssembledBatch:
    """Write the batch PDF, manifests (CSV, JSON) and job ticket into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    job = marks.job_number if marks and marks.job_number is not None else job_number_for(batch.batch_id)
    pdf_bytes, placed, problems = _join_letters(batch, run_date)
    if marks is not None:
        pdf_bytes = _add_marks(pdf_bytes, placed, marks, job)
    pdf_sha = hashlib.sha256(pdf_bytes).hexdigest()
    page_total = sum(p.pages + p.blank_pages for p, _ in placed)

    rows = tuple(
        ManifestRow(
            batch_id=batch.batch_id,
            sequence=sequence,
            letter_id=p.letter.letter_id,
            case_id=p.letter.case_id,
            debtor_id=p.letter.debtor_id,
            first_page=first,
            page_count=p.pages,
            blank_pages=p.blank_pages,
            sheets=p.sheets,
            envelope=p.envelope,
            postage_class=p.letter.postage_class,
            country=p.letter.country.upper(),
            postal_code=p.letter.postal_code,
            batch_sha256=pdf_sha,
        )
        for sequence, (p, first) in enumerate(placed, start=1)
    )
    pdf_path = out_dir / f"{batch.batch_id}.pdf"
    csv_path = out_dir / f"{batch.batch_id}.manifest.csv"
    json_path = out_dir / f"{batch.batch_id}.manifest.json"
    ticket_path = out_dir / f"{batch.batch_id}.ticket.json"
    csv_bytes = manifest_csv(rows)
    json_bytes = _json(
        {
            "batch_id": batch.batch_id,
            "pdf": pdf_path.name,
            "batch_sha256": pdf_sha,
            "letters": [asdict(r) for r in rows],
        }
    )
    ticket = {
        "format": "dunning-print-ticket/1",
        "batch_id": batch.batch_id,
        "run_date": run_date.isoformat(),
        "profile": {
            "code": batch.profile.code,
            "print_mode": "duplex" if batch.profile.duplex else "simplex",
            "colour": "colour" if batch.profile.colour else "black-and-white",
            "envelope": batch.profile.envelope,
            "postage_class": batch.profile.postage_class,
            "destination": "international" if batch.profile.international else "domestic",
            "registered": batch.profile.registered,
        },
        "totals": {
            "letters": len(rows),
            "pages": page_total,
            "blank_pages": sum(r.blank_pages for r in rows),
            "sheets": sum(r.sheets for r in rows),
            "by_country": dict(sorted(Counter(r.country for r in rows).items())),
        },
        "marks": None if marks is None else {**asdict(marks), "job_number": job},
        "files": {
            "pdf": _file_entry(pdf_path.name, pdf_bytes),
            "manifest_csv": _file_entry(csv_path.name, csv_bytes),
            "manifest_json": _file_entry(json_path.name, json_bytes),
        },
        "left_out": [{"letter_id": p.letter_id, "reason": p.message} for p in problems],
    }
    write_atomic(pdf_path, pdf_bytes)
    write_atomic(csv_path, csv_bytes)
    write_atomic(json_path, json_bytes)
    write_atomic(ticket_path, _json(ticket))  # last: its presence means the set is complete
    return AssembledBatch(batch.batch_id, pdf_path, csv_path, json_path, ticket_path, pdf_sha, rows, tuple(problems))


def _stream(data: bytes) -> DecodedStreamObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream


def _append_content(writer: PdfWriter, page: object, opening: IndirectObject, ops: bytes) -> None:
    """Wrap the page's own content in q…Q (it may leave a transformed state) and paint after it."""
    from pypdf import PageObject

    assert isinstance(page, PageObject)
    existing = page.get(NameObject("/Contents"))
    items: list[object] = []
    if existing is not None:
        resolved = existing.get_object()
        items = list(resolved) if isinstance(resolved, ArrayObject) else [existing]
    closing = writer._add_object(_stream(ops))
    page[NameObject("/Contents")] = ArrayObject([opening, *items, closing])


def _file_entry(name: str, data: bytes) -> dict[str, object]:
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def manifest_csv(rows: Iterable[ManifestRow]) -> bytes:
    """The manifest as UTF-8 CSV with a header line (``MANIFEST_FIELDS``)."""
    text = io.StringIO()
    out = csv.DictWriter(text, fieldnames=list(MANIFEST_FIELDS), lineterminator="\n")
    out.writeheader()
    for row in rows:
        # numeric columns are ints and stay numbers; debtor ids and postal codes come from the ledger
        out.writerow(safe_row(asdict(row)))
    return text.getvalue().encode("utf-8")


def load_assembled_batch(ticket: Path) -> AssembledBatch:
    """Load a batch assembled earlier (by another run or process) from its job ticket.

    Checks that the PDF and manifests still have the SHA-256 the ticket recorded; raises
    :class:`~dunning.errors.InputError` naming the file otherwise.
    """
    try:
        data = json.loads(ticket.read_text(encoding="utf-8"))
        files = data["files"]
        batch_id = data["batch_id"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{ticket}: not a dunning job ticket ({exc})") from exc
    folder = ticket.parent
    paths = {key: folder / files[key]["name"] for key in ("pdf", "manifest_csv", "manifest_json")}
    for key, path in paths.items():
        try:
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise InputError(f"{ticket}: {path} cannot be read ({exc})") from exc
        if actual != files[key]["sha256"]:
            raise InputError(f"{path}: SHA-256 {actual} differs from {files[key]['sha256']} in {ticket}")
    manifest = json.loads(paths["manifest_json"].read_text(encoding="utf-8"))
    rows = tuple(ManifestRow(**row) for row in manifest["letters"])
    problems = tuple(BatchProblem(p["letter_id"], p["reason"]) for p in data.get("left_out", []))
    return AssembledBatch(
        batch_id,
        paths["pdf"],
        paths["manifest_csv"],
        paths["manifest_json"],
        ticket,
        files["pdf"]["sha256"],
        rows,
        problems,
    )


def read_manifest_csv(path: Path) -> list[dict[str, str]]:
    """Read a manifest CSV back (for checks and for the lead's reconciliation)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
