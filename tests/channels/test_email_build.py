"""Building dunning emails: MIME structure, languages, headers, determinism, DKIM."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dkim
import pytest

from dunning.channels.email import (
    Brand,
    InvalidBrand,
    InvalidEmailAddress,
    build_email,
    build_emails,
)
from dunning.channels.render import TemplateMissing
from dunning.channels.tokens import InvalidActionId, read_token, read_verp
from dunning.errors import ConfigError
from tests.channels.channel_helpers import (
    BRAND,
    PDF,
    SECRET,
    SENT_AT,
    SETTINGS,
    dkim_test_key,
    dnsfunc_for,
    email_data,
    with_pdf,
)

# Per language: words the subject must contain, the amount as Babel formats it for the locale.
EXPECTED = {
    "nl_BE": ("Herinnering", "€\u00a01.234,50", "Beste Erika Janssens,", "Nu betalen"),
    "fr_BE": ("Rappel", "1\u202f234,50\u00a0€", "Bonjour Erika Janssens,", "Payer maintenant"),
    "de_BE": ("Zahlungserinnerung", "1.234,50\u00a0€", "Guten Tag Erika Janssens,", "Jetzt bezahlen"),
    "en_GB": ("Reminder", "€1,234.50", "Dear Erika Janssens,", "Pay now"),
}


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_text_and_html_alternatives_in_each_language(locale: str) -> None:
    subject_word, amount, greeting, button = EXPECTED[locale]
    built = build_email(email_data(locale=locale), BRAND, SETTINGS, sent_at=SENT_AT)
    message = built.parsed()

    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    text, html = parts[0].get_content(), parts[1].get_content()
    assert message["Subject"].startswith(subject_word)
    assert amount in message["Subject"]
    assert message["Content-Language"] == locale[:2]
    assert text.startswith(greeting)
    assert amount in text and amount in html
    assert f'<html lang="{locale[:2]}">' in html
    assert button in html
    # The pay link is in both parts, and the button points at it.
    link = "https://pay.stadtwerke.example/p/A000123x8fK2"
    assert link in text
    assert f'href="{link}"' in html
    assert "+++090/9337/55493+++" in text and "F2026-0057" in html
    assert message["From"].addresses[0].display_name == "Stadtwerke Köln"
    assert message["Date"] == "Tue, 24 Nov 2026 09:00:00 +0100"


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_final_notice_reads_as_a_formal_notice(locale: str) -> None:
    word = {"nl_BE": "Ingebrekestelling", "fr_BE": "Mise en demeure", "de_BE": "Mahnung",
            "en_GB": "Formal notice"}[locale]
    message = build_email(email_data(locale=locale, kind="final_notice"), BRAND, SETTINGS,
                          sent_at=SENT_AT).parsed()
    assert message["Subject"].startswith(word)
    assert word in message.get_body(("html",)).get_content()


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_thank_you_has_no_amount_box_and_pay_link_has_the_button(locale: str) -> None:
    _, amount, greeting, button = EXPECTED[locale]
    thanks = build_email(email_data(locale=locale, kind="thank_you"), BRAND, SETTINGS, sent_at=SENT_AT).parsed()
    html = thanks.get_body(("html",)).get_content()
    assert thanks.get_body(("plain",)).get_content().startswith(greeting)
    assert amount not in html and button not in html and "pay.stadtwerke.example/p/" not in html
    link = build_email(email_data(locale=locale, kind="pay_link"), BRAND, SETTINGS, sent_at=SENT_AT).parsed()
    assert button in link.get_body(("html",)).get_content()
    assert "https://pay.stadtwerke.example/p/A000123x8fK2" in link.get_body(("plain",)).get_content()


def test_pdf_attachment_wraps_the_alternatives_in_multipart_mixed() -> None:
    message = build_email(with_pdf(email_data()), BRAND, SETTINGS, sent_at=SENT_AT).parsed()
    assert message.get_content_type() == "multipart/mixed"
    body, attachment = list(message.iter_parts())
    assert body.get_content_type() == "multipart/alternative"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "herinnering-A000123.pdf"
    assert attachment.get_content() == PDF
    assert "bijlage (PDF)" in message.get_body(("plain",)).get_content()


def test_same_action_gives_the_same_bytes_and_message_id() -> None:
    first = build_email(with_pdf(email_data()), BRAND, SETTINGS, sent_at=SENT_AT)
    again = build_email(with_pdf(email_data()), BRAND, SETTINGS, sent_at=SENT_AT)
    assert first.raw == again.raw
    assert first.message_id == again.message_id
    assert first.message_id.endswith("@mail.stadtwerke.example>")
    other_key = build_email(email_data(idempotency_key="case-42:step-1:2026-11-25"), BRAND, SETTINGS,
                            sent_at=SENT_AT)
    assert other_key.message_id != first.message_id
    # The Message-ID carries the signed action token, so a bounce quoting it maps back.
    assert read_token(".".join(first.message_id.strip("<>").split(".")[:2]), SECRET) == "A000123"


def test_envelope_sender_is_a_signed_verp_address() -> None:
    built = build_email(email_data("A000777"), BRAND, SETTINGS, sent_at=SENT_AT)
    assert built.envelope_from.startswith("bounces+A000777.")
    assert built.envelope_from.endswith("@bounce.stadtwerke.example")
    assert read_verp(built.envelope_from, SECRET) == "A000777"
    assert read_verp(built.envelope_from, b"another secret") is None
    assert built.recipients == ("erika@example.org",)


def test_list_unsubscribe_on_reminders_only() -> None:
    reminder = build_email(email_data(), BRAND, SETTINGS, sent_at=SENT_AT).parsed()
    assert reminder["List-Unsubscribe"] == (
        "<https://pay.stadtwerke.example/prefs/A000123>, "
        "<mailto:unsubscribe@stadtwerke.example?subject=unsubscribe%20A000123>")
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://pay.stadtwerke.example/prefs/A000123" in reminder.get_body(("plain",)).get_content()

    notice = build_email(email_data(kind="final_notice"), BRAND, SETTINGS, sent_at=SENT_AT).parsed()
    assert notice["List-Unsubscribe"] is None and notice["List-Unsubscribe-Post"] is None
    assert "prefs" not in notice.get_body(("plain",)).get_content()
    flagged = build_email(email_data(legal_notice=True), BRAND, SETTINGS, sent_at=SENT_AT).parsed()
    assert flagged["List-Unsubscribe"] is None

    # Without an https URL there is no one-click POST header (RFC 8058 needs one).
    mailto_only = build_email(email_data(preferences_url=None), BRAND, SETTINGS, sent_at=SENT_AT).parsed()
    assert mailto_only["List-Unsubscribe"].strip().startswith("<mailto:")
    assert mailto_only["List-Unsubscribe-Post"] is None


def test_auto_submitted_headers() -> None:
    message = build_email(email_data(), BRAND, SETTINGS, sent_at=SENT_AT).parsed()
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "OOF, AutoReply"


def test_dkim_signature_verifies_and_covers_list_unsubscribe() -> None:
    key, record = dkim_test_key()
    settings = replace(SETTINGS, dkim=key)
    built = build_email(with_pdf(email_data()), BRAND, settings, sent_at=SENT_AT)
    dnsfunc = dnsfunc_for(key.selector, key.domain, record)
    assert built.raw.startswith(b"DKIM-Signature:")
    assert dkim.verify(built.raw, dnsfunc=dnsfunc)
    signature = built.parsed()["DKIM-Signature"]
    signed = signature.split("h=")[1].split(";")[0].replace(" ", "")
    assert "list-unsubscribe:list-unsubscribe-post" in signed
    # Changing the pay link in transit breaks the signature.
    tampered = built.raw.replace(b"A000123x8fK2", b"EVILxxxxxxxx")
    assert tampered != built.raw
    assert not dkim.verify(tampered, dnsfunc=dnsfunc)


def test_bad_recipient_is_permanent_and_the_batch_goes_on() -> None:
    with pytest.raises(InvalidEmailAddress) as info:
        build_email(email_data(to="erika@gmial"), BRAND, SETTINGS, sent_at=SENT_AT)
    assert "A000123" in str(info.value) and "erika@gmial" not in str(info.value)
    assert info.value.address == "erika@gmial"

    built, problems = build_emails(
        [(email_data("A1"), BRAND), (email_data("A2", to="not an address"), BRAND), (email_data("A3"), BRAND)],
        SETTINGS, sent_at=SENT_AT)
    assert [b.action_id for b in built] == ["A1", "A3"]
    assert [p.action_id for p in problems] == ["A2"]
    assert isinstance(problems[0].error, InvalidEmailAddress)


def test_html_escapes_data_but_text_keeps_it() -> None:
    message = build_email(email_data(debtor_name="Jan <b>&</b> Zonen"), BRAND, SETTINGS, sent_at=SENT_AT).parsed()
    assert "Jan &lt;b&gt;&amp;&lt;/b&gt; Zonen" in message.get_body(("html",)).get_content()
    assert "Beste Jan <b>&</b> Zonen," in message.get_body(("plain",)).get_content()


def test_configuration_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(InvalidBrand, match="primary_colour 'red;x:y'"):
        Brand("X", primary_colour="red;x:y")
    with pytest.raises(TemplateMissing, match=r"nowhere[/\\]email does not exist"):
        build_email(email_data(), BRAND, SETTINGS, sent_at=SENT_AT, templates_dir=tmp_path / "nowhere")
    with pytest.raises(TemplateMissing, match=r"en[/\\]plan_offer\.subject\.j2"):
        build_email(email_data(locale="en_GB", kind="plan_offer"), BRAND, SETTINGS, sent_at=SENT_AT)
    with pytest.raises(ConfigError, match="'it'"):
        build_email(email_data(locale="it_CH"), BRAND, SETTINGS, sent_at=SENT_AT)
    with pytest.raises(InvalidActionId, match="A 1/2"):
        build_email(email_data("A 1/2"), BRAND, SETTINGS, sent_at=SENT_AT)
    with pytest.raises(ConfigError, match="timezone-aware"):
        build_email(email_data(), BRAND, SETTINGS, sent_at=SENT_AT.replace(tzinfo=None))


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_a_non_ascii_subject_reads_back_exactly_whatever_its_length(locale: str) -> None:
    """Python 3.11's folding of a long non-ASCII Subject can lose or add a space (CPython gh-144156)."""
    for n in range(1, 90):
        brand = replace(BRAND, name=f"Stadtwerke Köln {'Ä' * (n % 3)}{'x' * n} Grünstraße")
        built = build_email(email_data(locale=locale), brand, SETTINGS, sent_at=SENT_AT)
        subject = built.parsed()["Subject"]
        assert brand.name in subject, (n, subject)
        assert "  " not in subject and subject == subject.strip(), (n, subject)
