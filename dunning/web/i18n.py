"""The pay page's words in nl, fr, de and en, and its numbers and dates through babel.

The texts live here as plain dictionaries rather than gettext catalogues: there are few of them,
and nothing has to be compiled before the server starts. Every language has every key (a test
checks), so a missing word fails in the suite, never in front of a debtor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from dunning.letters.formatting import locale_for
from dunning.web.words import feature_texts

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "TEXTS", "Words", "pick_language"]

LANGUAGES = ("nl", "fr", "de", "en")
LANGUAGE_NAMES = {"nl": "Nederlands", "fr": "Français", "de": "Deutsch", "en": "English"}

_PAGE_TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Your payment to {creditor}",
        "intro": "This is what is still open on your file {case}, as our last message stated it.",
        "invoices": "Invoices",
        "invoice": "Invoice",
        "issued": "Date",
        "due": "Due",
        "amount": "Amount",
        "fee": "Costs",
        "interest": "Interest",
        "damages": "Damages",
        "received": "Payments received",
        "total": "Total due",
        "deadline": "Please pay by {date}.",
        "pay_now": "Pay now by bank transfer",
        "scan": "Scan this code with your banking app: it fills in everything.",
        "qr_alt": "Payment QR code: {amount} to {creditor}, reference {reference}",
        "by_hand": "Or enter these details in your banking app:",
        "beneficiary": "Beneficiary",
        "iban": "IBAN",
        "bic": "BIC",
        "reference": "Structured reference",
        "copy": "Copy",
        "copied": "Copied",
        "paid_title": "Thank you: nothing left to pay",
        "paid_text": "We have received your payment for file {case}. There is nothing more to do.",
        "contact": "Questions? Contact {creditor}",
        "language": "Language",
        "expired_title": "This payment link has expired",
        "expired_text": "Links are valid for a limited time. Please contact {creditor} for a new one "
        "or for the amount still open.",
        "invalid_title": "This payment link is not valid",
        "invalid_text": "The link may have been cut off or mistyped. Please use the link or QR code in "
        "our latest letter or message, or contact {creditor}.",
        "busy_title": "Too many requests",
        "busy_text": "Please wait a minute and try again.",
        "error_title": "Something went wrong on our side",
        "error_text": "Please try again later, or contact {creditor}.",
        "email": "Email",
        "phone": "Phone",
        "website": "Website",
    },
    "nl": {
        "title": "Uw betaling aan {creditor}",
        "intro": "Dit staat nog open in uw dossier {case}, zoals ons laatste bericht het vermeldde.",
        "invoices": "Facturen",
        "invoice": "Factuur",
        "issued": "Datum",
        "due": "Vervaldag",
        "amount": "Bedrag",
        "fee": "Kosten",
        "interest": "Interest",
        "damages": "Schadevergoeding",
        "received": "Ontvangen betalingen",
        "total": "Totaal te betalen",
        "deadline": "Gelieve te betalen vóór {date}.",
        "pay_now": "Nu betalen met een overschrijving",
        "scan": "Scan deze code met uw bankapp: alles wordt ingevuld.",
        "qr_alt": "Betaal-QR-code: {amount} aan {creditor}, mededeling {reference}",
        "by_hand": "Of vul deze gegevens in uw bankapp in:",
        "beneficiary": "Begunstigde",
        "iban": "IBAN",
        "bic": "BIC",
        "reference": "Gestructureerde mededeling",
        "copy": "Kopiëren",
        "copied": "Gekopieerd",
        "paid_title": "Bedankt: er staat niets meer open",
        "paid_text": "We hebben uw betaling voor dossier {case} ontvangen. U hoeft niets meer te doen.",
        "contact": "Vragen? Neem contact op met {creditor}",
        "language": "Taal",
        "expired_title": "Deze betaallink is verlopen",
        "expired_text": "Links zijn beperkt geldig. Neem contact op met {creditor} voor een nieuwe link "
        "of voor het bedrag dat nog openstaat.",
        "invalid_title": "Deze betaallink is niet geldig",
        "invalid_text": "De link is misschien afgebroken of verkeerd overgetypt. Gebruik de link of QR-code "
        "in onze laatste brief of ons laatste bericht, of neem contact op met {creditor}.",
        "busy_title": "Te veel verzoeken",
        "busy_text": "Wacht een minuut en probeer het opnieuw.",
        "error_title": "Er ging bij ons iets mis",
        "error_text": "Probeer het later opnieuw, of neem contact op met {creditor}.",
        "email": "E-mail",
        "phone": "Telefoon",
        "website": "Website",
    },
    "fr": {
        "title": "Votre paiement à {creditor}",
        "intro": "Voici ce qui reste ouvert dans votre dossier {case}, tel que notre dernier message l'indiquait.",
        "invoices": "Factures",
        "invoice": "Facture",
        "issued": "Date",
        "due": "Échéance",
        "amount": "Montant",
        "fee": "Frais",
        "interest": "Intérêts",
        "damages": "Dommages et intérêts",
        "received": "Paiements reçus",
        "total": "Total à payer",
        "deadline": "Merci de payer avant le {date}.",
        "pay_now": "Payer maintenant par virement",
        "scan": "Scannez ce code avec votre application bancaire : tout est prérempli.",
        "qr_alt": "Code QR de paiement : {amount} à {creditor}, communication {reference}",
        "by_hand": "Ou saisissez ces données dans votre application bancaire :",
        "beneficiary": "Bénéficiaire",
        "iban": "IBAN",
        "bic": "BIC",
        "reference": "Communication structurée",
        "copy": "Copier",
        "copied": "Copié",
        "paid_title": "Merci : plus rien à payer",
        "paid_text": "Nous avons reçu votre paiement pour le dossier {case}. Vous n'avez plus rien à faire.",
        "contact": "Des questions ? Contactez {creditor}",
        "language": "Langue",
        "expired_title": "Ce lien de paiement a expiré",
        "expired_text": "Les liens sont valables un temps limité. Contactez {creditor} pour un nouveau lien "
        "ou pour le montant encore ouvert.",
        "invalid_title": "Ce lien de paiement n'est pas valide",
        "invalid_text": "Le lien a peut-être été coupé ou mal recopié. Utilisez le lien ou le code QR de "
        "notre dernier courrier ou message, ou contactez {creditor}.",
        "busy_title": "Trop de demandes",
        "busy_text": "Veuillez patienter une minute et réessayer.",
        "error_title": "Une erreur s'est produite chez nous",
        "error_text": "Veuillez réessayer plus tard, ou contactez {creditor}.",
        "email": "E-mail",
        "phone": "Téléphone",
        "website": "Site web",
    },
    "de": {
        "title": "Ihre Zahlung an {creditor}",
        "intro": "Das ist in Ihrer Akte {case} noch offen, wie unsere letzte Nachricht es nannte.",
        "invoices": "Rechnungen",
        "invoice": "Rechnung",
        "issued": "Datum",
        "due": "Fällig",
        "amount": "Betrag",
        "fee": "Kosten",
        "interest": "Zinsen",
        "damages": "Schadensersatz",
        "received": "Erhaltene Zahlungen",
        "total": "Zu zahlen",
        "deadline": "Bitte zahlen Sie bis zum {date}.",
        "pay_now": "Jetzt per Überweisung bezahlen",
        "scan": "Scannen Sie diesen Code mit Ihrer Banking-App: alles ist vorausgefüllt.",
        "qr_alt": "Zahlungs-QR-Code: {amount} an {creditor}, Verwendungszweck {reference}",
        "by_hand": "Oder geben Sie diese Daten in Ihrer Banking-App ein:",
        "beneficiary": "Empfänger",
        "iban": "IBAN",
        "bic": "BIC",
        "reference": "Strukturierte Referenz",
        "copy": "Kopieren",
        "copied": "Kopiert",
        "paid_title": "Vielen Dank: nichts mehr offen",
        "paid_text": "Wir haben Ihre Zahlung für Akte {case} erhalten. Sie müssen nichts mehr tun.",
        "contact": "Fragen? Wenden Sie sich an {creditor}",
        "language": "Sprache",
        "expired_title": "Dieser Zahlungslink ist abgelaufen",
        "expired_text": "Links gelten nur begrenzte Zeit. Wenden Sie sich an {creditor} für einen neuen Link "
        "oder den noch offenen Betrag.",
        "invalid_title": "Dieser Zahlungslink ist nicht gültig",
        "invalid_text": "Der Link wurde vielleicht abgeschnitten oder falsch abgetippt. Nutzen Sie den Link "
        "oder QR-Code aus unserem letzten Brief oder unserer letzten Nachricht, oder wenden "
        "Sie sich an {creditor}.",
        "busy_title": "Zu viele Anfragen",
        "busy_text": "Bitte warten Sie eine Minute und versuchen Sie es erneut.",
        "error_title": "Bei uns ist etwas schiefgegangen",
        "error_text": "Bitte versuchen Sie es später erneut, oder wenden Sie sich an {creditor}.",
        "email": "E-Mail",
        "phone": "Telefon",
        "website": "Website",
    },
}


def _merged() -> dict[str, dict[str, str]]:
    merged = {language: dict(texts) for language, texts in _PAGE_TEXTS.items()}
    for module, texts in feature_texts():
        for language in LANGUAGES:
            twice = merged[language].keys() & texts[language].keys()
            if twice:
                raise RuntimeError(f"dunning.web.words.{module}: {language} words defined twice: {sorted(twice)}")
            merged[language].update(texts[language])
    return merged


#: every word of the page and its features (:mod:`dunning.web.words`), per language
TEXTS: Mapping[str, Mapping[str, str]] = _merged()


def pick_language(asked: str | None, fallback: str) -> str:
    """The language asked for (``?lang=``) when the page has it, else ``fallback`` (the debtor's)."""
    if asked in LANGUAGES:
        return asked
    return fallback if fallback in LANGUAGES else "en"


class Words:
    """The page's words and formats in one language: ``w("title", creditor=...)``, ``w.money(x)``."""

    def __init__(self, language: str, country: str, currency: str = "EUR") -> None:
        self.language = language
        self.locale = locale_for(language, country)
        self.currency = currency
        self._texts = TEXTS[language]

    def __call__(self, key: str, **values: object) -> str:
        return self._texts[key].format(**values)

    def money(self, amount: Decimal) -> str:
        return str(format_currency(amount, self.currency, locale=self.locale))

    def date(self, value: dt.date) -> str:
        return str(format_date(value, "long", locale=self.locale))

    def short_date(self, value: dt.date) -> str:
        return str(format_date(value, "medium", locale=self.locale))

    def plain_amount(self, amount: Decimal) -> str:
        """The amount as a banking app takes it typed or pasted: ``648,34`` in nl, fr and de."""
        return str(format_decimal(amount, format="0.00", locale=self.locale))
