"""Jinja2 environments shared by the email and SMS channels.

Templates live under ``templates/<channel>/<language>/`` at the repository root (or in a
folder the caller passes). Undefined variables are errors, so a template that names a field
the data does not have fails loudly at build time instead of sending "Dear ,". Amounts and
dates are formatted by Babel for the recipient's locale (``nl_BE``: ``€ 1.234,50``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import jinja2
from babel.dates import format_date
from babel.numbers import format_currency

from dunning.domain.money import Money
from dunning.errors import ConfigError

__all__ = ["LANGUAGES", "TemplateMissing", "default_templates_dir", "environment", "language_of"]

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
    return format_date(value, format=format, locale=locale)


@lru_cache(maxsize=16)
def environment(templates_dir: Path, channel: str, html: bool) -> jinja2.Environment:
    """A cached environment for ``templates_dir/channel``; ``html`` turns autoescaping on."""
    root = templates_dir / channel
    if not root.is_dir():
        raise TemplateMissing(f"template folder {root} does not exist")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["money"] = _money
    env.filters["date"] = _date
    return env


def render(templates_dir: Path, channel: str, name: str, context: dict[str, object], *, html: bool) -> str:
    """Render ``templates_dir/channel/name``; a missing template or variable is a ConfigError."""
    env = environment(templates_dir, channel, html)
    try:
        template = env.get_template(name)
    except jinja2.TemplateNotFound:
        raise TemplateMissing(f"template {templates_dir / channel / name} does not exist") from None
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"template {templates_dir / channel / name}: {exc}") from None
