"""The pay page over HTTP (Starlette's test client), on SQLite and PostgreSQL: the claim behind a real
letter's link, visits recorded per medium, refused links, headers, limits, and no personal data."""

from __future__ import annotations

import dataclasses
import logging
import re
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from dunning.domain import paylink
from dunning.store import Store
from dunning.usecases.cases.view import case_detail
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.usecases.paypage.claim import PayPageReader
from dunning.usecases.paypage.links import local_link
from dunning.web.app import create_app, page_prefix
from dunning.web.i18n import LANGUAGES, TEXTS
from dunning.web.security import CSP
from dunning.workspace import Workspace, init_workspace, open_workspace
from tests.web.helpers import VISIT_AT, VISIT_DAY, Letters, free_port, pay_in_full


def client(workspace: Workspace, store: Store, **options: object) -> TestClient:
    app = create_app(workspace, store, today=lambda: VISIT_DAY, now=lambda: VISIT_AT, **options)  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


def total_on(html: str) -> str:
    found = re.search(r'id="total">([^<]+)<', html)
    assert found, "no total on the page"
    return found.group(1)


def visits(store: Store, case_id: int) -> list[str]:
    return [e.why for e in case_detail(store, str(case_id)).timeline if e.kind == "page_visited"]


def test_the_letters_qr_link_opens_its_claim_with_the_letters_total_and_records_one_visit(letters: Letters) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent
    http = client(workspace, store)
    first = sent[0]
    before = visits(store, first.case_id)
    for letter in sent[:-1]:
        assert letter.pay_link.endswith("?m=q")  # the QR code says it is the QR code
        page = http.get(letter.path)
        assert page.status_code == 200, page.text
        html = page.text
        # the letter's total (its EPC amount) in the debtor's language, and the same EPC payload amount
        assert re.sub(r"[^\d]", "", total_on(html)) == re.sub(r"[^\d]", "", f"{letter.epc_amount:.2f}")
        assert letter.debtor_name not in html  # no more personal data than needed: not even the name
        assert parse_printed(letter.reference) in html
        assert workspace.config.creditor.iban[:4] in html
    assert visits(store, first.case_id) == [*before, "opened through the letter's QR code"]
    # switching language is the same visit; an email link is another one, counted as such
    assert http.get(first.path.replace("?m=q", "?lang=fr")).status_code == 200
    assert http.get(first.path.replace("?m=q", "?m=e")).status_code == 200
    assert http.get(first.path.replace("?m=q", "")).status_code == 200
    assert visits(store, first.case_id) == [
        *before,
        "opened through the letter's QR code",
        "opened through the email's link",
        "opened through the link printed in the letter",
    ]
    entry = [e for e in case_detail(store, str(first.case_id)).timeline if e.kind == "page_visited"][-1]
    assert entry.on_date == VISIT_AT.date() and "09:30 UTC" in entry.what


def parse_printed(reference: str) -> str:
    from dunning.domain.references import parse_reference

    return parse_reference(reference).printed


def test_the_page_speaks_the_debtors_language_and_switches(letters: Letters) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent
    http = client(workspace, store)
    letter = sent[0]
    base = letter.path.split("?")[0]
    titles = {
        "nl": "Nu betalen met een overschrijving",
        "fr": "Payer maintenant par virement",
        "de": "Jetzt per Überweisung bezahlen",
        "en": "Pay now by bank transfer",
    }
    for language, title in titles.items():
        html = http.get(f"{base}?lang={language}").text
        assert f'<html lang="{language}">' in html and title in html
    default = http.get(f"{base}?m=s").text
    assert re.search(r'<html lang="(nl|fr|de|en)">', default)
    assert http.get(f"{base}?lang=xx").status_code == 200  # an unknown language falls back, no error


def test_every_language_has_every_word() -> None:
    keys = set(TEXTS["en"])
    for language in LANGUAGES:
        assert set(TEXTS[language]) == keys, language


def test_expired_garbled_forged_and_unknown_links_get_a_page_with_the_creditors_contact(letters: Letters) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent
    token = sent[0].path.split("/")[-1].split("?")[0]
    expires = paylink.read_token(token, load_secrets(workspace).paylink, VISIT_DAY).expires
    late = client(workspace, store)
    before = visits(store, sent[0].case_id)
    late_app = create_app(workspace, store, today=lambda: expires + timedelta(days=1), now=lambda: VISIT_AT)
    expired = TestClient(late_app, raise_server_exceptions=False).get(sent[0].path)
    assert expired.status_code == 410 and 'data-page="expired"' in expired.text
    assert "debiteuren@brabant-energie.example" in expired.text  # paypage.contact of the template
    secret = load_secrets(workspace).paylink
    forged = paylink.make_token(str(sent[0].case_id), date(2027, 1, 31), b"another-secret-0123456789")
    unknown = paylink.make_token("999999", date(2027, 1, 31), secret)
    for path in (f"/p/{token[:-3]}", "/p/" + "A" * 30, f"/p/{forged}", f"/p/{unknown}", "/p/x", "/nothing"):
        answer = late.get(path)
        assert answer.status_code == 404 and 'data-page="invalid"' in answer.text, path
    assert visits(store, sent[0].case_id) == before  # refused links are no visits
    assert late.post(sent[0].path).status_code == 404


def test_a_failure_shows_a_page_never_a_stack_trace(letters: Letters) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent

    class Broken(PayPageReader):
        def page(self, token: str, today: date):  # type: ignore[no-untyped-def]
            raise RuntimeError("database on fire: Traceback secret")

        def open_in(self, conn, token: str, today: date, visit=None, fingerprint=None):  # type: ignore[no-untyped-def]  # the landing's
            raise RuntimeError("database on fire: Traceback secret")

    answer = client(workspace, store, reader=Broken(store, workspace)).get(sent[0].path)
    assert answer.status_code == 500 and 'data-page="error"' in answer.text
    assert "Traceback" not in answer.text and "on fire" not in answer.text
    assert answer.headers["content-security-policy"] == CSP


def test_every_answer_carries_the_security_headers(letters: Letters) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent
    http = client(workspace, store)
    for path in (
        sent[0].path,
        "/p/garbled-link-0000000000",
        "/p/assets/paypage.css",
        "/p/assets/copy.js",
        "/p/assets/brand.css",
        "/healthz",
    ):
        headers = http.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    page = http.get(sent[0].path)
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text and "onclick" not in page.text
    assert "--primary: #1f3b57" in http.get("/p/assets/brand.css").text  # layouts/default/brand.yaml


def test_rate_limits_per_link_and_per_address(letters: Letters) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent
    config = workspace.config.model_copy(
        update={"paypage": workspace.config.paypage.model_copy(update={"rate_per_link": 3, "rate_per_address": 5})}
    )
    limited = dataclasses.replace(workspace, config=config)
    http = client(limited, store)
    assert [http.get(sent[0].path).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert http.get(sent[1].path).status_code == 200  # another link, same address: 5th request
    busy = http.get(sent[1].path)
    assert busy.status_code == 429 and 'data-page="busy"' in busy.text


def test_the_log_names_routes_never_tokens(letters: Letters, caplog: pytest.LogCaptureFixture) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent
    token = sent[0].path.split("/")[-1].split("?")[0]
    with caplog.at_level(logging.INFO, logger="dunning.web"):
        client(workspace, store).get(sent[0].path)
    lines = [r.getMessage() for r in caplog.records if r.name == "dunning.web"]
    assert lines == [lines[0]] and lines[0].startswith("GET pay_page 200")
    assert token not in caplog.text and sent[0].debtor_name not in caplog.text


def test_a_bank_payment_closes_the_case_and_the_page_then_says_paid(letters: Letters) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent
    letter = sent[-1]  # the other tests keep to the other letters
    http = client(workspace, store)
    assert 'data-page="paid"' not in http.get(letter.path).text
    pay_in_full(store, workspace, letter, letters.root)
    html = http.get(letter.path).text
    assert 'data-page="paid"' in html and "BCD" not in html and 'id="total"' not in html
    reader = PayPageReader(store, workspace)
    token = letter.path.split("/")[-1].split("?")[0]
    page = reader.page(token, VISIT_DAY)
    assert page.paid and page.received == letter.epc_amount and page.total == Decimal("0.00")


def test_the_demo_prints_a_pay_link_that_dunning_serve_opens(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("dunning")
    demo = subprocess.run(
        [str(exe), "demo", str(tmp_path / "demo")], capture_output=True, text=True, timeout=600, check=False
    )
    assert demo.returncode == 0, demo.stderr
    link = next(
        line.strip() for line in demo.stdout.splitlines() if line.strip().startswith("http://127.0.0.1:8000/p/")
    )
    token = link.rsplit("/", 1)[-1].split("?")[0]
    for workers in (1, 2):  # one process, then two sharing the port (--workers)
        port = free_port()
        server = subprocess.Popen(
            [str(exe), "-w", str(tmp_path / "demo"), "serve", "--port", str(port), "--workers", str(workers)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            url = link.replace(":8000/", f":{port}/")
            deadline = time.monotonic() + 180  # a loaded machine imports slowly
            while True:
                try:
                    answer = httpx.get(url, timeout=5)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and server.poll() is None, "dunning serve did not start"
                    time.sleep(0.2)
            assert answer.status_code == 200 and 'id="total"' in answer.text
            assert answer.headers["content-security-policy"] == CSP
            assert all(httpx.get(url, timeout=10).status_code == 200 for _ in range(6))
            if workers > 1:  # uvicorn's supervisor and its worker processes
                children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
                assert len(children) >= workers, children
        finally:
            server.terminate()
            output, _ = server.communicate(timeout=30)
        assert "pay_page 200" in output and token not in output  # uvicorn's access log (with paths) is off
        assert f"{workers} process(es)" in output


def test_paypage_settings_come_from_dunning_yaml_and_the_environment(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws")
    workspace = open_workspace(
        tmp_path / "ws", environ={"DUNNING_PAYPAGE_PORT": "8123", "DUNNING_PAYPAGE_RATE_PER_LINK": "7"}
    )
    config = workspace.config.paypage
    assert (config.host, config.port, config.rate_per_address, config.rate_per_link) == ("127.0.0.1", 8123, 60, 7)
    assert config.contact.email == "debiteuren@brabant-energie.example"  # the template's
    assert page_prefix(workspace) == "/p"  # the path of paylink.base_url
    assert local_link(workspace, "https://pay.example.com/p/abc?m=q") == "http://127.0.0.1:8123/p/abc?m=q"
