"""Paying online in a real Chromium: the button on an accessible page leads (through the page's CSP
``form-action``, which Chromium enforces on a form's redirect) to the provider's checkout, and the
return page after a signed webhook says the payment was received."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, sync_playwright

from dunning.adapters.stripe import StripeProvider
from dunning.web.app import page_prefix
from tests.servers.stripe import stripe_server
from tests.web.helpers import Letters, running_server
from tests.web.test_browser import CHROMIUM, accessible
from tests.web.test_provider import SIGNED_AT, provider_workspace


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), "Debian's chromium is missing: run ./setup.sh test (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


def test_the_pay_online_button_leads_to_the_checkout_and_back(browser: Browser, sqlite_letters: Letters) -> None:
    letter = sqlite_letters.sent[0]
    with stripe_server() as stripe:
        workspace = provider_workspace(sqlite_letters, stripe)
        provider = StripeProvider(stripe.base_url, stripe.secret_key, stripe.webhook_secret)
        with running_server(workspace, sqlite_letters.store, provider=provider) as base:
            stripe.webhook_url = f"{base}{page_prefix(workspace)}/online/webhook"
            page = browser.new_context(locale="nl-BE").new_page()
            page.goto(base + letter.path)
            button = page.locator("#pay-online")
            assert button.inner_text().startswith("Online betalen (Bancontact, iDEAL, kaart)")
            accessible(page)
            button.click()
            page.wait_for_url(f"{stripe.base_url}/c/pay/*")
            session_id = page.locator("#checkout").inner_text()
            assert stripe.sessions[session_id]["metadata"]["case"] == str(letter.case_id)
            status, body = stripe.deliver(stripe.complete(session_id), at=SIGNED_AT)
            assert (status, json.loads(body)["outcome"]) == (200, "booked")
            # Stripe sends the debtor back to the success URL, with the session id filled in
            back = stripe.sessions[session_id]["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
            parts = urlsplit(back)
            page.goto(f"{base}{parts.path}?{parts.query}")
            assert page.locator('[data-page="online-paid"]').is_visible()
            accessible(page)
