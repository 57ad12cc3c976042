"""Every plan message renders in nl, fr, de and en: the instalment's own amount and reference, SMS within 2 segments."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from dunning.channels.email import build_email
from dunning.channels.sms import SmsSettings, build_sms
from dunning.domain.money import Money
from dunning.usecases.plans.bot import PLAN_ACTIONS
from tests.channels.channel_helpers import BRAND, LOCALES, SENT_AT, SETTINGS, email_data, sms_data

ASKING = {"plan_reminder", "plan_grace_reminder", "plan_missed", "plan_deferred", "plan_spread", "plan_breach_notice"}
OWN = "+++010/0000/00182+++"
NEXT = "+++040/0000/00134+++"


def _figures(kind: str) -> dict[str, object]:
    def eur(value: str) -> Money:
        return Money.of(Decimal(value), "EUR")

    return {
        "plan_kind": kind, "number": 3, "amount": eur("40.12"), "reference": OWN, "due_date": date(2027, 1, 15),
        "open_total": eur("80.24"), "paid_total": eur("80.20"), "next_number": 4, "next_amount": eur("40.12"),
        "next_reference": NEXT, "next_due": date(2027, 2, 15), "arrears": eur("40.12"),
        "pay_arrears_by": date(2027, 3, 7),
    }


@pytest.mark.parametrize("language", ["nl", "fr", "de", "en"])
@pytest.mark.parametrize("kind", sorted(PLAN_ACTIONS))
def test_each_plan_message_in_each_language(language: str, kind: str) -> None:
    figures = _figures(kind)
    own = kind in ("plan_reminder", "plan_grace_reminder", "plan_missed")
    reference = OWN if own else NEXT
    data = replace(email_data(locale=LOCALES[language], kind="plan"), extra=figures, invoices=(),
                   total_due=figures["amount"], payment_reference=reference, pay_by=date(2027, 1, 15))
    email = build_email(data, BRAND, SETTINGS, sent_at=SENT_AT)
    message = email.parsed()
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    subject = str(message["Subject"])
    assert subject and "{" not in subject and "{{" not in text and "{%" not in html
    amount = {"nl": "40,12", "fr": "40,12", "de": "40,12", "en": "40.12"}[language]
    if kind in ASKING:
        assert reference in text and reference in html and amount in text
    elif kind == "plan_thanks":  # says what was paid and which instalment is next
        assert amount in text and f"{NEXT}\n" in text.replace("\r\n", "\n")  # on a line of its own
    else:
        assert NEXT not in text and OWN not in text  # the end of a plan asks for no instalment
    sms = build_sms(replace(sms_data(locale=LOCALES[language], kind="plan"), extra={**figures, "pay_reference":
                                                                                    reference},
                            total_due=figures["amount"], pay_link=None, brand_name="Brabant Energie NV"),
                    SmsSettings("Brabant", max_segments=2))
    assert sms.segments <= 2 and "{" not in sms.text
    assert (reference in sms.text) == (kind in ASKING)
