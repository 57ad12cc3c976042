"""The pay page's questions-and-disputes form in a real Chromium (Debian's ``chromium`` through Playwright):
a debtor disputes the amount, sees the acknowledgement, switches language (each of nl/fr/de/en in its own
words), and axe-core finds no WCAG 2.1 A/AA violation on any of these pages. The case is then on hold
with a task for a person."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from dunning.domain import paylink
from dunning.store import Store, open_store
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.usecases.planning.tasks import list_tasks
from dunning.workspace import Workspace
from tests.usecases.letters.helpers import LETTER_DAY, letter_actions, make_workspace, plan_letters
from tests.web.helpers import running_server

CHROMIUM = Path("/usr/bin/chromium")
WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
FORM_HEADING = {
    "nl": "Een vraag of een probleem met deze vordering?",
    "fr": "Une question ou un problème avec cette créance ?",
    "de": "Eine Frage oder ein Problem mit dieser Forderung?",
    "en": "A question or a problem with this claim?",
}
SENT_HEADING = {
    "nl": "We hebben uw bericht ontvangen",
    "fr": "Nous avons bien reçu votre message",
    "de": "Wir haben Ihre Nachricht erhalten",
    "en": "We have received your message",
}
NAMES = {"nl": "Nederlands", "fr": "Français", "de": "Deutsch", "en": "English"}


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Workspace, int]]:
    """The example's nights up to the letters of 2 November (not rendered: the page needs the store only)."""
    root = tmp_path_factory.mktemp("dispute-browser")
    store = open_store(f"sqlite:///{root / 'state.db'}")
    try:
        workspace = make_workspace(root / "ws")
        plan_letters(store, workspace)
        yield store, workspace, int(letter_actions(store)[0].case_id)
    finally:
        store.dispose()


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


def test_a_debtor_disputes_the_amount_sees_the_acknowledgement_in_each_language(
    browser: Browser, planned: tuple[Store, Workspace, int]
) -> None:
    store, workspace, case_id = planned
    expires = LETTER_DAY + timedelta(days=workspace.config.paylink.valid_days)
    token = paylink.make_token(str(case_id), expires, load_secrets(workspace).paylink)
    with running_server(workspace, store) as base:
        context = browser.new_context(locale="en-GB")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        for language in ("nl", "fr", "de", "en"):  # the form on the pay page, in each language
            page.goto(f"{base}/p/{token}?lang={language}")
            assert page.get_by_role("heading", name=FORM_HEADING[language]).is_visible()
            accessible(page)

        # a question needs words: the form comes back, explained
        page.get_by_role("radio", name="Something else").check()
        page.get_by_role("button", name="Send").click()
        page.wait_for_selector('[data-page="dispute-error"]')
        assert page.get_by_role("alert").is_visible()
        accessible(page)

        page.get_by_role("radio", name="The amount is wrong").check()
        page.get_by_label(re.compile("^Your message")).fill("Invoice 2 was credited on 3 November.")
        page.get_by_role("button", name="Send").click()
        page.wait_for_url(re.compile(r"/question\?lang=en$"))
        assert page.get_by_role("heading", name=SENT_HEADING["en"]).is_visible()
        assert "no further reminders" in page.locator('[data-page="dispute-sent"]').inner_text()
        accessible(page)

        for language in ("fr", "de", "nl", "en"):
            page.get_by_role("link", name=NAMES[language]).click()
            page.wait_for_url(re.compile(rf"/question\?lang={language}$"))
            assert page.locator("html").get_attribute("lang") == language
            assert page.get_by_role("heading", name=SENT_HEADING[language]).is_visible()
            accessible(page)
        # no CSP violation or script error (Chromium logs the refused form's 400 status itself)
        assert [e for e in errors if "status of 400" not in e] == []
        context.close()
    [task] = [t for t in list_tasks(store, case_id=case_id) if t.dispute]
    assert (task.dispute, task.message, task.hold) == ("wrong_amount", "Invoice 2 was credited on 3 November.", "on")
