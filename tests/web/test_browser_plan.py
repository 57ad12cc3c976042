"""Pay in instalments in a real Chromium (Debian's ``chromium`` through Playwright, as tests/web/test_browser.py),
then the issue's Done-when on the same store: the debtor opens the plans from the page, picks one, accepts
the terms and sees the schedule with instalment 1's own EPC QR code (read back from its pixels); a camt.053
paying instalments 1 and 2 with their own references is matched to both, and the night thanks for each by
email (a real aiosmtpd on 127.0.0.1). axe-core's WCAG 2.1 A/AA rules on every page.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, sync_playwright

from dunning.domain import paylink
from dunning.domain.epc import parse_epc_payload
from dunning.domain.references import parse_reference
from dunning.store import Store, open_store
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.usecases.paypage.claim import PayPageReader
from dunning.usecases.plans.create import list_plans
from dunning.usecases.reconcile.run import reconcile_files
from dunning.workspace import open_workspace
from tests.channels.conftest import SmtpServer, smtp_server
from tests.usecases.messaging.helpers import ENV, case_of, import_and_plan, make_workspace
from tests.usecases.plans.test_plan_bot_e2e import _mails, _night
from tests.usecases.reconcile.camt_build import Payment, write_camt
from tests.web.helpers import VISIT_DAY, running_server
from tests.web.test_browser import CHROMIUM, accessible

__all__ = ["smtp_server"]  # the real aiosmtpd fixture of the channel tests


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).is_file(), "Debian's chromium is missing: run ./setup.sh test (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


def _qr_of(data_uri: str) -> tuple[str, str]:
    png = base64.b64decode(data_uri.split(",", 1)[1])
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    payment = parse_epc_payload(found.text)
    return str(payment.amount), payment.reference


def test_a_debtor_picks_a_plan_pays_two_instalments_and_is_thanked_for_each(
    browser: Browser, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    store: Store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        workspace = make_workspace(tmp_path / "ws", email_transport=f"smtp://{smtp_server.host}:{smtp_server.port}"
                                   "?starttls=off&rate=1000")
        config_path = workspace.root / "dunning.yaml"
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        config["creditor"]["sepa_creditor_id"] = "BE68ZZZ0123456789"  # the plan's page offers a mandate too
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        workspace = open_workspace(workspace.root, environ={})
        import_and_plan(store, workspace)
        secrets = load_secrets(workspace, env=ENV)
        case_id = case_of(store, "D1")  # Jan Peeters, 100.00
        token = paylink.make_token(str(case_id), VISIT_DAY + timedelta(days=workspace.config.paylink.valid_days),
                                   secrets.paylink)
        with running_server(workspace, store, reader=PayPageReader(store, workspace, secrets)) as base:
            context = browser.new_context(locale="en-GB")
            page = context.new_page()
            page.goto(f"{base}/p/{token}?lang=en")
            accessible(page)
            page.get_by_role("link", name="See the instalment plans").click()
            page.wait_for_url(f"{base}/p/{token}/plan?lang=en")
            accessible(page)
            page.get_by_label("3 instalments:", exact=False).check()
            page.get_by_label("I accept these terms").check()
            with page.expect_navigation() as made:
                page.get_by_role("button", name="Agree this plan").click()
            assert made.value is not None and made.value.status == 200
            assert "Your payment plan is agreed" in page.get_by_role("status").inner_text()
            assert "We have emailed you its terms." in page.get_by_role("status").inner_text()
            assert page.get_by_label("Your IBAN").is_visible()
            accessible(page)  # the schedule and the mandate form
            [stored] = list_plans(store)
            first, second, third = stored.plan.instalments
            assert (first.amount, third.amount) == (Decimal("33.33"), Decimal("33.34"))
            qr = page.locator("#plan-qr img")
            assert qr.get_attribute("alt", timeout=2000) is not None
            assert _qr_of(str(qr.get_attribute("src"))) == (str(first.amount), first.reference)
            assert page.locator("#plan-next-reference .value").inner_text() == parse_reference(first.reference).printed
            # the pay page itself now shows the schedule and instalment 1's QR, not the claim's
            page.goto(f"{base}/p/{token}?lang=en")
            assert page.locator("#plan-schedule tbody tr").count() == 3 and page.locator("#pay-heading").count() == 0
            accessible(page)
            context.close()

        # the Done-when: one statement pays instalments 1 and 2 with their own references; both matched, thanked
        statement = write_camt(tmp_path, "dec.xml", "053", [
            Payment(str(first.amount), ref=parse_reference(first.reference).printed, bank_ref="B-1", end_to_end="E-1"),
            Payment(str(second.amount), ref=parse_reference(second.reference).printed, bank_ref="B-2",
                    end_to_end="E-2"),
        ], day=date(2026, 11, 20))
        result = reconcile_files(store, workspace, [statement], as_of=date(2026, 11, 20))
        assert result.summary()["outcomes"]["matched"]["count"] == 2
        seen = len(smtp_server.recorder.messages)
        _night(store, workspace, date(2026, 11, 21))
        subjects = sorted(str(m["Subject"]) for m in _mails(smtp_server, seen) if "jan.peeters" in str(m["To"]))
        [plan] = (p.plan for p in list_plans(store))
        assert [i.status.value for i in plan.instalments] == ["paid", "paid", "scheduled"]
        assert plan.status.value == "active" and plan.open == third.amount
        assert subjects == ["Bedankt voor termijn 1", "Bedankt voor termijn 2"]
    finally:
        store.dispose()
