"""Credit notes and the Book XIX block in built emails, from EmailData alone (no store)."""

from __future__ import annotations

from datetime import date

import pytest

from dunning.channels.email import EmailData, InvoiceLine, build_email
from dunning.domain.money import Money
from tests.channels.channel_helpers import BRAND, LOCALES, SENT_AT, SETTINGS, email_data

LABELS = {"nl": ("Creditnota", "Factuur"), "fr": ("Note de crédit", "Facture"), "de": ("Gutschrift", "Rechnung"),
          "en": ("Credit note", "Invoice")}
#: the deduction as each locale writes it: a minus sign, a no-break space, the positive amount
DEDUCTIONS = {"nl": "\u2212\u00a0€\u00a0234,50", "fr": "\u2212\u00a0234,50\u00a0€", "de": "\u2212\u00a0234,50\u00a0€",
              "en": "\u2212\u00a0€234.50"}
NETS = {"nl": "€\u00a0765,50", "fr": "765,50\u00a0€", "de": "765,50\u00a0€", "en": "€765.50"}
LEGAL_TITLES = ("Wettelijke vermeldingen", "Mentions légales", "Gesetzliche Angaben", "Legal information")
CREDIT_LINES = (InvoiceLine("F2026-0042", date(2026, 10, 31), Money.of("1000.00")),
                InvoiceLine("CN2026-0007", date(2026, 11, 2), Money.of("-234.50")))


def _parts(data: EmailData) -> tuple[str, str]:
    """The text (with plain line ends) and HTML bodies of the email built from ``data``."""
    message = build_email(data, BRAND, SETTINGS, sent_at=SENT_AT).parsed()
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()).replace("\r\n", "\n"), str(html.get_content())


@pytest.mark.parametrize("kind", ["reminder", "final_notice"])
@pytest.mark.parametrize("language", sorted(LOCALES))
def test_a_credit_note_is_labelled_and_deducted_in_both_parts(language: str, kind: str) -> None:
    credit, invoice = LABELS[language]
    data = email_data(locale=LOCALES[language], kind=kind, invoices=CREDIT_LINES, total_due=Money.of("765.50"))
    text, html = _parts(data)
    credit_line = next(line for line in text.splitlines() if "CN2026-0007" in line)
    assert credit_line.startswith(f"- {credit} CN2026-0007") and credit_line.endswith(DEDUCTIONS[language])
    assert f"- {invoice} F2026-0042" in text and f"{invoice} CN2026-0007" not in text
    assert "-234" not in text and "-234" not in html  # never Babel's "€ -234,50"
    assert f"<td>{credit} CN2026-0007</td><td></td><td align=\"right\">{DEDUCTIONS[language]}</td>" in html
    # The net balance of the listed items, as a last line / row.
    assert text.count(NETS[language]) >= 2 and html.count(NETS[language]) >= 2
    # Without the planner's legal data there is no Book XIX block.
    assert not any(title in text or title in html for title in LEGAL_TITLES)


def test_without_credit_notes_the_list_and_table_are_as_before() -> None:
    text, html = _parts(email_data())
    assert "Openstaande facturen:\n- Factuur F2026-0042, vervaldag 31/10/2026: €\u00a01.000,00\n" in text
    assert "Creditnota" not in text and "Creditnota" not in html and "Saldo na aftrek" not in html


def test_the_book_xix_block_is_in_both_parts_of_each_kind_when_given() -> None:
    legal = {"deadline": date(2026, 12, 8), "period_days": 14, "damages": Money.of("67.50"),
             "rate": None, "creditor_name": "Stadtwerke Köln", "enterprise_number": "BE0403170701",
             "creditor_address": "Kunstlaan 21, 1000 Brussel", "debtor_name": "Erika Janssens",
             "customer_number": "K-77", "debtor_address": "Dorp 2, 9000 Gent"}
    for kind in ("reminder", "final_notice", "pay_link"):
        data = email_data(kind=kind, extra={"legal": legal, "invoice_descriptions": {"F2026-0042": "Gas"}})
        for part in _parts(data):
            assert "Wettelijke vermeldingen" in part
            assert "Deze eerste herinnering is kosteloos." in part
            assert "8 december 2026" in part and "67,50" in part
            assert "Schuldenaar: Erika Janssens, klantnummer K-77, Dorp 2, 9000 Gent" in part
            assert "Stadtwerke Köln, ondernemingsnummer BE0403170701" in part
            if kind != "pay_link":  # the pay-link email has no invoice list
                assert "F2026-0042 – Gas" in part
