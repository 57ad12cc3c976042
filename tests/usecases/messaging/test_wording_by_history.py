"""Emails and SMS are worded by what the debtor actually received, as letters are (issue 17).

A business's first email (step ``b2b_reminder``) is a first reminder, never a "second reminder"; a
final-notice step reaching a debtor whose earlier reminder never went out (bounced) says neither "formal
notice" nor "despite our earlier reminder"; once a reminder went out, the next email is a second reminder
and the final notice a final notice. In nl, fr, de and en, with the shipped templates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from dunning.channels.email import InvoiceLine, build_email
from dunning.channels.sms import build_sms
from dunning.domain.money import Money
from dunning.domain.planning.notice_kind import NoticeKind
from dunning.store import Store
from dunning.store.reminders import ReminderRecord
from dunning.store.schema import actions
from dunning.usecases.messaging.compose import (
    brand_for,
    compose_email,
    compose_sms,
    email_settings,
    message_notice,
    sms_settings,
)
from dunning.usecases.outgoing.due import DueAction
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.workspace import Workspace
from tests.usecases.messaging.helpers import ENV, make_workspace

SENT = date(2026, 11, 2)
TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
LANGUAGES = ("nl", "fr", "de", "en")
COUNTRY = {"nl": "NL", "fr": "BE", "de": "DE", "en": "IE"}
#: what only a second reminder says, what only a final notice says (email subject and body), per language
SECOND = {"nl": "Tweede herinnering", "fr": "Deuxième rappel", "de": "Zweite Zahlungserinnerung",
          "en": "Second reminder"}
EARLIER = {"nl": "eerder", "fr": "déjà rappelé", "de": "bereits", "en": "earlier"}
FINAL = {"nl": "Ingebrekestelling", "fr": "Mise en demeure", "de": "Mahnung", "en": "Formal notice"}
DESPITE = {"nl": "Ondanks onze eerdere herinnering", "fr": "Malgré notre rappel",
           "de": "trotz unserer Zahlungserinnerung", "en": "Despite our earlier reminder"}
SMS_FINAL = {"nl": "ingebrekestelling", "fr": "mise en demeure", "de": "Mahnung", "en": "formal notice"}


def _due(language: str, action: str, template: str | None, *, pk: int = 42) -> DueAction:
    return DueAction(
        action_pk=pk,
        key=f"case:7|flow:b2b@1|step:s{pk}|action:{action}|cycle:1",
        action=action,
        channel="email" if action != "send_sms" else "sms",
        due_on=SENT,
        settings={"template": template} if template else {},
        case_id=7,
        case_status="open",
        currency="EUR",
        reference="RF18539007547034",
        total_due=Decimal("296.90"),
        debtor_name="Muster GmbH",
        language=language,
        country=COUNTRY[language],
        email="ap@example.org",
        email_invalid=False,
        phone="+4915112345678",
        invoices=(InvoiceLine("INV-42", date(2026, 10, 1), Money.of(Decimal("296.90"), "EUR")),),
        consumer=False,
    )


def _reminder(pk: int, status: str, went_out: date | None, template: str = "b2b_reminder") -> ReminderRecord:
    return ReminderRecord(pk, 7, "send_email", template, 1, status, went_out)


REMINDED = (_reminder(10, "sent", date(2026, 10, 4)),)
BOUNCED = (_reminder(10, "bounced", None),)  # the first reminder never reached the debtor


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return make_workspace(tmp_path_factory.mktemp("wording") / "ws")


def _email(language: str, action: str, template: str | None, reminders: tuple[ReminderRecord, ...],
           workspace: Workspace) -> tuple[str, str, str]:
    secrets = load_secrets(workspace, ENV)
    due = _due(language, action, template)
    notice = message_notice(due, (*reminders, _reminder(42, "planned", None)), SENT)
    data, kind = compose_email(due, workspace, secrets, TEMPLATES, SENT, notice)
    email = build_email(data, brand_for(workspace), email_settings(workspace, secrets),
                        sent_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC), templates_dir=TEMPLATES).parsed()
    body = str(email.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    return kind, str(email["Subject"]), " ".join(body.split())


def _sms(language: str, action: str, template: str | None, reminders: tuple[ReminderRecord, ...],
         workspace: Workspace) -> str:
    due = _due(language, action, template)
    data, _ = compose_sms(due, workspace, load_secrets(workspace, ENV), TEMPLATES, SENT,
                          message_notice(due, reminders, SENT))
    return build_sms(data, sms_settings(workspace), templates_dir=TEMPLATES).text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_business_first_email_is_a_first_reminder(language: str, workspace: Workspace) -> None:
    kind, subject, body = _email(language, "send_email", "b2b_reminder", (), workspace)
    assert kind == "reminder"
    assert SECOND[language] not in subject and EARLIER[language] not in body and DESPITE[language] not in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_next_email_after_a_reminder_went_out_is_a_second_reminder(language: str, workspace: Workspace) -> None:
    kind, subject, body = _email(language, "send_email", "b2b_reminder", REMINDED, workspace)
    assert kind == "second_reminder"
    assert subject.startswith(SECOND[language]) and EARLIER[language] in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_final_notice_to_a_debtor_never_reminded_says_no_earlier_reminder(language: str,
                                                                          workspace: Workspace) -> None:
    for reminders in ((), BOUNCED):
        kind, subject, body = _email(language, "send_final_notice", None, reminders, workspace)
        assert kind == "reminder"
        assert FINAL[language] not in subject and DESPITE[language] not in body and SECOND[language] not in subject
        assert SMS_FINAL[language] not in _sms(language, "send_final_notice", None, reminders, workspace)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_final_notice_after_a_reminder_went_out_is_a_final_notice(language: str, workspace: Workspace) -> None:
    kind, subject, body = _email(language, "send_final_notice", None, REMINDED, workspace)
    assert kind == "final_notice"
    assert subject.startswith(FINAL[language]) and DESPITE[language] in body
    assert SMS_FINAL[language] in _sms(language, "send_final_notice", None, REMINDED, workspace)


def test_a_reminder_about_other_invoices_or_a_statement_does_not_count() -> None:
    before_due = (_reminder(10, "sent", date(2026, 9, 20)),)  # went out before INV-42 fell due (1 October)
    statement = (_reminder(11, "sent", date(2026, 10, 4), template="statement"),)
    due = _due("en", "send_email", None)
    assert message_notice(due, before_due, SENT) is NoticeKind.FIRST_REMINDER
    assert message_notice(due, statement, SENT) is NoticeKind.FIRST_REMINDER
    assert message_notice(due, REMINDED, SENT) is NoticeKind.SECOND_REMINDER


def test_a_step_naming_a_template_of_its_own_keeps_it() -> None:
    assert message_notice(_due("en", "send_email", "contract_ending"), REMINDED, SENT) is None
    assert message_notice(_due("en", "send_pay_link", None), REMINDED, SENT) is None


def test_the_letters_and_the_messages_count_the_same_templates_as_reminders() -> None:
    from dunning.usecases.letters.data import REMINDER_KINDS, TEMPLATE_KINDS
    from dunning.usecases.outgoing.notices import NOT_REMINDER_TEMPLATES

    for template, kind in TEMPLATE_KINDS.items():
        assert (kind in REMINDER_KINDS) == (template not in NOT_REMINDER_TEMPLATES), template


def test_a_sent_email_records_the_deadline_it_printed_for_the_pacing(store: Store, tmp_path: Path) -> None:
    """One deadline (issue 17): the date an email printed is kept on its action (``detail.deadline``, as a
    rendered letter's is), and the night reads it as the floor of the notice's deadline."""
    from dunning.usecases.messaging.dispatch import dispatch_messages
    from dunning.usecases.outgoing.legal import deadline_floor
    from tests.usecases.messaging.helpers import FIRST_NIGHT, WEEKDAY_MORNING, all_deliveries, import_and_plan

    ws = make_workspace(tmp_path / "ws")
    import_and_plan(store, ws)
    dispatch_messages(store, ws, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)
    with store.begin() as conn:
        details = {row.id: row.detail for row in conn.execute(select(actions.c.id, actions.c.detail))}
    sent = [d for d in all_deliveries(store) if d.status == "sent"]
    assert sent
    for delivery in sent:
        printed = date.fromisoformat(delivery.detail["pay_by"])
        assert details[delivery.action_id]["deadline"] == printed.isoformat()
        floor = deadline_floor(details[delivery.action_id])
        assert floor is not None and floor >= printed


@pytest.mark.parametrize(("country", "swiss"), [("CH", True), ("LI", True), ("DE", False), ("AT", False)])
def test_a_german_email_and_sms_to_switzerland_are_in_swiss_spelling(country: str, swiss: bool,
                                                                       workspace: Workspace) -> None:
    """Swiss Standard German writes "ss" ("Grüsse"): the email's and SMS's own words, never the debtor's name."""
    from dataclasses import replace

    secrets = load_secrets(workspace, ENV)
    due = replace(_due("de", "send_email", None), country=country, debtor_name="Weißbach AG")
    data, _ = compose_email(due, workspace, secrets, TEMPLATES, SENT, message_notice(due, (), SENT))
    email = build_email(data, brand_for(workspace), email_settings(workspace, secrets),
                        sent_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC), templates_dir=TEMPLATES).parsed()
    text = str(email.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    html = str(email.get_body(("html",)).get_content())  # type: ignore[union-attr]
    for body in (text, html):
        assert ("Grüsse" in body) is swiss and ("Grüße" in body) is not swiss
        assert "Weißbach AG" in body  # the name as the ledger spells it
    sms_due = replace(_due("de", "send_sms", None), country=country)
    sms_data, _ = compose_sms(sms_due, workspace, secrets, TEMPLATES, SENT, message_notice(sms_due, (), SENT))
    assert sms_data.swiss is swiss
