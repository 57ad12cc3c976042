"""The Belgian first reminder by email (Book XIX) and credit notes, as the debtor reads them.

The default flow sends the free first reminder of a Belgian consumer case by email; these tests plan
it with the real planner, dispatch it through the file transport and read the ``.eml`` files back:
both parts must state what the letter states (art. XIX.2 §3), with the planner's figures and the
email rule for the period (it starts the day after sending, not the 3rd working day after posting).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from babel.numbers import format_currency

from dunning.domain.legal.belgium import BelgiumConsumer
from dunning.domain.planning.actions import Channel
from dunning.letters import LetterRenderer
from dunning.letters.model import Invoice, LetterKind
from dunning.letters.samples import sample_letter
from dunning.store import Store
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters.data import letter_for_case
from dunning.usecases.messaging.compose import compose_email
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.outgoing.due import load_due_actions
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.workspace import Workspace
from tests.usecases.messaging.helpers import (
    DEBTORS,
    ENV,
    FIRST_NIGHT,
    HEADER,
    IMPORTED,
    WEEKDAY_MORNING,
    actions_of,
    case_of,
    make_workspace,
    plan,
)

LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "de": "de_BE", "en": "en_BE"}
FREE = {"nl": "Deze eerste herinnering is kosteloos.", "fr": "Ce premier rappel est gratuit.",
        "de": "Diese erste Zahlungserinnerung ist kostenlos.", "en": "This first reminder is free of charge."}
#: the email rule of Book XIX: the 14 days start the calendar day after sending
DAY_AFTER = {"nl": "Die termijn gaat in op de dag na de verzending van deze e-mail.",
             "fr": "Ce délai commence à courir le jour qui suit l'envoi du présent e-mail.",
             "de": "Die Frist beginnt am Tag nach dem Versand dieser E-Mail.",
             "en": "This period starts on the day after this email was sent."}
PERIOD = {"nl": "binnen 14 kalenderdagen", "fr": "dans un délai de 14 jours calendrier",
          "de": "innerhalb von 14 Kalendertagen", "en": "within 14 calendar days"}
DAMAGES = {"nl": "een schadevergoeding van {}", "fr": "une indemnité de {}", "de": "einen Schadenersatz von {}",
           "en": "damages of {}"}
CREDITOR = {"nl": "Brabant Energie NV, ondernemingsnummer BE0403170701",
            "fr": "Brabant Energie NV, numéro d'entreprise BE0403170701",
            "de": "Brabant Energie NV, Unternehmensnummer BE0403170701",
            "en": "Brabant Energie NV, enterprise number BE0403170701"}
DEBTOR = {"nl": "Schuldenaar: {name}, klantnummer {ext}", "fr": "Débiteur : {name}, n° client {ext}",
          "de": "Schuldner: {name}, Kundennummer {ext}", "en": "Debtor: {name}, customer number {ext}"}
CREDIT_NOTE = {"nl": "Creditnota", "fr": "Note de crédit", "de": "Gutschrift", "en": "Credit note"}
INVOICE = {"nl": "Factuur", "fr": "Facture", "de": "Rechnung", "en": "Invoice"}
NET = {"nl": "Saldo na aftrek van de creditnota's", "fr": "Solde après déduction des notes de crédit",
       "de": "Saldo nach Abzug der Gutschriften", "en": "Balance after credit notes"}
#: the amount the credit note of each debtor takes off its invoice
CREDITS = {"D1": "20.00", "D2": "50.50", "D3": "30.00", "D4": "2.00"}


def _ledger(path: Path, *, credit_notes: bool) -> Path:
    lines = [HEADER]
    for number, (ext, (name, lang, email, phone, amount)) in enumerate(DEBTORS.items(), start=1):
        who = f"{ext},{name},person,{lang},Kerkstraat {number},2000,Antwerpen,BE,{email},{phone},,residential"
        lines.append(f"{who},INV-2026-{number:05d},2026-09-01,2026-10-01,{amount},{amount},EUR,Energy")
        if credit_notes:
            credit = CREDITS[ext]
            lines.append(f"{who},CN-2026-{number:05d},2026-09-15,2026-09-15,-{credit},-{credit},EUR,Refund")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _plan(store: Store, workspace: Workspace, *, credit_notes: bool = False) -> None:
    path = _ledger(workspace.root / "ledger" / "test.csv", credit_notes=credit_notes)
    import_ledger(store, path, as_of=IMPORTED, reference_kind="be-ogm")
    plan(store, workspace, FIRST_NIGHT)


def _sent(workspace: Workspace) -> dict[str, EmailMessage]:
    """The emails written by the file transport, by recipient address."""
    out: dict[str, EmailMessage] = {}
    for path in (workspace.root / "output" / "mail").glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        out[message["To"].addresses[0].addr_spec] = message
    return out


def _parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def _planned_email(store: Store, ext: str) -> Any:
    [action] = [a for a in actions_of(store, case_of(store, ext)) if a.channel == "email"]
    return action


def _figure(action: Any, name: str) -> Decimal:
    return next(Decimal(f["amount"]) for f in action.detail["figures"] if f["name"] == name)


def _money(amount: Decimal | str, locale: str) -> str:
    return str(format_currency(Decimal(amount), "EUR", locale=locale))


def test_the_emailed_first_reminder_states_the_book_xix_mentions_with_the_planners_figures(
        store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    _plan(store, workspace)
    planned = {ext: _planned_email(store, ext) for ext in DEBTORS}  # read before dispatch marks them sent
    result = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)
    assert result.channel("email").sent == 4
    sent = _sent(workspace)

    # The email rule: 14 days from the day after sending, so the last day to pay is sent + 14; a letter
    # posted the same day would run until 3 working days later (the letter and email differ by channel).
    email_deadline = FIRST_NIGHT + timedelta(days=14)
    letter_deadline = BelgiumConsumer().earliest_cost_date(FIRST_NIGHT, Channel.LETTER) - timedelta(days=1)
    assert letter_deadline > email_deadline
    for ext, (name, language, address, _phone, amount) in DEBTORS.items():
        action = planned[ext]
        # The planner's own record: a BE-consumer first notice whose costs may start the day after the deadline.
        assert any(rule.startswith("BE-consumer: legal notice") for rule in action.detail["rules"])
        assert date.fromisoformat(action.detail["earliest_legal_date"]) == email_deadline + timedelta(days=1)
        locale = LOCALES[language]
        deadline = format_date(email_deadline, format="long", locale=locale)
        damages = _money(_figure(action, "penalty_clause_amount"), locale)
        assert _figure(action, "payment_period_days") == 14
        text, html = _parts(sent[address])
        for part in (text, html):
            assert FREE[language] in part
            assert DAY_AFTER[language] in part
            assert PERIOD[language] in part
            assert deadline in part
            assert format_date(letter_deadline, format="long", locale=locale) not in part
            assert DAMAGES[language].format(damages) in part.replace("<strong>", "").replace("</strong>", "")
            assert _money(amount, locale) in part
            assert CREDITOR[language] in part
            assert DEBTOR[language].format(name=name, ext=ext) in part
            assert "Kerkstraat" in part  # the debtor's address
            assert f"INV-2026-0000{list(DEBTORS).index(ext) + 1} – Energy" in part  # the invoice and its service
        # The pay-by line says the same date as the legal mention.
        assert text.count(deadline) >= 3  # the sentence, the pay-by line and the mention
        assert "derde werkdag" not in text and "troisième jour ouvrable" not in text


def test_an_email_sent_after_its_planned_day_counts_the_period_from_the_real_sending_day(
        store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    _plan(store, workspace)
    late = FIRST_NIGHT + timedelta(days=2)  # the night's dispatch did not run; two days later it does
    dispatch_messages(store, workspace, late, channels=("email",), now=WEEKDAY_MORNING.replace(day=12), env=ENV)
    text, html = _parts(_sent(workspace)["jan.peeters@example.be"])
    planned_deadline = format_date(FIRST_NIGHT + timedelta(days=14), format="long", locale="nl_BE")
    real_deadline = format_date(late + timedelta(days=14), format="long", locale="nl_BE")
    assert f"uiterlijk op {real_deadline}" in text and real_deadline in html
    assert planned_deadline not in text and planned_deadline not in html


def test_only_the_first_legal_notice_gets_the_legal_deadline_and_the_book_xix_block(
        store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    _plan(store, workspace)
    with store.begin() as conn:
        [due] = load_due_actions(conn, [_planned_email(store, "D1").id], "nl")
    # A step that gives 7 days to pay; as if the planner had not marked it as the case's first legal notice.
    due = replace(due, settings={**due.settings, "deadline_days": 7})
    later = replace(due, detail={"rules": [], "figures": [], "earliest_legal_date": None})
    templates = Path(__file__).resolve().parents[3] / "templates"
    data, _ = compose_email(later, workspace, load_secrets(workspace, ENV), templates, FIRST_NIGHT)
    assert "legal" not in data.extra and data.pay_by == FIRST_NIGHT + timedelta(days=7)
    # As the first notice it is the legal deadline that counts, never fewer days than the law gives.
    first, _ = compose_email(due, workspace, load_secrets(workspace, ENV), templates, FIRST_NIGHT)
    legal: Any = first.extra["legal"]
    assert first.pay_by == legal["deadline"] == FIRST_NIGHT + timedelta(days=14)
    assert legal["damages"].amount == _figure(_planned_email(store, "D1"), "penalty_clause_amount")


def test_a_credit_note_is_named_and_deducted_in_the_email_and_the_total_is_net(
        store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    _plan(store, workspace, credit_notes=True)
    dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)
    sent = _sent(workspace)
    assert len(sent) == 4
    for number, (ext, (_name, language, address, _phone, amount)) in enumerate(DEBTORS.items(), start=1):
        locale = LOCALES[language]
        credit = CREDITS[ext]
        net = _money(Decimal(amount) - Decimal(credit), locale)
        deduction = "\u2212\u00a0" + _money(credit, locale)
        text, html = _parts(sent[address])
        note = f"CN-2026-{number:05d}"
        # Text: the credit note under its own name, with the amount as a deduction, then the net balance.
        assert f"- {CREDIT_NOTE[language]} {note} – Refund" in text
        assert f"{INVOICE[language]} {note}" not in text
        assert deduction in text and _money(f"-{credit}", locale) not in text
        assert NET[language] in text
        assert f"{net}" in text.split(NET[language])[1].splitlines()[0]
        # HTML: same label, the deduction in the amount column, the net balance row.
        assert f"<td>{CREDIT_NOTE[language]} {note} – Refund</td><td></td><td align=\"right\">{deduction}</td>" in html
        assert f"{NET[language]}</strong></td><td align=\"right\"><strong>{net}</strong>" in html
        # The total to pay and the Book XIX amount due are net of the credit note.
        for part in (text, html):
            assert part.count(net) >= 3
        action = _planned_email(store, ext)
        # The planner capped the damages on the net balance, and the email states that figure.
        assert _money(_figure(action, "penalty_clause_amount"), locale) in text


@pytest.mark.parametrize("language", sorted(LOCALES))
def test_a_credit_note_is_named_and_deducted_on_the_letter(language: str) -> None:
    renderer = LetterRenderer()
    note = Invoice("CN-2026-00007", date(2026, 10, 20), date(2026, 10, 20), Decimal("-50.00"), "Refund")
    for kind in (LetterKind.FIRST_REMINDER, LetterKind.SECOND_REMINDER):
        sample = sample_letter(kind, language)
        letter = replace(sample, invoices=(*sample.invoices, note), total=sample.total - Decimal("50.00"))
        html = renderer.letter_html(letter)
        row = _cells(html, "credit-note")
        assert row[0] == f"{CREDIT_NOTE[language]} CN-2026-00007 – Refund"
        assert row[2:] == ["", f"&minus;&nbsp;{_letter_money(Decimal(50), language)}"]  # no due date; deducted
        assert f"{INVOICE[language]} CN-2026-00007" not in html
        # The total row is the net amount (invoices less the credit note, plus any charges).
        assert _cells(html, "total")[-1] == _letter_money(letter.total, language)
        if kind is LetterKind.SECOND_REMINDER:  # charges follow: the invoices' net balance comes first
            subtotal = sum((i.open_amount for i in letter.invoices), Decimal(0))
            assert html.count('<tr class="subtotal">') == 1
            assert _cells(html, "subtotal")[-1] == _letter_money(subtotal, language)
        else:  # no charges: the total row already is the net balance
            assert html.count('<tr class="subtotal">') == 0


def _cells(html: str, row_class: str) -> list[str]:
    """The cells' contents of the first table row of class ``row_class`` in a letter's HTML."""
    row = html.split(f'<tr class="{row_class}">')[1].split("</tr>")[0]
    return re.findall(r"<td[^>]*>(.*?)</td>", row)


def _letter_money(amount: Decimal, language: str) -> str:
    # Letters format for the debtor's language and country (the samples' Belgian/German debtors).
    from dunning.letters.formatting import locale_for

    sample = sample_letter(LetterKind.FIRST_REMINDER, language)
    return str(format_currency(amount, "EUR", locale=locale_for(language, sample.debtor.country, "")))


def test_the_letter_built_from_the_store_deducts_the_credit_note(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    _plan(store, workspace, credit_notes=True)
    letter = letter_for_case(store, workspace, case_of(store, "D2"), FIRST_NIGHT, env=ENV)
    assert letter.total == Decimal("100.00")  # 150.50 less the 50.50 credit note
    html = LetterRenderer().letter_html(letter)
    assert _cells(html, "credit-note")[0] == "Note de crédit CN-2026-00002 – Refund"
    assert _cells(html, "credit-note")[-1] == "&minus;&nbsp;50,50\u00a0€"
    assert _cells(html, "total")[-1] == "100,00\u00a0€"


#: the Book XIX block of a first reminder that carries a (regular-supply) fee
NOT_FREE = {"nl": "Deze herinnering is niet kosteloos", "fr": "Ce rappel n'est pas gratuit",
            "de": "Diese Zahlungserinnerung ist nicht kostenlos", "en": "This reminder is not free of charge"}


def test_an_email_that_carries_a_fee_asks_for_it_says_so_and_books_it_once(store: Store, tmp_path: Path) -> None:
    from sqlalchemy import select, update

    from dunning.store.schema import actions, cases

    workspace = make_workspace(tmp_path / "ws")
    _plan(store, workspace)
    fee = Decimal("7.50")
    with_fee = {ext: _planned_email(store, ext) for ext in ("D1", "D2")}
    with store.begin() as conn:  # as the planner writes a step's fee on a message (detail.fee and the amount)
        for action in with_fee.values():
            conn.execute(update(actions).where(actions.c.id == action.id).values(
                amount=fee, detail={**action.detail, "fee": str(fee)}))
    dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)
    sent = _sent(workspace)
    for ext, (_name, language, address, _phone, amount) in DEBTORS.items():
        locale = LOCALES[language]
        text, html = _parts(sent[address])
        charged = ext in with_fee
        total = _money(Decimal(amount) + (fee if charged else 0), locale)
        for part in (text, html):
            plain = part.replace("<strong>", "").replace("</strong>", "")
            assert (NOT_FREE[language] in plain) is charged
            assert (FREE[language] in plain) is not charged
            assert total in plain  # the amount asked for includes the message's own fee
            assert (_money(fee, locale) in plain) is charged
    with store.begin() as conn:  # booked once, when the email went out
        for ext, action in with_fee.items():
            fees = conn.execute(select(cases.c.fees_amount).where(cases.c.id == action.case_id)).scalar_one()
            assert Decimal(fees) == fee, ext
    dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)
    with store.begin() as conn:
        fees = conn.execute(select(cases.c.fees_amount).where(cases.c.id == with_fee["D1"].case_id)).scalar_one()
        assert Decimal(fees) == fee


#: a later message's own fee, named above the legal block
FEE_NOTICE = {"nl": "Aan dit bericht zijn kosten van {} verbonden, opgenomen in het verschuldigde bedrag.",
              "fr": "Ce message entraîne des frais de {}, compris dans le montant dû.",
              "de": "Für diese Nachricht berechnen wir {}; der Betrag ist im offenen Betrag enthalten.",
              "en": "This message carries a fee of {}, included in the amount due."}


@pytest.mark.parametrize("ext", list(DEBTORS))
def test_a_later_message_names_its_own_fee_in_the_debtors_language(store: Store, tmp_path: Path, ext: str) -> None:
    from datetime import UTC, datetime

    from dunning.channels.email import build_email
    from dunning.usecases.messaging.compose import brand_for, email_settings

    workspace = make_workspace(tmp_path / "ws")
    _plan(store, workspace)
    with store.begin() as conn:
        [due] = load_due_actions(conn, [_planned_email(store, ext).id], "nl")
    later = replace(due, detail={"rules": [], "figures": [], "earliest_legal_date": None, "fee": "7.50"})
    secrets = load_secrets(workspace, ENV)
    templates = Path(__file__).resolve().parents[3] / "templates"
    data, _ = compose_email(later, workspace, secrets, templates, FIRST_NIGHT)
    assert data.total_due.amount == due.total_due + Decimal("7.50")
    email = build_email(data, brand_for(workspace), email_settings(workspace, secrets),
                        sent_at=datetime(2026, 11, 2, 9, tzinfo=UTC), templates_dir=templates)
    text, html = _parts(email.parsed())
    language = DEBTORS[ext][1]
    notice = FEE_NOTICE[language].format(_money("7.50", LOCALES[language]))
    assert notice in text and notice in html.replace("<strong>", "").replace("</strong>", "")
    # Once booked (the message went out), a copy no longer adds it again.
    booked = replace(later, detail={**later.detail, "fee_booked_on": "2026-11-02"})
    assert booked.own_fee == 0
