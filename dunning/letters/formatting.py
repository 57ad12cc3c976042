"""Locale-aware formatting for letters (babel): amounts, dates, rates, charge labels.

The locale follows the debtor's language and country when babel knows the
pair (``nl`` + ``NL`` gives ``nl_NL``, ``de`` + ``BE`` gives ``de_BE``);
otherwise the language's default: nl_BE, fr_BE, de_DE, en_GB::

    >>> f = LocaleFormat(locale_for("nl", "BE"), "EUR", {"interest_detail": "", "fee": "Kosten"})
    >>> f.money(Decimal("1234.5")).replace("\\xa0", " ")
    '€ 1.234,50'
    >>> LocaleFormat(locale_for("de", "DE"), "EUR", {}).date(datetime.date(2026, 3, 1))
    '01.03.2026'
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

import jinja2
from babel import Locale, localedata
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from dunning.domain.wording import deadline_phrase, long_date, swiss_spelling, swiss_text
from dunning.letters.model import Charge, StatementEntry

__all__ = [
    "DEFAULT_LOCALES", "LocaleFormat", "StatementRow", "SwissLoader", "locale_for", "swiss_spelling", "swiss_text",
]

DEFAULT_LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "de": "de_DE", "en": "en_GB"}
def locale_for(language: str, country: str, override: str = "") -> str:
    """The babel locale for a debtor: ``override``, else language_COUNTRY if known, else the default."""
    if override:
        return override
    candidate = f"{language}_{country.upper()}"
    if localedata.exists(candidate):
        return candidate
    return DEFAULT_LOCALES.get(language, "en_GB")


class SwissLoader(jinja2.FileSystemLoader):
    """Templates with their own German text in Swiss spelling (:func:`swiss_text`); what they print is untouched."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        return swiss_text(source), filename, uptodate


@dataclass(frozen=True, slots=True)
class StatementRow:
    entry: StatementEntry
    debit: str
    credit: str
    balance: str


class LocaleFormat:
    """Formatting functions handed to the templates as ``f``."""

    def __init__(self, locale: str, currency: str, labels: Mapping[str, str], *, swiss: bool = False) -> None:
        """``swiss``: the letter's own German text is written in Swiss spelling (:func:`swiss_text`)."""
        self.locale = locale
        self.currency = currency
        self._labels = labels
        self._babel = Locale.parse(locale)
        self._swiss = swiss

    def money(self, amount: Decimal) -> str:
        return str(format_currency(amount, self.currency, locale=self.locale))

    def date(self, value: datetime.date) -> str:
        if self.locale == "nl_NL":
            return format_date(value, "dd-MM-yyyy", locale=self.locale)
        if self._babel.language == "de":
            return format_date(value, "dd.MM.yyyy", locale=self.locale)
        if self._babel.language in ("nl", "fr") or self.locale == "en_GB":
            return format_date(value, "dd/MM/yyyy", locale=self.locale)
        return str(format_date(value, "medium", locale=self.locale))

    def date_long(self, value: datetime.date) -> str:
        return long_date(value, self.locale)  # "1er octobre" in French

    def deadline(self, value: datetime.date) -> str:
        """The deadline in the one wording of every letter and message ("uiterlijk op D")."""
        return deadline_phrase(self.locale, self.date_long(value))

    def percent(self, rate: Decimal) -> str:
        """A yearly rate given in percent (``Decimal("12.5")``) as ``12,5 %`` or ``12.5%``."""
        return str(format_decimal(rate, format="#,##0.##", locale=self.locale)) + (
            "%" if self._babel.language == "en" else "\u00a0%"
        )

    def country(self, code: str) -> str:
        """The country's name for the last address line, in capitals (UPU practice)."""
        return str(self._babel.territories.get(code.upper(), code)).upper()

    def charge_label(self, charge: Charge) -> str:
        """The charge's name, for interest its rate, base and period, and the law it rests on."""
        label = charge.label or self._labels.get(str(charge.kind), str(charge.kind))
        if charge.rate is not None and charge.period_start and charge.period_end:
            detail = self._labels.get("interest_detail", "{rate}, {start} - {end}").format(
                rate=self.percent(charge.rate),
                start=self.date(charge.period_start),
                end=self.date(charge.period_end),
                base=self.money(charge.base) if charge.base is not None else "",
            )
            colon = "\u00a0: " if self._babel.language == "fr" else ": "
            label = f"{label}{colon}{detail}"
        label = f"{label} ({charge.basis})" if charge.basis else label
        return swiss_text(label) if self._swiss else label

    def statement_rows(self, entries: tuple[StatementEntry, ...]) -> Iterator[StatementRow]:
        balance = Decimal(0)
        for entry in entries:
            balance += entry.amount
            yield StatementRow(
                entry=entry,
                debit=self.money(entry.amount) if entry.amount > 0 else "",
                credit=self.money(-entry.amount) if entry.amount < 0 else "",
                balance=self.money(balance),
            )
