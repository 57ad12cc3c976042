"""How every letter, email and SMS says a date and a deadline, per language (one wording everywhere).

A deadline is the last day to pay, included, and is always said as such ("by D at the latest",
"uiterlijk op D", "au plus tard le D", "spätestens am D"), never "before D", which would take a day
off the period the law gives (a Dutch 14-day letter that says "vóór" gives 13)::

    >>> from datetime import date
    >>> deadline_phrase("fr", long_date(date(2026, 10, 1), "fr_BE"))
    'au plus tard le 1er octobre 2026'
    >>> deadline_phrase("en", long_date(date(2026, 10, 1), "en_GB"))
    'by 1 October 2026 at the latest'
    >>> long_date(date(2026, 10, 2), "fr_FR"), long_date(date(2026, 10, 1), "de_DE")
    ('2 octobre 2026', '1. Oktober 2026')
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date

__all__ = ["DEADLINE_LABELS", "DEADLINE_PHRASES", "deadline_phrase", "long_date", "swiss_spelling", "swiss_text"]

#: the deadline in a sentence or a payment block, with the formatted date in ``{date}``
DEADLINE_PHRASES = {
    "nl": "uiterlijk op {date}",
    "fr": "au plus tard le {date}",
    "de": "spätestens am {date}",
    "en": "by {date} at the latest",
}
#: the label of the deadline's line in a payment block or an email's summary
DEADLINE_LABELS = {"nl": "Betaaltermijn", "fr": "Délai de paiement", "de": "Zahlungsfrist", "en": "Payment due"}


def deadline_phrase(language: str, formatted_date: str) -> str:
    """The deadline in the language's one wording (English for a language without one)."""
    return DEADLINE_PHRASES.get(language[:2].lower(), DEADLINE_PHRASES["en"]).format(date=formatted_date)


def long_date(value: date, locale: str) -> str:
    """Babel's long date, with the French ordinal of the first day of a month ("1er octobre")."""
    text = str(format_date(value, "long", locale=locale))
    if value.day == 1 and locale[:2].lower() == "fr" and text.startswith("1 "):
        return "1er " + text[2:]
    return text


#: where German is written without "ß" (Swiss Standard German writes "ss": "Grüsse", "ausserhalb")
_SWISS_GERMAN = ("CH", "LI")


def swiss_spelling(locale: str, creditor_country: str = "") -> bool:
    """True when German is written the Swiss way: to a debtor in Switzerland or Liechtenstein
    (locale ``de_CH``/``de_LI``) or from a Swiss or Liechtenstein creditor.

    >>> swiss_spelling("de_CH"), swiss_spelling("de_DE", "CH"), swiss_spelling("de_DE", "BE"), swiss_spelling("fr_CH")
    (True, True, False, False)
    """
    language, _, territory = locale.partition("_")
    return language == "de" and (territory.upper() in _SWISS_GERMAN or creditor_country.upper() in _SWISS_GERMAN)


def swiss_text(text: str) -> str:
    """A letter's or message's own German text in Swiss spelling ("ß" → "ss"); never applied to names or addresses.

    >>> swiss_text("Mit freundlichen Grüßen, außergerichtliche Kosten")
    'Mit freundlichen Grüssen, aussergerichtliche Kosten'
    """
    return text.replace("ß", "ss").replace("ẞ", "SS")
