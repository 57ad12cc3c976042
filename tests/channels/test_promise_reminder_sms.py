"""The shipped ``promise_reminder`` SMS in each language: the promised day, the amount and the link, in
GSM-7 and within the default two segments (the night plans it on the debtor without an email address)."""

from __future__ import annotations

from datetime import date

import pytest

from dunning.channels.sms import SmsSettings, build_sms
from tests.channels.channel_helpers import sms_data


@pytest.mark.parametrize(
    ("locale", "day"),
    [
        ("nl_BE", "betaal € 149,90 uiterlijk op 10/12/2026:"),
        ("fr_BE", "veuillez payer 149,90 € au plus tard le 10/12/26 :"),
        ("de_DE", "bitte 149,90 € spätestens am 10.12.26 zahlen:"),
        ("en_GB", "please pay €149.90 by 10/12/2026 at the latest:"),
    ],
)
def test_the_reminder_names_the_promised_day_in_the_debtors_language(locale: str, day: str) -> None:
    data = sms_data(locale=locale, kind="promise_reminder", pay_by=date(2026, 12, 10))
    sms = build_sms(data, SmsSettings(sender="Stadtwerke"))
    assert sms.variant == "full" and sms.segments <= 2 and sms.encoding == "GSM-7", sms
    assert data.pay_link is not None and data.pay_link in sms.text
    assert day in sms.text.replace("\u00a0", " "), sms.text
