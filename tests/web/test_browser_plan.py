"""Issue 19's Done-when as one continuous story over real parts, on SQLite and PostgreSQL.

A debtor holds a real printed letter (the flow's second reminder, rendered to PDF and put in a print
batch); its pay-link QR code, read from the PDF's pixels, opens the pay page in a real Chromium
(Debian's ``chromium`` through Playwright, as tests/web/test_browser.py, axe-core's WCAG 2.1 A/AA
rules on every page). There the debtor agrees a plan of 3 instalments. Then the nights run, each the
real ``run_night`` (what ``dunning run`` calls; the plan bot first; the breach night through the CLI
itself) and the real dispatch to aiosmtpd on 127.0.0.1: instalment 1's reminder with its own EPC QR
code; an XSD-valid camt.053 paying instalments 1 and 2 with their own structured references, imported
by the reconcile use case; both matched and thanked; instalment 3 missed and deferred (the debtor is
told); the deferred instalment missed too; the notice; the breach; and the flow resumes: its next
notice (the registered final notice, rendered) claims what the ledger, the bank's payments and the
plan say is still owed, computed here apart.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
import zxingcpp
from click.testing import CliRunner
from PIL import Image
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import select

from dunning.cli import EXIT_OK, cli
from dunning.domain.epc import parse_epc_payload
from dunning.domain.references import parse_reference
from dunning.store import Store
from dunning.store.schema import actions, cases
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.usecases.paypage.claim import PayPageReader
from dunning.usecases.plans.create import list_plans
from dunning.usecases.reconcile.run import reconcile_files
from dunning.workspace import open_workspace
from tests.channels.conftest import SmtpServer, smtp_server
from tests.usecases.letters.helpers import first_page_text, qr_codes
from tests.usecases.messaging.helpers import DEBTORS, ENV, IMPORTED, case_of, ledger_csv
from tests.usecases.plans.test_plan_bot_e2e import _again, _mails, _night, _qr, _text, _workspace
from tests.usecases.reconcile.camt_build import Payment, write_camt
from tests.web.helpers import VISIT_DAY, running_server
from tests.web.test_browser import CHROMIUM, accessible

__all__ = ["smtp_server"]  # the real aiosmtpd fixture of the channel tests

LETTER_NIGHT = date(2026, 11, 2)  # day 32 of the default flow: damages, interest and the second reminder letter


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


def _letter_of(store: Store, case_id: int, action: str) -> Any:
    with store.begin() as conn:
        return conn.execute(select(actions.c.id, actions.c.status, actions.c.channel, actions.c.due_on).where(
            actions.c.case_id == case_id, actions.c.action == action)).one()


def _pdf(workspace: Any, day: date, action_id: int) -> Path:
    return workspace.output_dir / "letters" / day.isoformat() / f"{action_id}.pdf"


def _agree_plan_in_chromium(browser: Browser, base: str, link_path: str) -> tuple[tuple[str, str], str]:
    """The debtor opens the letter's link, reads the plans, picks 3 instalments and accepts the terms.

    Returns what the agreed page shows of instalment 1: its EPC QR code read from the image's pixels
    (amount, reference) and the printed reference.
    """
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(f"{base}{link_path}{'&' if '?' in link_path else '?'}lang=en")
    accessible(page)
    page.get_by_role("link", name="See the instalment plans").click()
    page.wait_for_url(re.compile(r".*/plan\?lang=en$"))
    accessible(page)
    page.get_by_label("3 instalments:", exact=False).check()
    page.get_by_label("I accept these terms").check()
    with page.expect_navigation() as made:
        page.get_by_role("button", name="Agree this plan").click()
    assert made.value is not None and made.value.status == 200
    status = page.get_by_role("status").inner_text()
    assert "Your payment plan is agreed" in status and "We have emailed you its terms." in status
    assert page.get_by_label("Your IBAN").is_visible()
    accessible(page)  # the schedule and the mandate form
    qr = page.locator("#plan-qr img")
    assert qr.get_attribute("alt", timeout=2000) is not None
    first = _qr_of(str(qr.get_attribute("src")))
    printed = page.locator("#plan-next-reference .value").inner_text()
    # the pay page itself now shows the schedule and instalment 1's QR, not the claim's
    page.goto(f"{base}{link_path}{'&' if '?' in link_path else '?'}lang=en")
    assert page.locator("#plan-schedule tbody tr").count() == 3 and page.locator("#pay-heading").count() == 0
    accessible(page)
    context.close()
    return first, printed


def test_a_plan_agreed_in_chromium_from_a_letter_runs_its_nights_breaks_and_the_flow_resumes(
    browser: Browser, tmp_path: Path, store: Store, store_url: str, smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DUNNING_DATABASE", store_url)  # the CLI's store (the workspace names it without password)
    workspace = _workspace(tmp_path / "ws", store_url, smtp_server)
    config_path = workspace.root / "dunning.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["creditor"]["sepa_creditor_id"] = "BE68ZZZ0123456789"  # the plan's page offers a mandate too
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    workspace = open_workspace(workspace.root, environ={})
    policy = workspace.config.plans.policy()
    import_ledger(store, ledger_csv(workspace.root / "ledger" / "test.csv"), as_of=IMPORTED, reference_kind="be-ogm")
    for night in (date(2026, 10, 8), date(2026, 10, 15), LETTER_NIGHT):  # email reminder, SMS nudge, damages + letter
        _night(store, workspace, night)
    d1 = case_of(store, "D1")

    # the second reminder is rendered and goes to the print house; the debtor reads it and scans its pay-link QR
    letter = _letter_of(store, d1, "send_letter")
    assert render_letters(store, workspace, LETTER_NIGHT, workers=1, action_ids=[letter.id], env=ENV).rendered == 1
    printed_run = send_letters(store, workspace, LETTER_NIGHT)
    assert not printed_run.problems and _letter_of(store, d1, "send_letter").status == "sent"
    codes = qr_codes(_pdf(workspace, LETTER_NIGHT, letter.id))
    link = next(code for code in codes if code.startswith("https://"))
    claimed = parse_epc_payload(next(code for code in codes if code.startswith("BCD"))).amount
    assert f"€ {str(claimed).replace('.', ',')}" in " ".join(first_page_text(_pdf(workspace, LETTER_NIGHT,
                                                                                  letter.id)).split())

    secrets = load_secrets(workspace, env=ENV)
    with running_server(workspace, store, reader=PayPageReader(store, workspace, secrets)) as base:
        first_qr, printed_first = _agree_plan_in_chromium(browser, base, re.sub(r"^https?://[^/]+", "", link))
    [stored] = list_plans(store)
    plan = stored.plan
    first, second, third = plan.instalments
    assert stored.case_id == d1 and plan.total == claimed  # the plan freezes what the letter claimed
    assert plan.created_on == VISIT_DAY and plan.created_via.value == "pay_page"
    assert first_qr == (str(first.amount), first.reference)
    assert printed_first == parse_reference(first.reference).printed

    # the nights: instalment 1's reminder, with its own amount, reference and EPC QR code
    seen = len(smtp_server.recorder.messages)
    _night(store, workspace, first.due_date - timedelta(days=policy.reminder_days_before))
    [reminder] = [m for m in _mails(smtp_server, seen) if "jan.peeters" in str(m["To"])]
    assert "Termijn 1" in str(reminder["Subject"]) and parse_reference(first.reference).printed in _text(reminder)
    assert _qr(reminder) == (first.amount, first.reference)

    # the bank's end-of-day statement pays instalments 1 and 2, each with its own structured reference
    paid_on = first.due_date - timedelta(days=1)
    statement = write_camt(tmp_path, "camt053.xml", "053", [
        Payment(str(first.amount), ref=parse_reference(first.reference).printed, bank_ref="B-1", end_to_end="E-1"),
        Payment(str(second.amount), ref=parse_reference(second.reference).printed, bank_ref="B-2",
                end_to_end="E-2"),
    ], day=paid_on)
    result = reconcile_files(store, workspace, [statement], as_of=paid_on)
    assert result.summary()["outcomes"]["matched"]["count"] == 2
    seen = len(smtp_server.recorder.messages)
    _night(store, workspace, first.due_date)
    thanks = sorted(str(m["Subject"]) for m in _mails(smtp_server, seen) if "jan.peeters" in str(m["To"]))
    assert thanks == ["Bedankt voor termijn 1", "Bedankt voor termijn 2"]
    plan = list_plans(store)[0].plan
    assert [i.status.value for i in plan.instalments] == ["paid", "paid", "scheduled"] and plan.open == third.amount
    _again(store, workspace, first.due_date, smtp_server)

    # instalment 3: reminded, missed after the grace days, deferred to a new instalment 4; the debtor is told
    seen = len(smtp_server.recorder.messages)
    _night(store, workspace, third.due_date - timedelta(days=policy.reminder_days_before))
    missed_on = third.due_date + timedelta(days=policy.grace_days + 1)
    _night(store, workspace, missed_on)
    _again(store, workspace, missed_on, smtp_server)
    reminded, deferred = [m for m in _mails(smtp_server, seen) if "jan.peeters" in str(m["To"])]
    assert "Termijn 3" in str(reminded["Subject"]) and "verschoven" in str(deferred["Subject"])
    plan = list_plans(store)[0].plan
    fourth = plan.instalments[3]
    assert plan.instalments[2].status.value == "deferred" and fourth.amount == third.amount
    assert _qr(deferred) == (third.amount, fourth.reference)
    assert parse_reference(fourth.reference).printed in _text(deferred)

    # instalment 4 missed too: no deferral left; the notice, then the breach
    seen = len(smtp_server.recorder.messages)
    _night(store, workspace, fourth.due_date - timedelta(days=policy.reminder_days_before))
    noticed_on = fourth.due_date + timedelta(days=policy.grace_days + 1)
    _night(store, workspace, noticed_on)
    assert list_plans(store)[0].plan.status.value == "active"  # the notice's days still run
    breach_on = noticed_on + timedelta(days=policy.breach.notice_days)
    _night(store, workspace, breach_on - timedelta(days=1))
    assert list_plans(store)[0].plan.status.value == "active"
    # the breach night is planned by the CLI, as cron or Prefect runs it (`dunning run`: the plan bot first)
    ran = CliRunner().invoke(cli, ["-w", str(workspace.root), "run", "--date", breach_on.isoformat(), "--format",
                                   "json"])
    assert ran.exit_code == EXIT_OK, ran.stderr
    assert json.loads(ran.stdout)["plan_bot"]["actions"] == {"plan_ended": 1}
    dispatch_messages(store, workspace, breach_on, now=datetime.fromisoformat(f"{breach_on}T10:00:00+01:00"),
                      env=ENV)
    _again(store, workspace, breach_on, smtp_server)
    subjects = [str(m["Subject"]) for m in _mails(smtp_server, seen) if "jan.peeters" in str(m["To"])]
    assert subjects == [
        f"Termijn 4 van uw betalingsregeling vervalt op {fourth.due_date.day} maart 2027",
        "Termijn 4 van uw betalingsregeling is niet betaald",
        "Uw betalingsregeling eindigt tenzij de achterstand wordt betaald",
        "Uw betalingsregeling is beëindigd",
    ]
    plan = list_plans(store)[0].plan
    assert plan.status.value == "breached" and plan.ended_on == breach_on

    # the flow resumes where it paused: its next step, the registered final notice, is planned the same night
    notice = _letter_of(store, d1, "send_final_notice")
    assert (notice.status, notice.channel, notice.due_on) == ("planned", "registered_letter", breach_on)
    assert render_letters(store, workspace, breach_on, workers=1, action_ids=[notice.id], env=ENV).rendered == 1
    pdf = _pdf(workspace, breach_on, notice.id)
    epc = parse_epc_payload(next(code for code in qr_codes(pdf) if code.startswith("BCD")))

    # What is still owed, computed apart: the ledger's open amount, the Book XIX lump sum (EUR 20 for a balance
    # up to EUR 150), the interest of the 11 days from the end of the first reminder's legal period (2026-10-23)
    # to the letter of 2 November at the Belgian rate (10.50 %), none while the plan was kept (frozen), less what
    # the bank statement paid. The plan froze exactly what the letter claimed.
    ledger_open = Decimal(DEBTORS["D1"][4])
    damages = Decimal("20.00")
    interest = (ledger_open * Decimal("10.50") / 100 * 11 / 365).quantize(Decimal("0.01"))
    paid = first.amount + second.amount  # the two payments of the camt file
    assert claimed == plan.total == ledger_open + damages + interest
    owed = ledger_open + damages + interest - paid
    with store.begin() as conn:
        case_reference = conn.execute(select(cases.c.reference).where(cases.c.id == d1)).scalar_one()
    assert epc.amount == owed == Decimal("40.12")
    assert epc.reference == parse_reference(case_reference).compact  # the case's own reference again
    text = " ".join(first_page_text(pdf).split())
    assert "Laatste aanmaning" in text and f"Totaal te betalen € {str(owed).replace('.', ',')}" in text
    with store.begin() as conn:
        interest_charges = conn.execute(select(actions.c.amount, actions.c.detail).where(
            actions.c.case_id == d1, actions.c.action == "add_interest")).all()
        fees = conn.execute(select(actions.c.amount).where(actions.c.case_id == d1,
                                                          actions.c.action == "add_fee")).scalars().all()
    assert fees == [damages]  # charged once, before the plan; never again
    assert [row.amount for row in interest_charges] == [interest]  # nothing accrued during the plan's months
    [segment] = interest_charges[0].detail["interest"][0]["segments"]
    assert (segment["start"], segment["days"], segment["rate"]) == ("2026-10-23", 11, "10.50")
