"""One deadline per action: the letter (read back from its PDF), the email and the SMS say one date,
in one wording, and that date gives the debtor at least what the law of the debtor's country gives."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from dunning.channels.email import InvoiceLine, build_email
from dunning.channels.sms import build_sms
from dunning.domain.legal import select_pack
from dunning.domain.legal.calendar import add_working_days, nl_presumed_delivery
from dunning.domain.money import Money
from dunning.domain.owed import Owed
from dunning.domain.planning.actions import Channel
from dunning.domain.wording import long_date
from dunning.letters import Invoice, LetterRenderer
from dunning.usecases.letters.data import CaseData, letter_data_for
from dunning.usecases.messaging.compose import (
    brand_for,
    compose_email,
    compose_sms,
    email_settings,
    locale_for,
    message_deadline,
    sms_settings,
)
from dunning.usecases.outgoing.due import DueAction
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.workspace import Workspace
from tests.usecases.messaging.helpers import ENV, make_workspace

SENT = date(2026, 11, 2)  # a Monday
TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
#: how each language introduces the deadline (the one wording), and what must never be said
DATE = r"(\d{1,2}(?:er|\.)? [^\W\d]+ \d{4}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})"  # long or short, any of the four
PHRASES = {
    "nl": (rf"uiterlijk op {DATE}", ("vóór", "voor")),
    "fr": (rf"au plus tard le {DATE}", ("avant le",)),
    "de": (rf"spätestens am {DATE}", ("bis", "vor dem")),
    "en": (rf"by {DATE} at the latest", ("before",)),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    country: str
    language: str
    consumer: bool
    template: str
    action: str
    channel: str
    phone: str
    first_notice: bool
    settings: dict[str, object]
    legal_minimum: int  # days the debtor must at least get, counted as the law counts them


SCENARIOS = [
    Scenario(
        "BE consumer, Book XIX first reminder by letter",
        "BE",
        "nl",
        True,
        "first_reminder",
        "send_letter",
        "letter",
        "+32470123456",
        True,
        {},
        14,
    ),
    Scenario(
        "BE consumer, Book XIX first reminder in French",
        "BE",
        "fr",
        True,
        "first_reminder",
        "send_letter",
        "letter",
        "+32470123456",
        True,
        {},
        14,
    ),
    Scenario(
        "NL consumer, WIK 14-day letter",
        "NL",
        "nl",
        True,
        "first_reminder",
        "send_letter",
        "letter",
        "+31612345678",
        True,
        {},
        14,
    ),
    Scenario(
        "DE consumer, Mahnung",
        "DE",
        "de",
        True,
        "second_reminder",
        "send_letter",
        "letter",
        "+4915112345678",
        False,
        {},
        14,
    ),
    Scenario(
        "FR business, directive: final notice of 8 days",
        "FR",
        "en",
        False,
        "final_notice",
        "send_final_notice",
        "registered_letter",
        "+33612345678",
        False,
        {"deadline_days": 8},
        8,
    ),
]


def _detail(scenario: Scenario) -> dict[str, object]:
    pack = select_pack(scenario.country, "consumer" if scenario.consumer else "business")
    if not scenario.first_notice:
        return {"rules": [f"{pack.code}: reminder"], "figures": [], "earliest_legal_date": None, "required_fields": []}
    figures = [
        {
            "name": f.name,
            "amount": None if f.amount is None else str(f.amount),
            "explanation": f.explanation,
            "source": f.source,
        }
        for f in pack.notice_figures(Decimal("296.90"), 1)
    ]
    earliest = pack.earliest_cost_date(SENT, Channel(scenario.channel))
    return {
        "rules": [f"{pack.code}: legal notice; costs from {earliest.isoformat()}"],
        "figures": figures,
        "earliest_legal_date": earliest.isoformat(),
        "required_fields": list(pack.notice_required_fields),
    }


def _due(scenario: Scenario) -> DueAction:
    invoice = InvoiceLine("INV-2026-00042", date(2026, 10, 1), Money.of(Decimal("296.90"), "EUR"))
    return DueAction(
        action_pk=42,
        key=f"case:7|flow:default@1|step:s|action:{scenario.action}|cycle:1",
        action=scenario.action,
        channel=scenario.channel,
        due_on=SENT,
        settings={"template": scenario.template, **scenario.settings},
        case_id=7,
        case_status="open",
        currency="EUR",
        reference="+++090/9337/55493+++",
        total_due=Decimal("296.90"),
        debtor_name="Erika Muster",
        language=scenario.language,
        country=scenario.country,
        email="erika@example.org",
        email_invalid=False,
        phone=scenario.phone,
        invoices=(invoice,),
        detail=_detail(scenario),
        customer_number="C1001",
        consumer=scenario.consumer,
        address_lines=("Kerkstraat 1", "2000 Antwerpen"),
        invoice_descriptions={"INV-2026-00042": "Energy"},
    )


def _letter_text(due: DueAction, scenario: Scenario, workspace: Workspace) -> str:
    case = CaseData(
        debtor_pk=1,
        external_id="C1001",
        street="Kerkstraat 1",
        postal_code="2000",
        city="Antwerpen",
        country=scenario.country,
        consumer=scenario.consumer,
        invoices=(Invoice("INV-2026-00042", date(2026, 9, 1), date(2026, 10, 1), Decimal("296.90"), "Energy"),),
        charges=(),
        statement=(),
        received=Decimal(0),
        owed=Owed(principal_open=Decimal("296.90")),
    )
    letter = letter_data_for(due, case, workspace, load_secrets(workspace, ENV), SENT, due.detail)
    result = LetterRenderer().render_batch([letter])
    assert not result.problems, result.problems
    document = pdfium.PdfDocument(result.pdf)
    try:
        return " ".join(" ".join(str(page.get_textpage().get_text_range()) for page in document).split())
    finally:
        document.close()


def _said_dates(text: str, language: str) -> set[str]:
    pattern, never = PHRASES[language]
    for word in never:  # "vóór D", "avant le D", "before D": a day less than the period
        assert not re.search(rf"\b{word} {DATE}", text), f"{word!r} and a date in {text!r}"
    return set(re.findall(pattern, " ".join(text.split())))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_letter_email_and_sms_of_one_action_say_one_legal_deadline(scenario: Scenario, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    secrets = load_secrets(workspace, ENV)
    due = _due(scenario)
    deadline = message_deadline(due, workspace, SENT).day
    locale = locale_for(scenario.language, scenario.country)

    letter = _letter_text(due, scenario, workspace)
    # The same action said by email and SMS (as when the letter goes with an email or an SMS nudge): the
    # messaging templates of its kind, the action's channel and so its deadline.
    final = scenario.action == "send_final_notice"
    email_data, _ = compose_email(
        replace(due, action="send_final_notice" if final else "send_email", settings=dict(scenario.settings)),
        workspace,
        secrets,
        TEMPLATES,
        SENT,
    )
    email = build_email(
        email_data,
        brand_for(workspace),
        email_settings(workspace, secrets),
        sent_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        templates_dir=TEMPLATES,
    ).parsed()
    email_text = str(email.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    sms_data, _ = compose_sms(
        replace(due, action="send_final_notice" if final else "send_sms", settings=dict(scenario.settings)),
        workspace,
        secrets,
        TEMPLATES,
        SENT,
    )
    sms = build_sms(sms_data, sms_settings(workspace), templates_dir=TEMPLATES)

    # One and the same date everywhere: in the letter's body and its payment block, the email, the SMS.
    from babel.dates import format_date

    assert _said_dates(letter, scenario.language) == {long_date(deadline, locale).replace("\u00a0", " ")}
    assert _said_dates(email_text, scenario.language) == {long_date(deadline, locale)}
    assert _said_dates(sms.text, scenario.language) == {format_date(deadline, "short", locale=locale)}
    assert len(re.findall(PHRASES[scenario.language][0], letter)) >= 2  # the body and the payment block
    assert email_data.pay_by == sms_data.pay_by == deadline

    # Payment means and terms of the debtor's country: Bancontact is Belgian, iDEAL and "Betalingskenmerk" Dutch.
    if scenario.country == "NL":
        assert "Bancontact" not in letter and "iDEAL" in letter and "Verwijlintrest" not in letter
        assert "Betalingskenmerk" in letter and "Mededeling" not in letter
    elif scenario.country == "BE":
        assert "Bancontact" in letter and "iDEAL" not in letter
    else:
        assert "Bancontact" not in letter

    # ... and that date is legal: the debtor gets at least the period the law of the country gives.
    if scenario.country == "BE" and scenario.consumer:  # 14 days from the 3rd working day after posting
        given = (deadline - add_working_days("BE", SENT, 3)).days + 1
    elif scenario.country == "NL" and scenario.consumer:  # 14 days from the day after receipt
        given = (deadline - nl_presumed_delivery(SENT)).days
    else:  # the step's days from the day after sending
        given = (deadline - SENT).days
    assert given >= scenario.legal_minimum
    if scenario.first_notice:  # and never a day past what the planner promised: costs start the day after
        assert deadline == date.fromisoformat(str(due.detail["earliest_legal_date"])) - timedelta(days=1)
