"""``print.marks``: a workspace's batches carry inserter marks on every sheet, inside the printer's margin.

Read back from the delivered batch PDF: the DataMatrix on each sheet's front decodes to the job,
the letter's place in the batch and its sheet x of y (zxing-cpp), and the job ticket records the marks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp

from dunning.store import Store
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from tests.usecases.letters.helpers import LETTER_DAY, RECORDED, make_workspace, plan_letters

MM = 72 / 25.4


@pytest.mark.parametrize("kind", ["datamatrix", "omr", "none"])
def test_batches_carry_the_marks_the_print_profile_asks_for(store: Store, tmp_path: Path, kind: str) -> None:
    workspace = make_workspace(tmp_path / "ws", marks=kind, margin_mm=6)
    plan_letters(store, workspace)
    assert render_letters(store, workspace, LETTER_DAY, workers=1, recorded_at=RECORDED).rendered
    sent = send_letters(store, workspace, LETTER_DAY, recorded_at=RECORDED)
    assert sent.problems == [] and sent.batches
    folder = workspace.root / "output" / "print"
    for batch_id in sent.batches:
        ticket = json.loads((folder / f"{batch_id}.ticket.json").read_text(encoding="utf-8"))
        manifest = json.loads((folder / f"{batch_id}.manifest.json").read_text(encoding="utf-8"))["letters"]
        if kind == "none":
            assert ticket["marks"] is None
            continue
        assert ticket["marks"]["kind"] == kind and ticket["marks"]["x_mm"] - ticket["marks"]["clear_mm"] >= 6
        document = pdfium.PdfDocument(folder / f"{batch_id}.pdf")
        try:
            first = manifest[0]
            page = document[first["first_page"] - 1]
            # the left margin strip beside the text, 0-25 mm wide, 110-150 mm down
            crop = (0, (297 - 150) * MM, (210 - 25) * MM, 110 * MM)
            image = page.render(scale=600 / 72, crop=crop).to_pil()
        finally:
            document.close()
        if kind == "datamatrix":
            (code,) = [b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.DataMatrix)]
            assert code[4:10] == "000001" and code[10:12] == "01"  # the batch's first letter, its first sheet
            assert code[12:14] == f"{first['sheets']:02d}" and code[14] == ("1" if first["sheets"] == 1 else "0")
        else:  # OMR: dark bars in the strip, none within the 6 mm margin
            grey = image.convert("L")
            width, height = grey.size
            dark = [x for x in range(width) for y in range(0, height, 4) if grey.getpixel((x, y)) < 100]
            assert dark and min(dark) / (600 / 25.4) >= 6.0
