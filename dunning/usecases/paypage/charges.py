"""The page's cost and interest lines as the letter states them: label, rate, base, period, legal basis.

**Why.** A debtor who reads "Costs €40.00" on the page and "Buitengerechtelijke incassokosten (art. 6:96
BW en Besluit WIK)" in the letter is left to wonder whether they are the same; the law (NL WIK, BE Book
XIX, DE § 288 BGB) wants the basis of every cost stated. So the page names each charge with the letters'
own wording: the rule pack's label and basis (:func:`dunning.usecases.letters.data.named_charges`, from
:mod:`dunning.domain.legal.texts`) in the page's language, and for interest its rate a year, the amount it
ran on and its period through the letters' own formatter (:meth:`dunning.letters.formatting.LocaleFormat.charge_label`
with the letters' ``labels.yaml``). The labels file is read once per process.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import yaml

from dunning.letters import Charge
from dunning.letters.batch import DEFAULT_TEMPLATES_DIR
from dunning.letters.formatting import LocaleFormat, locale_for
from dunning.usecases.letters.data import named_charges

__all__ = ["charge_lines"]


@cache
def _labels() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, dict[str, str]]]]:
    path = DEFAULT_TEMPLATES_DIR / "letters" / "labels.yaml"
    labels: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    countries: dict[str, dict[str, dict[str, str]]] = labels.pop("countries", None) or {}
    return labels, countries


def _labels_for(language: str, country: str) -> Mapping[str, str]:
    """The letters' labels of ``language`` with the debtor's country's own terms (as the letter renderer merges)."""
    labels, countries = _labels()
    return {**labels.get(language, labels["en"]), **countries.get(country.upper(), {}).get(language, {})}


def charge_lines(charges: tuple[Charge, ...], language: str, country: str, currency: str, pack: str) -> list[str]:
    """One line per charge, in ``language``: its name, for interest rate, base and period, and its legal basis.

    ``pack``: the debtor's rule pack, naming a charge that carries no rule of its own (as the letter does).
    """
    fmt = LocaleFormat(locale_for(language, country), currency, _labels_for(language, country))
    return [fmt.charge_label(charge) for charge in named_charges(charges, language, pack)]
