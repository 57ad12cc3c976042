"""The reviewer's test (issue 17 item 9): real letters, read back from their PDFs, checked as a lawyer would.

The corpus (:mod:`reviewer_corpus`): the shipped flows (``default`` for persons, ``b2b`` for companies)
run night by night over debtors in BE, NL, DE and CH, writing nl, fr, de and en, persons and companies,
in both shipped brands, for a Belgian creditor (EPC QR code) and a Swiss one (Swiss QR-bill, CHF); every
letter step of both flows (first reminder, second reminder, final notice) is rendered by the real
renderer, on SQLite and on PostgreSQL (one corpus per database, shared by the module's tests). Each
letter's text (pypdfium2) and payment code (zxing-cpp) are read back and checked:

* exactly one deadline date, said in the one wording, the date recorded as the action's deadline,
  and not shorter than the law of the debtor's country gives;
* every charge named by the debtor's own rule pack in the letter's language with that pack's legal
  basis: no basis of another law (no EU directive for a Swiss company, no Belgian law for a Dutch one),
  nothing charged where no pack founds it, no charge label of another language, no flow free text;
* an invoice not yet due is neither claimed nor charged for (listed apart only where the flow asks);
* the total in the text is the payment code's amount: the overdue invoices plus the charges; the code
  pays the creditor's account with the reference printed, a Belgian structured communication only to
  debtors in Belgium, an ISO 11649 RF reference to everybody else;
* the Swiss creditor's letters carry a Swiss QR-bill (SPC, CHF, SCOR reference, the debtor in "payable
  by", its labels in the debtor's language where the QR-bill has one) and no EPC code;
* the window reads the address given, whole, with the country only for a debtor abroad (an address
  too long for it is refused, and the case says why); continuation pages say whose letter they are and
  "page x of y".
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import yaml
import zxingcpp
from babel import Locale
from letters_pdf import lines_of, page_chars
from reviewer_corpus import (
    BRANDS,
    LONG_STREET,
    NOT_YET_DUE,
    NOT_YET_DUE_AMOUNT,
    TOO_LONG_STREET,
    Corpus,
    build_corpus,
    currency_of,
)
from stdnum import iso11649

from dunning.domain.epc import parse_epc_payload
from dunning.domain.legal import ALL_PACKS, select_pack
from dunning.domain.legal.netherlands import wik_amount
from dunning.domain.legal.texts import _FEES, _INTEREST, FEE_FIGURE_OF_PACK, charge_text
from dunning.domain.wording import DEADLINE_PHRASES, deadline_phrase, long_date
from dunning.letters.brand import load_brand
from dunning.letters.formatting import LocaleFormat, locale_for, swiss_spelling, swiss_text
from dunning.letters.render import DEFAULT_TEMPLATES_DIR
from tests.conftest import fresh_postgres_database

MM = 72 / 25.4
LABELS = yaml.safe_load((DEFAULT_TEMPLATES_DIR / "letters" / "labels.yaml").read_text(encoding="utf-8"))
FLOWS = Path(__file__).resolve().parents[2] / "dunning" / "workspace_template" / "flows"
# Every charge label of every rule pack, by language (the reviewer's dictionary).
CHARGE_LABELS: dict[str, set[str]] = {lang: set() for lang in ("nl", "fr", "de", "en")}
for _texts in _FEES.values():
    for _lang, (_label, _basis) in _texts.items():
        CHARGE_LABELS[_lang].add(_label)
for _labels, _bases in _INTEREST.values():
    for _lang, _label in _labels.items():
        CHARGE_LABELS[_lang].add(_label)
#: the shortest period the law gives the debtor to pay, in calendar days from the letter's date: Book XIX
#: and the WIK give a consumer 14 days from the letter's (presumed) receipt, at least two days after it is
#: posted; a consumer elsewhere gets the flows' 14 days; a business the b2b final notice's 8
LEGAL_FLOOR = {("BE", "person"): 16, ("NL", "person"): 16}
FLOOR = {"person": 14, "company": 8}
#: every (label, legal basis) any pack may print, by language: a basis in a letter must be its debtor's pack's
ALL_CHARGE_TEXTS: dict[str, set[tuple[str, str]]] = {
    lang: {found for pack in ALL_PACKS for kind, figure in [("interest", None), *(("fee", f) for f in _FEES)]
           if (found := charge_text(kind, pack.code, figure, lang)) is not None}
    for lang in CHARGE_LABELS
}
#: the QR-bill's payment part heading: its own four languages (German for the others)
QR_BILL_HEADING = {"de": "Zahlteil", "fr": "Section paiement", "en": "Payment part", "nl": "Zahlteil"}
#: the WIK's 14-day letter (art. 6:96 lid 6 BW): 14 days from the day after receipt, in the letter's language
WIK_PERIOD = {"nl": "veertien dagen vanaf de dag nadat", "en": "fourteen days from the day after",
              "fr": "quatorze jours à compter du lendemain", "de": "vierzehn Tagen ab dem Tag nach"}
#: the corpora: (brand, Swiss creditor)
SETUPS = ((0, False), (1, False), (1, True))


def _flow_texts() -> set[str]:
    """The flows' free text (task titles, descriptions): never on a letter."""
    found: set[str] = set()

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
        elif isinstance(node, str) and " " in node and len(node) > 15:
            yield node

    for path in FLOWS.glob("*.yaml"):
        found.update(walk(yaml.safe_load(path.read_text(encoding="utf-8"))))
    return found


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def corpora(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Corpus]]:
    """The corpora on one database, built once for the module's tests."""
    start = time.perf_counter()
    databases: list[Iterator[str]] = []
    built: list[Corpus] = []
    try:
        for brand_index, swiss in SETUPS:
            url = None
            if request.param == "postgresql":
                databases.append(fresh_postgres_database("dunning_reviewer"))
                url = next(databases[-1])
            root = tmp_path_factory.mktemp(f"{BRANDS[brand_index]}{'-ch' if swiss else ''}") / "ws"
            built.append(build_corpus(root, brand_index, url, swiss=swiss))
        print(f"\nreviewer corpus ({request.param}): {sum(len(c.letters) for c in built)} letters in "
              f"{time.perf_counter() - start:.1f} s")
        yield built
    finally:
        for corpus in built:
            corpus.store.dispose()
        for database in databases:  # drops it
            for _ in database:
                pass


def _text(pdf: Path) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [str(page.get_textpage().get_text_range()).replace("\r\n", "\n") for page in document]
    finally:
        document.close()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ").replace("\ufffe", "")).strip()


def _codes(pdf: Path, *, strip_only: bool) -> list[str]:
    """The codes of page 1 at 216 dpi: the payment strip's (x 0-120 mm, y 215-282 mm), or the whole page's."""
    document = pdfium.PdfDocument(pdf)
    try:
        crop = (0, 15 * MM, 90 * MM, 215 * MM) if strip_only else (0, 0, 0, 0)
        image = document[0].render(scale=3, crop=crop).to_pil()
    finally:
        document.close()
    return [b.text for b in zxingcpp.read_barcodes(image)]


@dataclass(frozen=True)
class Payment:
    """What a payment code tells the bank: account, amount, currency, reference, who pays."""

    iban: str
    amount: Decimal
    currency: str
    reference: str
    debtor: str = ""


def _payment(pdf: Path, swiss: bool) -> tuple[Payment, list[str]]:
    """The letter's payment code read back (the Swiss QR-bill's or the EPC's), and what is wrong with it."""
    codes = _codes(pdf, strip_only=not swiss)
    wrong = []
    if swiss:
        if any(code.startswith("BCD") for code in codes):
            wrong.append("an EPC code on a Swiss QR-bill letter")
        (spc,) = [code.splitlines() for code in codes if code.startswith("SPC")]
        # SPC 0200: header 0-2, account 3, creditor 4-10, ultimate creditor 11-17, amount 18, currency 19,
        # debtor 20-26, reference type 27 and reference 28
        if spc[1:3] != ["0200", "1"] or spc[27] != "SCOR":
            wrong.append(f"QR-bill version {spc[1:3]} or reference type {spc[27]!r} (SCOR expected for an RF)")
        return Payment(spc[3], Decimal(spc[18]), spc[19], spc[28], spc[21]), wrong
    (bcd,) = [code for code in codes if code.startswith("BCD")]
    epc = parse_epc_payload(bcd)
    assert epc.amount is not None
    return Payment(epc.iban, epc.amount, "EUR", epc.reference or epc.text), wrong


def _overdue(corpus: Corpus, key: str) -> Decimal:
    invoices = corpus.debtors[key].invoices
    return sum((Decimal(f"{100 + 37 * n}.{n:02d}") for n in range(invoices)), Decimal(0))


def _review(corpus: Corpus, row: Any, flow_texts: set[str]) -> list[str]:
    """What a reviewer would object to in one letter (empty: it is fine)."""
    debtor = corpus.debtors[row.debtor]
    lang, country = debtor.language, debtor.country
    locale = locale_for(lang, country)
    fmt = LocaleFormat(locale, currency_of(corpus), LABELS[lang])
    creditor = corpus.workspace.config.creditor
    pdf = corpus.workspace.root / row.path
    pages = _text(pdf)
    text = _squash(" ".join(pages))
    wrong: list[str] = []
    where = f"{corpus.brand} {row.debtor} {row.step}"
    # German to a debtor in Switzerland or from a Swiss creditor: Swiss spelling ("ss", never "ß") in the letter's
    # own words; the names and addresses are printed as given
    swiss = swiss_spelling(locale, creditor.address.country)

    def spell(words: str) -> str:
        return swiss_text(words) if swiss else words

    if lang == "de":
        own_words = text
        for given_text in (debtor.name, debtor.street, debtor.city, creditor.name, creditor.address.street or ""):
            own_words = own_words.replace(given_text, "")
        closing = spell(LABELS["de"]["closing"])
        if swiss and "ß" in own_words:
            words = sorted(set(re.findall(r"\w*ß\w*", own_words)))
            wrong.append(f"{where}: a Swiss German letter writes 'ß': {words}")
        if closing not in text:
            wrong.append(f"{where}: the closing is not {closing!r}")

    # One deadline: every deadline phrase carries the same date, the one recorded for the action.
    deadline = date.fromisoformat(row.detail["deadline"])
    expected = long_date(deadline, locale)
    pattern = re.escape(DEADLINE_PHRASES[lang]).replace(re.escape("{date}"), r"(\d{1,2}(?:er|\.)? [^\W\d]+ \d{4})")
    said = set(re.findall(pattern, text))
    if said != {expected}:
        wrong.append(f"{where}: deadlines {sorted(said)}, expected only {expected!r}")
    if deadline_phrase(lang, expected) not in text:
        wrong.append(f"{where}: the deadline is not said as {deadline_phrase(lang, expected)!r}")
    floor = LEGAL_FLOOR.get((country, debtor.type), FLOOR[debtor.type])
    if deadline < row.due_on + timedelta(days=floor):
        wrong.append(f"{where}: deadline {deadline} gives less than {floor} days from {row.due_on}")

    # The payment code's amount is the total in the text: the overdue invoices plus the charges; it pays the
    # creditor's account with the reference printed: Belgian structured only to Belgium, RF to the others.
    pay, code_wrong = _payment(pdf, corpus.swiss)
    wrong += [f"{where}: {problem}" for problem in code_wrong]
    if _squash(fmt.money(pay.amount)) not in text:
        wrong.append(f"{where}: the code's amount {pay.amount} is not the total printed")
    if (pay.iban, pay.currency) != (creditor.iban, currency_of(corpus)):
        wrong.append(f"{where}: the code pays {pay.currency} to {pay.iban}, not to the creditor's account")
    charges = pay.amount - _overdue(corpus, row.debtor)
    if charges < 0:
        wrong.append(f"{where}: the code's amount {pay.amount} is less than the overdue invoices")
    ogm = re.findall(r"\+\+\+\d{3}/\d{4}/\d{5}\+\+\+", text)
    if country == "BE" and creditor.reference == "be-ogm":
        if not ogm or pay.reference != re.sub(r"\D", "", ogm[0]):  # the code carries its 12 digits
            wrong.append(f"{where}: a Belgian debtor's code carries {pay.reference!r}, not the +++ printed {ogm}")
    elif ogm or "+++" in pay.reference or not iso11649.is_valid(pay.reference):
        wrong.append(f"{where}: a debtor in {country} gets {pay.reference!r} (and {ogm} printed), not an RF")
    elif iso11649.format(pay.reference) not in text:
        wrong.append(f"{where}: the code's reference {pay.reference} is not the one printed")
    # the reference is called by its name in the debtor's country ("Betalingskenmerk", a Swiss "Referenz")
    named = {**LABELS[lang], **LABELS["countries"].get(country, {}).get(lang, {})}["reference"]
    if f"{named} " not in text or (named != LABELS[lang]["reference"] and LABELS[lang]["reference"] in text):
        wrong.append(f"{where}: the reference is not called {named!r}")
    if corpus.swiss:
        if pay.debtor != debtor.name:
            wrong.append(f"{where}: the QR-bill's 'payable by' is {pay.debtor!r}")
        if QR_BILL_HEADING[lang] not in text:
            wrong.append(f"{where}: the QR-bill does not say {QR_BILL_HEADING[lang]!r}")

    # Not yet due: never claimed nor charged; listed apart only under its own heading.
    listed_apart = LABELS[lang]["not_yet_due"]
    claim_part = text.split(listed_apart)[0]
    if f"{NOT_YET_DUE}-{debtor.key}" in claim_part or _squash(fmt.money(Decimal(NOT_YET_DUE_AMOUNT))) in claim_part:
        wrong.append(f"{where}: the invoice not yet due is in the claim")
    days = (row.due_on - date(2026, 9, 1)).days
    interest_cap = _overdue(corpus, row.debtor) * Decimal("0.20") * days / 365 + Decimal("0.01") * debtor.invoices
    flat_cap = Decimal("40.00") * debtor.invoices if debtor.type == "company" else Decimal("1000")
    if charges > interest_cap + flat_cap:
        wrong.append(f"{where}: charges {charges} exceed what the overdue invoices alone can bear")

    # Charges: the debtor's own pack's words in the letter's language, with the law they rest on; nothing else.
    for other, labels in CHARGE_LABELS.items():
        foreign = {label for label in labels if label not in CHARGE_LABELS[lang] and label in text}
        if other != lang and foreign:
            wrong.append(f"{where}: charge labels of another language: {sorted(foreign)}")
    pack = select_pack(country, "consumer" if debtor.type == "person" else "business")
    own = {found for kind, figure in (("interest", None), ("fee", FEE_FIGURE_OF_PACK.get(pack.code)))
           if figure is not None or kind == "interest"
           if (found := charge_text(kind, pack.code, figure, lang)) is not None}
    other_law = {basis for _label, basis in ALL_CHARGE_TEXTS[lang] - own if spell(basis) in text}
    other_law -= {basis for _label, own_basis in own for basis in other_law if basis in own_basis}
    if other_law:
        wrong.append(f"{where}: a debtor under {pack.code} is charged under {sorted(other_law)}")
    if not own and (charges != 0 or any(spell(label) in text for label in CHARGE_LABELS[lang])):
        wrong.append(f"{where}: {charges} charged although {pack.code} founds no charge")
    if charges > 0 and not any(spell(label) in text and spell(basis) in text for label, basis in own):
        wrong.append(f"{where}: charges of {charges} without the words and the law of {pack.code}: {sorted(own)}")
    if (country, debtor.type, row.step) == ("NL", "person", "first_reminder"):
        # the WIK's 14-day letter: the period from the day after receipt, and the exact costs owed after it
        costs = _squash(fmt.money(wik_amount(_overdue(corpus, row.debtor))))
        label = spell(_FEES["collection_costs"][lang][0])
        if WIK_PERIOD[lang] not in text or label.lower() not in text.lower() or costs not in text:
            wrong.append(f"{where}: not a WIK 14-day letter: {WIK_PERIOD[lang]!r} and {label!r} {costs} expected")
    for free in flow_texts:
        if free in text:
            wrong.append(f"{where}: flow text on the letter: {free!r}")

    # The window reads the address given, whole.
    envelope = load_brand(corpus.brand).envelope
    window = [c for c in page_chars(pdf.read_bytes()) if envelope.address_box.overlaps(c.left, c.top, c.right,
                                                                                        c.bottom)]
    lines = list(lines_of(window).values())
    given = [debtor.name, debtor.street, f"{debtor.postal_code} {debtor.city}"]
    if country != creditor.address.country:  # the country line only abroad
        given.append(Locale.parse(locale).territories[country].upper())
    if lines != [line.replace(" ", "") for line in given]:
        wrong.append(f"{where}: the window reads {lines}, not {given}")
    if any(c.right > envelope.address_box.right + 0.05 for c in window):
        wrong.append(f"{where}: the address runs past the window")

    # Continuation pages: whose letter, and page x of y.
    for number, page in enumerate(pages[1:], start=2):
        head = f"{debtor.name} · {LABELS[lang]['customer_number']} {debtor.key}"
        label = f"{LABELS[lang]['page']}{number}{LABELS[lang]['of']}{len(pages)}"
        if _squash(head) not in _squash(page) or _squash(label) not in _squash(page):
            wrong.append(f"{where}: page {number} lacks {head!r} or {label!r}")
    return wrong


def test_every_letter_reads_as_a_lawyer_would_sign_it(corpora: list[Corpus]) -> None:
    flow_texts = _flow_texts()
    wrong: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for corpus in corpora:
        for row in corpus.letters:
            debtor = corpus.debtors[row.debtor]
            wrong += _review(corpus, row, flow_texts)
            seen.add(("brand", corpus.brand))
            seen.add(("country", debtor.country))
            seen.add(("language", debtor.language))
            seen.add(("type", debtor.type))
            seen.add(("step", debtor.type, row.step))
            seen.add(("multi", str(len(_text(corpus.workspace.root / row.path)) > 1)))
            seen.add(("creditor", "CH" if corpus.swiss else "BE", debtor.type, debtor.language))
    assert wrong == []
    # every value of every axis, and every letter step of both shipped flows
    axes = (("brand", BRANDS), ("country", ("BE", "NL", "DE", "CH")), ("language", ("nl", "fr", "de", "en")),
            ("type", ("person", "company")), ("multi", ("True", "False")))
    for axis, values in axes:
        assert {(axis, v) for v in values} <= seen, axis
    steps = {("step", "person", s) for s in ("first_reminder", "second_reminder", "final_notice")}
    steps |= {("step", "company", s) for s in ("reminder", "second_reminder", "final_notice")}
    assert steps <= seen
    # the Swiss creditor's QR-bill letters reach persons and companies, in every language
    assert {("creditor", "CH", t, lang) for t in ("person", "company") for lang in ("nl", "fr", "de", "en")
            if (t == "company") == (lang in ("fr", "en"))} <= seen


def test_a_letter_whose_address_cannot_fit_is_refused_and_the_case_says_why(corpora: list[Corpus]) -> None:
    corpus = corpora[0]
    (refused_key,) = [d.key for d in corpus.debtors.values() if d.street == TOO_LONG_STREET]
    assert not [row for row in corpus.letters if row.debtor == refused_key]  # never printed, so never clipped
    events = [e for e in corpus.refused if e.debtor == refused_key]
    assert events and all("address line 2 is" in e.detail["reason"] and "the window holds" in e.detail["reason"]
                          for e in events)
    assert all(TOO_LONG_STREET not in e.detail["reason"] for e in events)  # the line's number, not its text
    assert any(row.step for row in corpus.letters)  # the other letters of the same nights went out
    assert any(d.street == LONG_STREET for d in corpus.debtors.values())  # the longest that fits: printed whole
