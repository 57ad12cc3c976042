"""What a charge is called on a letter, and the law it rests on, per rule pack and language.

A letter names a cost by the rule that set it, in the debtor's language: the planner records the
pack's figure with every fee (``damages_cap``, ``collection_costs``, ``flat_fee``...), and interest by
the pack's code. A flow's free text never names a charge (a German letter must not read
"Forfaitaire schadevergoeding", a Dutch WIK amount is not "Fixed compensation (Directive 2011/7/EU)")::

    >>> charge_text("fee", "NL-consumer", "collection_costs", "de")
    ('Außergerichtliche Inkassokosten', 'Art. 6:96 BW und WIK-Verordnung, Niederlande')
    >>> charge_text("interest", "DE-business", None, "en")
    ('Default interest', '§ 288(2) BGB')
    >>> charge_text("fee", "BE-consumer", "damages_cap", "fr")
    ('Indemnité forfaitaire', 'art. XIX.4 CDE, Livre XIX')
"""

from __future__ import annotations

__all__ = ["FEE_FIGURE_OF_PACK", "charge_text"]

_Texts = dict[str, tuple[str, str]]  # language → (label, legal basis)

#: fees by the figure the pack set them with
_FEES: dict[str, _Texts] = {
    "damages_cap": {  # Book XIX lump-sum damages
        "nl": ("Forfaitaire schadevergoeding", "art. XIX.4 WER, Boek XIX"),
        "fr": ("Indemnité forfaitaire", "art. XIX.4 CDE, Livre XIX"),
        "de": ("Pauschaler Schadenersatz", "Art. XIX.4 WGB, Buch XIX, Belgien"),
        "en": ("Lump-sum damages", "art. XIX.4 Belgian Code of Economic Law, Book XIX"),
    },
    "regular_supply_fee": {
        "nl": ("Herinneringskosten", "art. XIX.2 WER, geregelde levering"),
        "fr": ("Frais de rappel", "art. XIX.2 CDE, fourniture régulière"),
        "de": ("Mahnkosten", "Art. XIX.2 WGB, regelmäßige Lieferung, Belgien"),
        "en": ("Reminder costs", "art. XIX.2 Belgian Code of Economic Law, regular supply"),
    },
    "collection_costs": {  # the Dutch WIK
        "nl": ("Buitengerechtelijke incassokosten", "art. 6:96 BW en Besluit WIK"),
        "fr": ("Frais de recouvrement extrajudiciaires", "art. 6:96 BW et décret WIK, Pays-Bas"),
        "de": ("Außergerichtliche Inkassokosten", "Art. 6:96 BW und WIK-Verordnung, Niederlande"),
        "en": ("Extrajudicial collection costs", "art. 6:96 Dutch Civil Code and the WIK decree"),
    },
    "reminder_costs": {  # German consumer: material and postage of later reminders
        "nl": ("Aanmaningskosten", "§§ 280, 286 BGB"),
        "fr": ("Frais de rappel", "§§ 280, 286 BGB"),
        "de": ("Mahnkosten", "§§ 280, 286 BGB"),
        "en": ("Reminder costs", "§§ 280, 286 BGB"),
    },
    "flat_fee": {  # § 288(5) BGB
        "nl": ("Forfaitaire vergoeding", "§ 288 lid 5 BGB"),
        "fr": ("Indemnité forfaitaire", "§ 288, al. 5 BGB"),
        "de": ("Verzugspauschale", "§ 288 Abs. 5 BGB"),
        "en": ("Flat-rate compensation", "§ 288(5) BGB"),
    },
    "flat_compensation": {  # Directive 2011/7/EU art. 6 (Belgium: Law of 2 August 2002)
        "nl": ("Forfaitaire vergoeding invorderingskosten", "richtlijn 2011/7/EU, art. 6"),
        "fr": ("Indemnité forfaitaire pour frais de recouvrement", "directive 2011/7/UE, art. 6"),
        "de": ("Pauschale Entschädigung für Beitreibungskosten", "Richtlinie 2011/7/EU, Art. 6"),
        "en": ("Fixed compensation for recovery costs", "Directive 2011/7/EU, art. 6"),
    },
}
_BE_2002_FEE = {
    "nl": "wet van 2 augustus 2002, art. 6",
    "fr": "loi du 2 août 2002, art. 6",
    "de": "Gesetz vom 2. August 2002, Art. 6",
    "en": "Belgian Law of 2 August 2002, art. 6",
}
_LATE = {"nl": "Verwijlintrest", "fr": "Intérêts de retard", "de": "Verzugszinsen", "en": "Late-payment interest"}
_NL_LEGAL = {"nl": "Wettelijke rente", "fr": "Intérêts légaux", "de": "Gesetzliche Zinsen", "en": "Statutory interest"}
_NL_COMMERCIAL = {
    "nl": "Wettelijke handelsrente",
    "fr": "Intérêts commerciaux légaux",
    "de": "Gesetzliche Handelszinsen",
    "en": "Statutory commercial interest",
}
_DE = {"nl": "Vertragingsrente", "fr": "Intérêts moratoires", "de": "Verzugszinsen", "en": "Default interest"}
#: interest by pack: (labels, legal basis per language)
_INTEREST: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "BE-consumer": (
        _LATE,
        {
            "nl": "art. XIX.4 WER; wet van 2 augustus 2002",
            "fr": "art. XIX.4 CDE ; loi du 2 août 2002",
            "de": "Art. XIX.4 WGB; Gesetz vom 2. August 2002",
            "en": "art. XIX.4 CEL; Belgian Law of 2 August 2002",
        },
    ),
    "BE-business": (
        _LATE,
        {
            "nl": "wet van 2 augustus 2002, art. 5",
            "fr": "loi du 2 août 2002, art. 5",
            "de": "Gesetz vom 2. August 2002, Art. 5",
            "en": "Belgian Law of 2 August 2002, art. 5",
        },
    ),
    "NL-consumer": (
        _NL_LEGAL,
        {"nl": "art. 6:119 BW", "fr": "art. 6:119 BW", "de": "Art. 6:119 BW", "en": "art. 6:119 Dutch Civil Code"},
    ),
    "NL-business": (
        _NL_COMMERCIAL,
        {"nl": "art. 6:119a BW", "fr": "art. 6:119a BW", "de": "Art. 6:119a BW", "en": "art. 6:119a Dutch Civil Code"},
    ),
    "DE-consumer": (
        _DE,
        {"nl": "§ 288 lid 1 BGB", "fr": "§ 288, al. 1 BGB", "de": "§ 288 Abs. 1 BGB", "en": "§ 288(1) BGB"},
    ),
    "DE-business": (
        _DE,
        {"nl": "§ 288 lid 2 BGB", "fr": "§ 288, al. 2 BGB", "de": "§ 288 Abs. 2 BGB", "en": "§ 288(2) BGB"},
    ),
    "EU-business": (
        _LATE,
        {
            "nl": "richtlijn 2011/7/EU, art. 3",
            "fr": "directive 2011/7/UE, art. 3",
            "de": "Richtlinie 2011/7/EU, Art. 3",
            "en": "Directive 2011/7/EU, art. 3",
        },
    ),
}
#: the figure a pack's ordinary fee is set with, when the action names none
FEE_FIGURE_OF_PACK = {
    "BE-consumer": "damages_cap",
    "BE-business": "flat_compensation",
    "NL-consumer": "collection_costs",
    "NL-business": "collection_costs",
    "DE-consumer": "reminder_costs",
    "DE-business": "flat_fee",
    "EU-business": "flat_compensation",
}


def charge_text(kind: str, pack_code: str, figure: str | None, language: str) -> tuple[str, str] | None:
    """(label, legal basis) of a ``kind`` charge ("fee" or "interest") set under ``pack_code``.

    ``figure`` is the name of the pack's figure that set a fee (the action's ``detail.figures``).
    None when the pack has no words for it (the template's generic label is used then).
    """
    lang = language if language in ("nl", "fr", "de", "en") else "en"
    if kind == "interest":
        found = _INTEREST.get(pack_code)
        return None if found is None else (found[0][lang], found[1][lang])
    name = figure or FEE_FIGURE_OF_PACK.get(pack_code)
    texts = _FEES.get(name or "")
    if texts is None:
        return None
    label, basis = texts[lang]
    if name == "flat_compensation" and pack_code == "BE-business":
        basis = _BE_2002_FEE[lang]
    return label, basis
