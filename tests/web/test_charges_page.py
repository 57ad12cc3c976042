"""The pay page names each cost and interest line as the letter does, on SQLite and PostgreSQL: the rule
pack's label, for interest its rate, base and period, and the legal basis, word for word as printed in the
letter, and in another language when the debtor switches."""

from __future__ import annotations

import re
from html import unescape

from starlette.testclient import TestClient

from dunning.store import Store
from dunning.usecases.paypage.claim import PayPageReader
from dunning.web.app import create_app
from dunning.workspace import Workspace
from tests.web.helpers import VISIT_AT, VISIT_DAY, Letters


def client(workspace: Workspace, store: Store) -> TestClient:
    app = create_app(workspace, store, today=lambda: VISIT_DAY, now=lambda: VISIT_AT)
    return TestClient(app, raise_server_exceptions=False)


def charge_rows(html: str) -> list[str]:
    cells = re.findall(r'<tr class="charge"[^>]*><th scope="row" colspan="3">([^<]+)</th>', html)
    return [_flat(unescape(cell)) for cell in cells]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def test_the_page_states_each_charge_with_its_legal_basis_as_the_letter_does(letters: Letters) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent
    http = client(workspace, store)
    reader = PayPageReader(store, workspace)
    checked = 0
    for letter in sent:
        token = letter.path.split("/")[-1].split("?")[0]
        page = reader.page(token, VISIT_DAY)
        if not page.charges:
            continue
        html = http.get(f"/p/{token}?lang={page.language}").text
        rows = charge_rows(html)
        assert len(rows) == len(page.charges)
        letter_text = _flat(letter.text)
        for row, charge in zip(rows, page.charges, strict=True):
            assert charge.basis and f"({_flat(charge.basis)})" in row  # the law it rests on
            assert row in letter_text, (row, letter_text)  # word for word as the letter prints it
            checked += 1
        # in another language: the same charges named and based in that language
        other = "de" if page.language != "de" else "fr"
        html = http.get(f"/p/{token}?lang={other}").text
        rows = charge_rows(html)
        assert rows == [_flat(line) for line in page.charge_lines(other)]
        assert rows != [_flat(line) for line in page.charge_lines(page.language)]
    assert checked, "no letter with costs or interest in the example"
