"""Pay on a date in a real Chromium (Debian's ``chromium`` through Playwright, as tests/web/test_browser.py):
a real uvicorn on 127.0.0.1, the debtor picks a day in the date field and sees the confirmation; a day
past the window is stopped by the browser (the field's ``max``) and, with the browser's check
switched off, refused by the server at the form; axe-core's WCAG 2.1 A/AA rules on every page.

The store is planned but no letter is rendered (the page reads the claim, not the PDF): the link is
made with the workspace's pay-link secret for the day the letters went out, as a letter's would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from dunning.domain import paylink
from dunning.store import Store, open_store
from dunning.usecases.cases.view import case_detail
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.workspace import Workspace
from tests.usecases.letters.helpers import LETTER_DAY, make_workspace, plan_letters
from tests.web.helpers import running_server
from tests.web.test_browser import CHROMIUM, accessible

CASE = 1


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Workspace, str]]:
    root = tmp_path_factory.mktemp("promise-browser")
    store = open_store(f"sqlite:///{root / 'state.db'}")
    try:
        workspace = make_workspace(root / "ws")
        plan_letters(store, workspace)
        expires = LETTER_DAY + timedelta(days=workspace.config.paylink.valid_days)
        token = paylink.make_token(str(CASE), expires, load_secrets(workspace).paylink)
        yield store, workspace, f"/p/{token}"
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).is_file(), "Debian's chromium is missing: run ./setup.sh test (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


def test_a_debtor_picks_a_day_on_the_page_and_sees_the_confirmation(
    browser: Browser, planned: tuple[Store, Workspace, str]
) -> None:
    store, workspace, path = planned
    with running_server(workspace, store) as base:
        context = browser.new_context(locale="en-GB")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(f"{base}{path}?lang=en")
        field = page.get_by_label("I will pay by")
        assert field.get_attribute("min") == "2026-11-06" and field.get_attribute("max") == "2026-11-19"
        accessible(page)

        # past the window: the browser itself stops the form (the field's max)
        field.fill("2026-12-24")
        page.get_by_role("button", name="Confirm this date").click()
        assert field.evaluate("input => input.validity.rangeOverflow") is True
        assert page.url == f"{base}{path}?lang=en"
        # an older browser that does not check: the server refuses it at the form, in words, 400
        page.evaluate("document.querySelector('.promise form').noValidate = true")
        with page.expect_navigation() as refused:
            page.get_by_role("button", name="Confirm this date").click()
        assert refused.value is not None and refused.value.status == 400
        assert page.get_by_role("alert").inner_text() == "Please choose a date no later than 19 November 2026."
        accessible(page)

        # a good day: recorded, and the page after the redirect says so (no more form)
        page.get_by_label("I will pay by").fill("2026-11-12")
        with page.expect_navigation() as done:
            page.get_by_role("button", name="Confirm this date").click()
        assert done.value is not None and done.value.status == 200
        assert page.url == f"{base}{path}?lang=en"
        assert page.get_by_role("status").inner_text() == "Thank you. You said you would pay by 12 November 2026."
        assert page.get_by_label("I will pay by").count() == 0
        accessible(page)
        assert [e for e in errors if "status of 400" not in e] == []  # no CSP violation or script error
        context.close()
    timeline = case_detail(store, str(CASE)).timeline
    assert [e.kind for e in timeline if e.kind.startswith("promise_")] == ["promise_made"]
    assert [e for e in timeline if e.kind == "page_visited"] == []  # opened with ?lang: never counted as a visit
