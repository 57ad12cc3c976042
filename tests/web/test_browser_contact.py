"""The contact-details form in a real Chromium: a debtor enters a new email, reads the code the server sent
through a real SMTP server on 127.0.0.1, enters it and sees it confirmed; axe-core's WCAG 2.1 A/AA rules
find nothing on any page on the way (the form, its error state, the code form, the confirmation)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from dunning.store import open_store
from dunning.usecases.cases.view import case_detail
from tests.channels.conftest import SmtpServer, smtp_server
from tests.web.contact_helpers import Planned, code_from_mail, planned_workspace
from tests.web.helpers import running_server
from tests.web.test_browser import accessible, browser

__all__ = ["browser", "smtp_server"]


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planned]:
    root = tmp_path_factory.mktemp("contact-browser")
    store = open_store(f"sqlite:///{root / 'state.db'}")
    try:
        yield planned_workspace(root / "ws", store)
    finally:
        store.dispose()


def test_a_debtor_updates_their_email_and_confirms_it_with_the_mailed_code(
    browser: Browser, planned: Planned, smtp_server: SmtpServer
) -> None:
    case_id = planned.no_email[0]
    workspace = planned.with_transport(
        DUNNING_EMAIL_TRANSPORT=f"smtp://{smtp_server.host}:{smtp_server.port}?starttls=off&rate=1000")
    with running_server(workspace, planned.store) as base:
        context = browser.new_context(locale="en-GB")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(f"{base}/p/{planned.link(case_id)}?lang=en")
        accessible(page)
        page.get_by_role("link", name="Update your email or mobile number").click()
        page.wait_for_url("**/contact?lang=en")
        assert page.get_by_role("heading", name="Your email and mobile number").is_visible()
        accessible(page)

        # a mistyped address: the field is marked and the message says what to do
        page.get_by_role("textbox", name="Email address").fill("new.address@")
        page.get_by_role("checkbox", name="by email to this address").check()
        page.get_by_role("radio", name="By email").check()
        page.get_by_role("button", name="Send me a code").click()
        expect(page.get_by_role("alert").first).to_be_visible()
        assert page.locator("#email-error").inner_text().startswith("This email address is not valid")
        assert page.get_by_role("textbox", name="Email address").get_attribute("aria-invalid") == "true"
        accessible(page)

        page.get_by_role("textbox", name="Email address").fill("new.address@example.org")
        page.get_by_role("button", name="Send me a code").click()
        expect(page.get_by_role("heading", name="Enter the code we sent")).to_be_visible()
        assert "n•••@e•••.org" in page.get_by_text("Code sent by email to").inner_text()
        accessible(page)
        [mail] = smtp_server.recorder.messages
        assert mail.rcpt_tos == ["new.address@example.org"]

        page.get_by_role("textbox", name="Code sent by email to").fill(code_from_mail(mail.content))
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", name="Thank you: your details are confirmed")).to_be_visible()
        assert page.locator('[data-confirmed="email"]').is_visible()
        accessible(page)
        # no CSP violation or script error; the refused address's page is a 400, which the console notes
        assert [e for e in errors if "status of 400" not in e] == []
        context.close()
    timeline = case_detail(planned.store, str(case_id)).timeline
    assert [e.kind for e in timeline if e.kind == "contact_confirmed"] == ["contact_confirmed"]
