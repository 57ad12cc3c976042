"""A business's letters on the shipped b2b flow, read back from the PDFs (SQLite and PostgreSQL).

Issue 17, items 1 and 2: the first letter a debtor gets is a first reminder whatever the step is
called (the b2b flow's ``b2b_reminder``), the next one says "despite our reminder"; an invoice not
yet due on the letter's date is neither claimed nor charged for (the €40 compensation counts the
late invoices only), and the second reminder lists it apart for information (``show_not_yet_due``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select

from dunning.store import Store
from dunning.store.schema import actions, cases
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from dunning.workspace import Workspace
from tests.usecases.letters.helpers import documents_by_action, make_workspace, night, qr_codes

LEDGER = (
    "debtor_id,name,type,country,language,email,phone,street,postal_code,city,invoice_id,due_date,amount\n"
    "K1,Schmidt Maschinenbau GmbH,company,DE,de,,,Hauptstraße 5,10115,Berlin,RE-LATE-1,2026-10-01,1000.00\n"
    "K1,Schmidt Maschinenbau GmbH,company,DE,de,,,Hauptstraße 5,10115,Berlin,RE-LATER-2,2026-10-30,500.00\n"
)
FIRST_LETTER = date(2026, 10, 4)  # b2b step "reminder", day 3: no email, so its letter fallback
# day 18, the day after the first letter's deadline (18 October): compensation, interest and the second reminder
SECOND_LETTER = date(2026, 10, 19)


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws")


def _all_text(pdf: Path) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(str(page.get_textpage().get_text_range()) for page in document)
    finally:
        document.close()


def _letter_on(store: Store, workspace: Workspace, day: date) -> tuple[str, str]:
    """Render the letters due on ``day`` (exactly one), hand them to the print house; its text and EPC amount."""
    run = render_letters(store, workspace, day, workers=1)
    assert (run.rendered, run.problems) == (1, [])
    with store.begin() as conn:
        action_id = conn.execute(
            select(actions.c.id).where(actions.c.channel == "letter", actions.c.due_on == day)
        ).scalar_one()
    pdf = workspace.root / documents_by_action(store)[action_id].path
    epc = next(code for code in qr_codes(pdf) if code.startswith("BCD"))
    sent = send_letters(store, workspace, day, recorded_at=datetime.combine(day, datetime.min.time(), UTC))
    assert sent.problems == [] and sent.letters == 1
    return _all_text(pdf), epc.split("\n")[7]


def test_a_business_first_letter_is_a_first_reminder_and_only_overdue_invoices_are_claimed(
    store: Store, workspace: Workspace, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER, encoding="utf-8")
    import_ledger(store, ledger, as_of=date(2026, 10, 2), reference_kind="rf")
    day = date(2026, 10, 2)
    while day <= FIRST_LETTER:
        night(store, workspace, day)
        day += timedelta(days=1)
    text, amount = _letter_on(store, workspace, FIRST_LETTER)
    # The step is b2b_reminder, but this is the first letter the business gets: a first reminder.
    assert "Zahlungserinnerung" in text and "trotz unserer" not in text and "Mahnung" not in text
    assert "RE-LATE-1" in text and "RE-LATER-2" not in text  # due on 30 October: not claimed
    assert amount == "EUR1000.00"

    while day <= SECOND_LETTER:
        night(store, workspace, day)
        day += timedelta(days=1)
    with store.begin() as conn:
        fees = conn.execute(select(cases.c.fees_amount, cases.c.interest_amount)).one()
    # § 288(5) BGB: €40 per invoice in default, and only one is: not 2 × €40.
    assert fees.fees_amount == Decimal("40.00") and fees.interest_amount > 0
    text, amount = _letter_on(store, workspace, SECOND_LETTER)
    assert "trotz unserer Zahlungserinnerung" in text  # it went out on 4 October
    claimed = Decimal("1000.00") + fees.fees_amount + fees.interest_amount
    assert amount == f"EUR{claimed}"
    # The flow asks for the invoices not yet due, listed apart and outside the total.
    head, _, rest = text.partition("Noch nicht fällig")
    assert "RE-LATER-2" not in head and "RE-LATER-2" in rest
    assert "500,00" in rest


def test_a_final_notice_step_to_a_debtor_never_reminded_is_a_first_reminder(
    store: Store, workspace: Workspace, tmp_path: Path
) -> None:
    # Catch-up after an outage: the b2b flow's final notice (day 33) is the first letter sent; the
    # earlier email reminder never went out (no address), so "despite our reminders" would be false.
    flows = workspace.flows_dir / "b2b.yaml"
    text = flows.read_text(encoding="utf-8")
    # Nor did a second reminder: a final notice waits for a planned one to go out and its deadline to pass.
    second = "  - key: second_reminder\n    after: 0\n    action: send_letter\n"
    second += "    settings: {template: b2b_second_reminder, show_not_yet_due: true}\n\n"
    assert second in text
    fallback = "    fallback:\n      action: send_letter\n      settings: {template: b2b_reminder}\n"
    flows.write_text(text.replace(fallback, "").replace(second, ""), encoding="utf-8")
    ledger = tmp_path / "ledger.csv"
    # A Belgian company (German-speaking): the directive's compensation needs no notice, so the flow moves on.
    ledger.write_text(LEDGER.replace(",DE,de,", ",BE,de,").replace("10115,Berlin", "4700,Eupen"), encoding="utf-8")
    import_ledger(store, ledger, as_of=date(2026, 10, 2), reference_kind="rf")
    letter_day = date(2026, 11, 3)  # day 33: the day after the second reminder's deadline (2 November)
    for day in (date(2026, 10, 19), letter_day):
        night(store, workspace, day)
    run = render_letters(store, workspace, letter_day, workers=1)
    assert run.rendered >= 1 and run.problems == []
    with store.begin() as conn:
        notices = conn.execute(
            select(actions.c.id, actions.c.action).where(actions.c.channel.in_(("letter", "registered_letter")))
        ).all()
    final = next(n for n in notices if n.action == "send_final_notice")
    text = _all_text(workspace.root / documents_by_action(store)[final.id].path)
    assert "Zahlungserinnerung" in text and "trotz unserer" not in text and "Letzte Mahnung" not in text
