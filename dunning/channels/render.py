"""Jinja2 environments shared by the email and SMS channels.

Templates live under ``templates/<channel>/<language>/`` at the repository root (or in a
folder the caller passes). Undefined variables are errors, so a template that names a field
the data does not have fails loudly at build time instead of sending "Dear ,". Amounts and
dates are formatted by Babel for the recipient's locale (``nl_BE``: ``€ 1.234,50``).

A **credit note** is an open item with a negative amount (that is how the ledger import and the
planner see it). Templates test for it with ``line is credit_note``, print it under its own name
and show its amount as a deduction with ``| deduction(locale)`` (``− € 50,00``: a minus sign
before the positive amount, never Babel's ``€ -50,00``, which reads like a typo); ``| lines_total``
is the net balance of the listed items, which is what the invoices part of the total comes to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from dunning.domain.money import Money
from dunning.domain.wording import DEADLINE_LABELS, deadline_phrase, long_date, swiss_text
from dunning.errors import ConfigError, DunningError
from dunning.template_errors import template_error

__all__ = ["DEDUCTION_SIGN", "LANGUAGES", "TemplateMissing", "default_templates_dir", "environment", "language_of"]

LANGUAGES = ("nl", "fr", "de", "en")


class TemplateMissing(ConfigError):
    """No template for this channel, kind and language; the message names the path looked for."""


def default_templates_dir() -> Path:
    """The ``templates/`` folder of the repository this package lives in."""
    return Path(__file__).resolve().parents[2] / "templates"


def language_of(locale: str) -> str:
    """``"fr_BE"`` → ``"fr"``; refuses languages we have no templates for."""
    language = locale.replace("-", "_").split("_")[0].lower()
    if language not in LANGUAGES:
        raise ConfigError(f"locale {locale!r}: language {language!r} is not one of {', '.join(LANGUAGES)}")
    return language


def _money(value: Money, locale: str) -> str:
    return format_currency(Decimal(value.amount), value.currency, locale=locale)


def _date(value: date, locale: str, format: str = "long") -> str:
    if format == "long":
        return long_date(value, locale)  # "1er octobre" in French
    return format_date(value, format=format, locale=locale)


def _by_date(value: date, locale: str, format: str = "long") -> str:
    """The deadline in the one wording of every message: "uiterlijk op D", "by D at the latest"."""
    return deadline_phrase(locale, _date(value, locale, format))


#: U+2212 MINUS SIGN and a no-break space: "− € 50,00" never wraps between the sign and the amount
DEDUCTION_SIGN = "\u2212\u00a0"


def _deduction(value: Money, locale: str) -> str:
    """A credit (negative amount) as a deduction: the minus sign, then the amount without its sign."""
    return DEDUCTION_SIGN + _money(Money.of(abs(value.amount), value.currency), locale)


def _is_credit_note(line: object) -> bool:
    """An invoice line whose open amount is below zero: a credit note the debtor may deduct."""
    amount = getattr(line, "open_amount", None)
    return isinstance(amount, Money) and amount.amount < 0


def _lines_total(lines: Iterable[Any]) -> Money | None:
    """The sum of the lines' open amounts (credit notes deducted); None for no lines."""
    total: Money | None = None
    for line in lines:
        total = line.open_amount if total is None else total + line.open_amount
    return total


def _percent(rate: Decimal, locale: str) -> str:
    """A yearly rate given in percent (``Decimal("12.5")``) as ``12,5 %`` or ``12.5%`` (as on letters)."""
    number = format_decimal(rate, format="#,##0.##", locale=locale)
    return number + ("%" if locale.startswith("en") else "\u00a0%")


class _SwissLoader(jinja2.FileSystemLoader):
    """Templates with their own German text in Swiss spelling; the data they print (names, addresses) is untouched."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        return swiss_text(source), filename, uptodate


@lru_cache(maxsize=32)
def environment(templates_dir: Path, channel: str, html: bool, swiss: bool = False) -> jinja2.Environment:
    """A cached environment for ``templates_dir/channel``; ``html`` turns autoescaping on.

    ``swiss``: the templates' own German text in Swiss spelling ("Grüsse", :func:`swiss_text`).
    """
    root = templates_dir / channel
    if not root.is_dir():
        raise TemplateMissing(f"template folder {root} does not exist")
    env = jinja2.Environment(
        loader=(_SwissLoader if swiss else jinja2.FileSystemLoader)(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["money"] = _money
    env.filters["date"] = _date
    env.filters["by_date"] = _by_date
    env.globals["deadline_labels"] = DEADLINE_LABELS
    env.filters["deduction"] = _deduction
    env.filters["lines_total"] = _lines_total
    env.filters["percent"] = _percent
    env.tests["credit_note"] = _is_credit_note
    return env


def render(templates_dir: Path, channel: str, name: str, context: dict[str, object], *, html: bool,
           swiss: bool = False) -> str:
    """Render ``templates_dir/channel/name``; a missing template or variable is a ConfigError.

    ``swiss``: the template's own German text in Swiss spelling (:func:`environment`).
    """
    env = environment(templates_dir, channel, html, swiss)
    path = templates_dir / channel / name
    try:
        template = env.get_template(name)
    except jinja2.TemplateNotFound as exc:
        if exc.name not in (None, name):  # an {% include %} of the template is missing
            raise template_error(exc, path) from None
        raise TemplateMissing(f"template {path} does not exist") from None
    except jinja2.TemplateSyntaxError as exc:
        raise template_error(exc, path) from None
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"template {path}: {exc}") from None
    except DunningError:
        raise  # a value refused by a filter keeps its own meaning and exit code
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, AttributeError, KeyError) as exc:
        # a filter given the wrong thing, an include with a syntax error: the file and line, not a traceback
        raise template_error(exc, path) from None
