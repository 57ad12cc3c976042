"""The reviewer's test (issue 17 item 9): real letters, read back from their PDFs, checked as a lawyer would.

The corpus (:mod:`reviewer_corpus`): the shipped flows (``default`` for persons, ``b2b`` for companies)
run night by night over debtors in BE, NL, DE and CH, writing nl, fr, de and en, persons and companies,
in both shipped brands; every letter step of both flows (first reminder, second reminder, final
notice) is rendered by the real renderer. Each letter's text (pypdfium2) and EPC QR code (zxing-cpp)
are read back and checked:

* exactly one deadline date, said in the one wording, the date recorded as the action's deadline,
  and not shorter than the law of the debtor's country gives;
* every charge named by its rule pack in the letter's language with its legal basis, no charge label
  of another language, no flow free text;
* an invoice not yet due is neither claimed nor charged for (listed apart only where the flow asks);
* the total in the text is the QR code's amount: the overdue invoices plus the charges;
* the window reads the address given, whole (an address too long for it is refused, and the case
  says why); continuation pages say whose letter they are and "page x of y".
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
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
)

from dunning.domain.epc import parse_epc_payload
from dunning.domain.legal.texts import _FEES, _INTEREST
from dunning.domain.wording import DEADLINE_PHRASES, deadline_phrase, long_date
from dunning.letters.brand import load_brand
from dunning.letters.formatting import LocaleFormat, locale_for
from dunning.letters.render import DEFAULT_TEMPLATES_DIR

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


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> list[Corpus]:
    start = time.perf_counter()
    built = [build_corpus(tmp_path_factory.mktemp(brand) / "ws", index) for index, brand in enumerate(BRANDS)]
    print(f"\nreviewer corpus: {sum(len(c.letters) for c in built)} letters in {time.perf_counter() - start:.1f} s")
    return built


def _text(pdf: Path) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [str(page.get_textpage().get_text_range()).replace("\r\n", "\n") for page in document]
    finally:
        document.close()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ").replace("\ufffe", "")).strip()


def _epc(pdf: Path) -> str:
    """The EPC code of page 1, read from the payment strip (x 0-120 mm, y 215-282 mm) at 216 dpi."""
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=3, crop=(0, 15 * MM, 90 * MM, 215 * MM)).to_pil()
    finally:
        document.close()
    (code,) = [b.text for b in zxingcpp.read_barcodes(image) if b.text.startswith("BCD")]
    return code


def _overdue(corpus: Corpus, key: str) -> Decimal:
    invoices = corpus.debtors[key].invoices
    return sum((Decimal(f"{100 + 37 * n}.{n:02d}") for n in range(invoices)), Decimal(0))


def _review(corpus: Corpus, row: Any, flow_texts: set[str]) -> list[str]:
    """What a reviewer would object to in one letter (empty: it is fine)."""
    debtor = corpus.debtors[row.debtor]
    lang, country = debtor.language, debtor.country
    locale = locale_for(lang, country)
    fmt = LocaleFormat(locale, "EUR", LABELS[lang])
    pdf = corpus.workspace.root / row.path
    pages = _text(pdf)
    text = _squash(" ".join(pages))
    wrong: list[str] = []
    where = f"{corpus.brand} {row.debtor} {row.step}"

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

    # The QR code's amount is the total in the text: the overdue invoices plus the charges.
    epc = parse_epc_payload(_epc(pdf))
    if _squash(fmt.money(epc.amount)) not in text:
        wrong.append(f"{where}: the QR amount {epc.amount} is not the total printed")
    charges = epc.amount - _overdue(corpus, row.debtor)
    if charges < 0:
        wrong.append(f"{where}: the QR amount {epc.amount} is less than the overdue invoices")

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

    # Charges: the pack's words in the letter's language, with the law they rest on; nothing else.
    for other, labels in CHARGE_LABELS.items():
        foreign = {label for label in labels if label not in CHARGE_LABELS[lang] and label in text}
        if other != lang and foreign:
            wrong.append(f"{where}: charge labels of another language: {sorted(foreign)}")
    if charges > 0:
        named = [label for label in CHARGE_LABELS[lang] if label in text]
        if not named:
            wrong.append(f"{where}: charges of {charges} without a label of the rule pack")
        bases = {basis for texts in _FEES.values() for basis in [texts[lang][1]]}
        bases |= {b[lang] for _, b in _INTEREST.values()}
        bases |= {"wet van 2 augustus 2002, art. 6", "loi du 2 août 2002, art. 6", "Gesetz vom 2. August 2002, Art. 6",
                  "Belgian Law of 2 August 2002, art. 6"}
        if not any(basis in text for basis in bases):
            wrong.append(f"{where}: charges of {charges} without their legal basis")
    for free in flow_texts:
        if free in text:
            wrong.append(f"{where}: flow text on the letter: {free!r}")

    # The window reads the address given, whole.
    envelope = load_brand(corpus.brand).envelope
    window = [c for c in page_chars(pdf.read_bytes()) if envelope.address_box.overlaps(c.left, c.top, c.right,
                                                                                        c.bottom)]
    lines = list(lines_of(window).values())
    given = [debtor.name, debtor.street, f"{debtor.postal_code} {debtor.city}"]
    if country != "BE":
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
    assert wrong == []
    # every value of every axis, and every letter step of both shipped flows
    axes = (("brand", BRANDS), ("country", ("BE", "NL", "DE", "CH")), ("language", ("nl", "fr", "de", "en")),
            ("type", ("person", "company")), ("multi", ("True", "False")))
    for axis, values in axes:
        assert {(axis, v) for v in values} <= seen, axis
    steps = {("step", "person", s) for s in ("first_reminder", "second_reminder", "final_notice")}
    steps |= {("step", "company", s) for s in ("reminder", "second_reminder", "final_notice")}
    assert steps <= seen


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
