"""The pay page in a real Chromium (Debian's ``chromium``, driven by Playwright; ``./setup.sh test``
installs it): a real uvicorn on 127.0.0.1, the link read from a real rendered letter's QR code, the
letter's total, language switching, copy buttons, axe-core's WCAG 2.1 A/AA rules on every page, an
expired and a revoked link, and a bank transfer that closes the case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from dunning.domain import paylink
from dunning.usecases.cases.view import case_detail
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.usecases.paypage.revoke import restore_links, revoke_links
from tests.web.helpers import VISIT_DAY, Letters, pay_in_full, running_server

CHROMIUM = Path("/usr/bin/chromium")
WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), "Debian's chromium is missing: run ./setup.sh test (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


def accessible(page: Page) -> None:
    results = Axe().run(page, options=WCAG_21_AA)
    assert results.violations_count == 0, results.generate_report()


def amount_digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_a_debtor_scans_the_letter_sees_its_total_switches_language_and_pays(
    browser: Browser, sqlite_letters: Letters
) -> None:
    store, workspace, letter = sqlite_letters.store, sqlite_letters.workspace, sqlite_letters.sent[0]
    with running_server(workspace, store) as base:
        context = browser.new_context(locale="en-GB")
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

        # the link exactly as the letter's QR code carries it, on this server instead of the public host
        page.goto(base + letter.path)
        assert page.title().startswith(("Uw betaling", "Votre paiement", "Ihre Zahlung", "Your payment"))
        total = page.locator("#total").inner_text()
        assert amount_digits(total) == amount_digits(f"{letter.epc_amount:.2f}")  # the letter's EPC amount
        printed_total = re.search(r"(\d[\d.]*,\d\d)", total)
        assert printed_total and printed_total.group(1) in letter.text  # and the letter's printed total
        assert page.locator(".qr img").get_attribute("alt")
        accessible(page)

        # the copy buttons appear with the script (progressive enhancement) and copy the reference
        button = page.locator("#field-reference button.copy")
        assert button.is_visible()
        button.click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert re.sub(r"\D", "", copied) == re.sub(r"\D", "", letter.reference)

        for language, heading in (
            ("fr", "Payer maintenant par virement"),
            ("de", "Jetzt per Überweisung bezahlen"),
            ("en", "Pay now by bank transfer"),
            ("nl", "Nu betalen met een overschrijving"),
        ):
            page.get_by_role(
                "link", name={"fr": "Français", "de": "Deutsch", "en": "English", "nl": "Nederlands"}[language]
            ).click()
            page.wait_for_url(re.compile(rf"lang={language}$"))
            assert page.locator("html").get_attribute("lang") == language
            assert page.get_by_role("heading", name=heading).is_visible()
            assert amount_digits(page.locator("#total").inner_text()) == amount_digits(total)
            accessible(page)
        assert errors == []  # no CSP violation or script error in the console

        # the visit is on the case's timeline, by the QR code (language switches are not visits)
        timeline = case_detail(store, str(letter.case_id)).timeline
        assert [e.why for e in timeline if e.kind == "page_visited"] == ["opened through the letter's QR code"]

        # pays by transfer: the bank file closes the case, and the same link now says so
        pay_in_full(store, workspace, letter, sqlite_letters.root)
        page.goto(base + letter.path)
        assert page.locator('[data-page="paid"]').is_visible()
        assert page.locator("#total").count() == 0
        accessible(page)
        context.close()


def test_an_expired_or_broken_link_shows_how_to_reach_the_creditor(browser: Browser, sqlite_letters: Letters) -> None:
    store, workspace, letter = sqlite_letters.store, sqlite_letters.workspace, sqlite_letters.sent[1]
    secret = load_secrets(workspace).paylink
    expired = paylink.make_token(str(letter.case_id), VISIT_DAY - timedelta(days=1), secret)
    assert paylink.read_token(expired, secret, date(2026, 1, 1)).expires < VISIT_DAY
    with running_server(workspace, store) as base:
        context = browser.new_context(locale="de-DE")
        page = context.new_page()
        answer = page.goto(f"{base}/p/{expired}")
        assert answer is not None and answer.status == 410
        assert page.get_by_role("heading", name="Dieser Zahlungslink ist abgelaufen").is_visible()
        assert page.get_by_role("link", name="debiteuren@brabant-energie.example").is_visible()
        accessible(page)
        broken = page.goto(f"{base}{letter.path.split('?')[0][:-4]}")
        assert broken is not None and broken.status == 404
        assert page.locator('[data-page="invalid"]').is_visible()
        accessible(page)
        # without JavaScript the page still gives every detail, only the copy buttons stay hidden
        quiet = browser.new_context(java_script_enabled=False).new_page()
        quiet.goto(base + letter.path)
        assert quiet.locator("#field-iban .value").inner_text().startswith("BE68")
        assert not quiet.locator("#field-iban button.copy").is_visible()
        # a revoked link: its own words, the creditor's contact, and accessible too
        revoke_links(store, workspace, str(letter.case_id), reason="wrong address", by="test", on=VISIT_DAY,
                     at=datetime(2026, 11, 5, 8, 0, tzinfo=UTC))
        try:
            revoked = page.goto(base + letter.path)
            assert revoked is not None and revoked.status == 410
            assert page.get_by_role("heading", name="Dieser Zahlungslink wird nicht mehr verwendet").is_visible()
            assert page.get_by_role("link", name="debiteuren@brabant-energie.example").is_visible()
            accessible(page)
        finally:
            restore_links(store, workspace, str(letter.case_id), by="test", on=VISIT_DAY,
                          at=datetime(2026, 11, 5, 8, 0, tzinfo=UTC))
        context.close()
