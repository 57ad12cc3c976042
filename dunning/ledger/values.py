"""Reading the values of ledger cells: amounts, dates, countries, languages, debtor types, flags.

Each reader takes a string and returns the value or raises ``ValueError`` with a
short reason; the caller adds file, line and column. Amount readers know the
decimal separator of the file (see :func:`detect_decimal`)::

    >>> parse_amount("1.234,56", ",")
    Decimal('1234.56')
    >>> parse_amount("-1,234.56", ".")
    Decimal('-1234.56')
    >>> parse_amount("12,50-", ",")      # SAP writes the sign last
    Decimal('-12.50')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale

# Formats tried in order when the mapping does not name one; day-first, as in Europe.
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y%m%d", "%d.%m.%y", "%d/%m/%y", "%Y/%m/%d")
_CURRENCY_SIGNS = re.compile(r"[€$£]|EUR|CHF|GBP|USD", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def detect_decimal(values: Iterable[str]) -> str:
    """Guess the decimal separator (``","`` or ``"."``) from a column of amounts.

    A value with both separators decides by the last one; otherwise a separator
    followed by one or two digits at the end is a decimal mark. Undecided: ``"."``.
    """
    comma = point = 0
    for raw in values:
        text = _SPACES.sub("", raw)
        if "," in text and "." in text:
            if text.rfind(",") > text.rfind("."):
                comma += 1
            else:
                point += 1
        elif re.search(r",\d{1,2}-?\)?$", text):
            comma += 1
        elif re.search(r"\.\d{1,2}-?\)?$", text):
            point += 1
    return "," if comma > point else "."


def parse_amount(raw: str, decimal_mark: str) -> Decimal:
    """Read an amount written with ``decimal_mark``; thousands separators are dropped."""
    text = _CURRENCY_SIGNS.sub("", _SPACES.sub("", raw))
    if not text:
        raise ValueError("empty amount")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.endswith("-"):
        negative, text = not negative, text[:-1]
    if text.startswith(("-", "+")):
        negative, text = (negative != (text[0] == "-")), text[1:]
    thousands = "." if decimal_mark == "," else ","
    if decimal_mark == ",":
        if text.count(",") > 1:
            raise ValueError("more than one decimal comma")
        if "." in text and not re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d*)?", text):
            raise ValueError("misplaced thousands separator")
    elif thousands in text and not re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d*)?", text):
        raise ValueError("misplaced thousands separator")
    text = text.replace(thousands, "").replace(decimal_mark, ".")
    if not re.fullmatch(r"\d+(\.\d*)?|\.\d+", text):
        raise ValueError("not a number")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex above already refuses these
        raise ValueError("not a number") from None
    return -value if negative else value


def detect_date_format(values: Iterable[str], candidates: tuple[str, ...] = DATE_FORMATS) -> str | None:
    """The candidate format that reads the most of ``values`` (first wins a tie)."""
    sample = [v.strip() for v in values if v and v.strip()][:2000]
    if not sample:
        return None
    best, best_count = None, 0
    for fmt in candidates:
        count = 0
        for value in sample:
            try:
                datetime.strptime(value, fmt)  # noqa: DTZ007 - a calendar date, no time zone
                count += 1
            except ValueError:
                pass
        if count > best_count:
            best, best_count = fmt, count
    return best


def human_format(fmt: str) -> str:
    """``%d.%m.%Y`` → ``dd.mm.yyyy``, as people write date formats."""
    for directive, token in (("%Y", "yyyy"), ("%y", "yy"), ("%m", "mm"), ("%d", "dd")):
        fmt = fmt.replace(directive, token)
    return fmt


def parse_date(raw: str, fmt: str | None) -> date:
    """Read a date with ``fmt``; Excel and ISO timestamps (``2026-01-05 00:00:00``) too."""
    text = raw.strip()
    if not text:
        raise ValueError("empty date")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", text):
        text = text[:10]
        fmt = "%Y-%m-%d"
    if fmt is None:
        raise ValueError("unknown date format")
    try:
        return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time zone
    except ValueError:
        raise ValueError(f"not a date in the format {human_format(fmt)}") from None


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for language in ("en", "nl", "fr", "de"):
        for code, name in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names[name.casefold()] = code
                names[code.casefold()] = code
    names.update({"uk": "GB", "holland": "NL", "deutschland": "DE", "belgie": "BE"})
    return names


def parse_country(raw: str) -> str:
    """An ISO 3166 alpha-2 code from a code or a country name in EN/NL/FR/DE."""
    code = _country_names().get(raw.strip().casefold())
    if code is None or code in ("EU", "UN", "EZ", "QO", "XA", "XB", "ZZ"):
        raise ValueError("not an ISO 3166 country code or name")
    return code


_LANGUAGES = {
    "nl": "nl",
    "dutch": "nl",
    "nederlands": "nl",
    "vlaams": "nl",
    "flemish": "nl",
    "néerlandais": "nl",
    "niederländisch": "nl",
    "fr": "fr",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "frans": "fr",
    "französisch": "fr",
    "de": "de",
    "german": "de",
    "deutsch": "de",
    "duits": "de",
    "allemand": "de",
    "en": "en",
    "english": "en",
    "engels": "en",
    "anglais": "en",
    "englisch": "en",
}


def parse_language(raw: str) -> str:
    """One of ``nl``, ``fr``, ``de``, ``en`` from a code (``nl_BE``, ``FR``) or a name."""
    text = raw.strip().casefold().replace("-", "_")
    found = _LANGUAGES.get(text) or _LANGUAGES.get(text.split("_")[0])
    if found is None:
        raise ValueError("not one of the languages nl, fr, de, en")
    return found


_PERSON = {
    "person",
    "private",
    "consumer",
    "b2c",
    "individual",
    "particulier",
    "privé",
    "prive",
    "natuurlijk persoon",
    "particulier/privé",
    "privat",
    "privatperson",
    "verbraucher",
    "p",
}
_COMPANY = {
    "company",
    "business",
    "b2b",
    "organisation",
    "organization",
    "bedrijf",
    "onderneming",
    "entreprise",
    "société",
    "societe",
    "firma",
    "unternehmen",
    "gewerbe",
    "c",
}


def parse_debtor_type(raw: str) -> str:
    """``person`` or ``company`` from the many ways ledgers write it."""
    text = raw.strip().casefold()
    if text in _PERSON:
        return "person"
    if text in _COMPANY:
        return "company"
    raise ValueError("not person or company")


# A regular-supply flag is written as yes/no, or as the kind of contract (Book XIX names energy,
# telecom and newspapers; water and subscriptions are supplied the same way).
_SUPPLY_YES = {
    "yes", "y", "true", "1", "x", "ja", "j", "oui", "regular", "regular supply", "recurring", "periodic",
    "subscription", "energy", "electricity", "gas", "water", "telecom", "internet", "mobile", "newspaper",
    "magazine", "regelmatig", "regelmatige levering", "abonnement", "energie", "elektriciteit", "gas en elektriciteit",
    "krant", "tijdschrift", "fourniture reguliere", "fourniture régulière", "electricite", "électricité", "eau",
    "journal", "regelmassig", "regelmäßig", "strom", "wasser", "zeitung", "zeitschrift",
}
_SUPPLY_NO = {
    "no", "n", "false", "0", "nee", "non", "nein", "one-off", "one off", "once", "single", "eenmalig", "ponctuel",
    "unique", "einmalig",
}


def parse_regular_supply(raw: str) -> bool:
    """Does the invoice bill a regular-supply contract? ``yes``/``no`` in EN, NL, FR or DE, or a kind.

    ::

        >>> [parse_regular_supply(v) for v in ("Ja", "non", "Energy", "abonnement", "one-off")]
        [True, False, True, True, False]
    """
    text = " ".join(raw.strip().casefold().replace("_", " ").split())
    if text in _SUPPLY_YES:
        return True
    if text in _SUPPLY_NO:
        return False
    raise ValueError("not yes/no or a kind of regular-supply contract (energy, telecom, newspaper, subscription)")
