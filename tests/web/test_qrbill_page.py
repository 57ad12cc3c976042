"""A Swiss creditor's pay page shows the Swiss QR-bill (not the EPC code), and it scans.

The page's SVG is rendered the way a screen would (WeasyPrint, then pypdfium2 to pixels) and decoded
with zxing-cpp, as the letters' codes are; the payload must carry the creditor's IBAN, the page's
total and the case's reference.
"""

from __future__ import annotations

import base64
import re
from decimal import Decimal
from pathlib import Path

import yaml
from starlette.testclient import TestClient
from weasyprint import HTML

from dunning.store import open_store
from dunning.usecases.paypage.links import case_pay_link
from dunning.web.app import create_app
from dunning.workspace import init_workspace, open_workspace
from tests.letters.letters_pdf import decode_qr_codes
from tests.usecases.letters.helpers import LETTER_DAY, letter_actions, plan_letters
from tests.web.helpers import VISIT_AT, VISIT_DAY

SWISS_IBAN = "CH9300762011623852957"


def test_a_swiss_creditors_page_shows_a_qr_bill_that_scans(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    init_workspace(root)
    path = root / "dunning.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["creditor"].update(
        name="Alpenstrom AG", iban=SWISS_IBAN, bic=None, reference="rf", language="de",
        address={"street": "Marktgasse 28", "postal_code": "9400", "city": "Rorschach", "country": "CH"},
    )
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    workspace = open_workspace(root, environ={})
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        plan_letters(store, workspace)
        case_id = letter_actions(store)[0].case_id
        link = case_pay_link(store, workspace, case_id, LETTER_DAY)
        app = create_app(workspace, store, today=lambda: VISIT_DAY, now=lambda: VISIT_AT)
        html = TestClient(app).get(re.sub(r"^https?://[^/]+", "", link) + "&lang=de").text
    finally:
        store.dispose()
    figure = re.search(r'<figure class="qrbill">\s*<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', html)
    assert figure, "no QR-bill on the page"
    assert "BCD\n" not in html and 'class="qr"' not in html  # no EPC code for a Swiss creditor
    total = re.search(r'id="total">([^<]+)<', html)
    assert total
    amount = Decimal(re.sub(r"[^\d]", "", total.group(1))) / 100
    svg = base64.b64decode(figure.group(1)).decode("utf-8")
    pdf = HTML(string=f'<img src="data:image/svg+xml;base64,{figure.group(1)}" style="width: 200mm">').write_pdf()
    (payload,) = decode_qr_codes(pdf)
    lines = payload.splitlines()
    assert lines[:3] == ["SPC", "0200", "1"] and lines[3] == SWISS_IBAN
    assert "Alpenstrom AG" in lines and "Rorschach" in lines
    assert f"{amount:.2f}" in lines and "EUR" in lines
    reference = next(line for line in lines if line.startswith("RF"))
    assert lines[lines.index(reference) - 1] == "SCOR"
    shown = re.search(r'id="field-reference">\s*<dt>[^<]*</dt>\s*<dd><span class="value">([^<]+)<', html)
    assert shown and shown.group(1).replace(" ", "") == reference  # the case's own reference
    # the text alternative says what the code says
    alt = figure.group(2)
    assert "Alpenstrom AG" in alt and "CH93" in alt and reference[:4] in alt.replace(" ", "")
    assert "<svg" in svg
