"""Test data shared by the channel tests (imported as ``channel_helpers``; pytest puts this folder on sys.path)."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dunning.channels.email import Attachment, Brand, DkimKey, EmailData, EmailSettings, InvoiceLine
from dunning.channels.sms import SmsData
from dunning.domain.money import Money

SECRET = b"test-verp-secret"
SENT_AT = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Europe/Brussels"))
BRAND = Brand("Stadtwerke Köln", primary_colour="#005a9c", accent_colour="#e6f0f8",
              support_email="inkasso@stadtwerke.example", support_phone="+49 221 123 4567",
              website="https://stadtwerke.example")
SETTINGS = EmailSettings(
    from_address="factuur@stadtwerke.example",
    message_id_domain="mail.stadtwerke.example",
    bounce_domain="bounce.stadtwerke.example",
    verp_secret=SECRET,
    unsubscribe_mailto="unsubscribe@stadtwerke.example",
)
LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "de": "de_BE", "en": "en_GB"}
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def email_data(action_id: str = "A000123", *, locale: str = "nl_BE", kind: str = "reminder",
               to: str = "erika@example.org", **changes: object) -> EmailData:
    data = EmailData(
        action_id=action_id,
        idempotency_key=f"case-42:step-1:2026-11-24:{action_id}",
        kind=kind,
        locale=locale,
        to_address=to,
        debtor_name="Erika Janssens",
        total_due=Money.of("1234.50", "EUR"),
        pay_by=date(2026, 12, 8),
        pay_link=f"https://pay.stadtwerke.example/p/{action_id}x8fK2",
        payment_reference="+++090/9337/55493+++",
        invoices=(InvoiceLine("F2026-0042", date(2026, 10, 31), Money.of("1000.00", "EUR")),
                  InvoiceLine("F2026-0057", date(2026, 11, 10), Money.of("234.50", "EUR"))),
        preferences_url=f"https://pay.stadtwerke.example/prefs/{action_id}",
    )
    return replace(data, **changes)  # type: ignore[arg-type]


def with_pdf(data: EmailData) -> EmailData:
    return replace(data, attachment=Attachment("herinnering-A000123.pdf", PDF))


def sms_data(action_id: str = "S000001", *, phone: str = "0471 12 34 56", locale: str = "nl_BE",
             kind: str = "reminder_sms", **changes: object) -> SmsData:
    data = SmsData(
        action_id=action_id,
        idempotency_key=f"case-42:step-2:2026-11-24:{action_id}",
        kind=kind,
        locale=locale,
        phone=phone,
        brand_name="Stadtwerke",
        total_due=Money.of("149.90", "EUR"),
        pay_by=date(2026, 12, 8),
        pay_link="https://pay.sw.example/p/8fK2xQ7a",
    )
    return replace(data, **changes)  # type: ignore[arg-type]


def dkim_test_key(selector: str = "dunning2026", domain: str = "stadtwerke.example") -> tuple[DkimKey, bytes]:
    """A fresh 2048-bit RSA key and the DNS TXT record that publishes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    public_der = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    return DkimKey(selector, domain, private_pem), record


def dnsfunc_for(selector: str, domain: str, record: bytes):  # type: ignore[no-untyped-def]
    wanted = f"{selector}._domainkey.{domain}.".encode()

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name in (wanted, wanted.rstrip(b".")) else None

    return dnsfunc
