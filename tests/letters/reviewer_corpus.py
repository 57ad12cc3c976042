"""A corpus of real letters for the reviewer's test: the shipped flows over a ledger of every
country (BE, NL, DE, CH) × language (nl, fr, de, en) × debtor type (person, company), both brands.

Each brand's workspace gets 16 debtors: every country with every language once, persons and
companies alternating like a chessboard (the other brand has the other colour), so the two brands
together hold all 32 combinations and each brand every country, language and type. Persons go
down the ``default`` flow, companies down ``b2b`` (the shipped ``assignment.yaml``); nobody has an
email address or phone, so every reminder is a letter. Each debtor owes one overdue invoice and one
not due until next year (777.77: easy to spot); two owe 24 overdue invoices more (a continuation
page), one has a street as long as the window holds and one a street longer (refused, never clipped).

A third workspace is a Swiss creditor (a CH IBAN, RF references, CHF): its letters carry the Swiss
QR-bill instead of the EPC code; its debtors are in Switzerland, every language, persons and companies.

The nights run day by day with the real planner; each night's letters are rendered in this process
(one renderer: fonts and stylesheets are reused) and handed to the print house, so the next letter
knows what went before. Each workspace's store is the URL given (SQLite or PostgreSQL).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from dunning.store import Store, open_store
from dunning.store.schema import actions, case_events, cases, debtors, documents
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from dunning.usecases.planning.night import load_flows, run_night
from dunning.workspace import Workspace, init_workspace, open_workspace

COUNTRIES = ("BE", "NL", "DE", "CH")
LANGUAGES = ("nl", "fr", "de", "en")
BRANDS = ("default", "atelier")
START = date(2026, 9, 2)  # the overdue invoices fell due on 1 September
LAST = date(2026, 10, 24)  # past the default flow's final notice (day 51)
OVERDUE_DUE = date(2026, 9, 1)
NOT_YET_DUE = "NYD"  # invoice numbers of the invoices not yet due start with it
NOT_YET_DUE_AMOUNT = "777.77"
#: a postal code and city per country
PLACES = {"BE": ("1000", "Brussel"), "NL": ("1012 AB", "AMSTERDAM"), "DE": ("10115", "Berlin"),
          "CH": ("8001", "Zürich")}
PERSONS = {"nl": "Anke Jansen", "fr": "Élise Dubois", "de": "Jürgen Weiß", "en": "Mary O'Brien"}
COMPANIES = {"nl": "Bakkerij De Molen BV", "fr": "Boulangerie Lefèvre SA", "de": "Müller Maschinenbau GmbH",
             "en": "Harbour Trading Ltd"}
LONG_STREET = "Burgemeester van Nispen tot Sevenaerstraat 1"
TOO_LONG_STREET = "Burgemeester Hoogenboom van Oldenbarneveltlaan 1234 bus 56"


#: the Swiss creditor of the third workspace (an ordinary CH IBAN, so RF creditor references)
SWISS_CREDITOR = {
    "name": "Zürcher Stadtwerke AG",
    "enterprise_number": "CHE-116.281.710",
    "address": {"street": "Bahnhofstrasse 10", "postal_code": "8001", "city": "Zürich", "country": "CH"},
    "iban": "CH9300762011623852957",
    "reference": "rf",
    "language": "de",
    "timezone": "Europe/Zurich",
}


@dataclass(frozen=True)
class Debtor:
    key: str
    name: str
    type: str  # person | company
    country: str
    language: str
    street: str
    invoices: int  # overdue invoices

    @property
    def postal_code(self) -> str:
        return PLACES[self.country][0]

    @property
    def city(self) -> str:
        return PLACES[self.country][1]


@dataclass
class Corpus:
    brand: str
    workspace: Workspace
    store: Store
    debtors: dict[str, Debtor]
    swiss: bool = False  # the Swiss creditor (QR-bill, CHF)
    letters: list[Any] = field(default_factory=list)  # rows: action, case, debtor key, pdf path, detail
    refused: list[Any] = field(default_factory=list)  # delivery_failed events of refused letters
    problems: list[str] = field(default_factory=list)


def ledger_debtors(brand_index: int) -> list[Debtor]:
    found = []
    for i, country in enumerate(COUNTRIES):
        for j, language in enumerate(LANGUAGES):
            company = (i + j + brand_index) % 2 == 1
            key = f"{'C' if company else 'P'}-{country}-{language}"
            name = (COMPANIES if company else PERSONS)[language]
            street = "Kerkstraat 12"
            invoices = 1
            if (country, language) == ("BE", "nl"):
                invoices = 25  # a continuation page
            if (country, language) == ("NL", "fr"):
                street = LONG_STREET
            if (country, language) == ("DE", "en") and brand_index == 0:
                street = TOO_LONG_STREET
            found.append(Debtor(key, name, "company" if company else "person", country, language, street, invoices))
    return found


def swiss_debtors() -> list[Debtor]:
    """The Swiss creditor's debtors: in Switzerland, every language, persons and companies."""
    found = []
    for j, language in enumerate(LANGUAGES):
        company = j % 2 == 1
        key = f"{'C' if company else 'P'}-CH-{language}"
        found.append(Debtor(key, (COMPANIES if company else PERSONS)[language], "company" if company else "person",
                            "CH", language, "Marktgasse 28", 1))
    return found


def currency_of(corpus: Corpus) -> str:
    return "CHF" if corpus.swiss else "EUR"


def _ledger(debtor_list: list[Debtor], currency: str = "EUR") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["customer_id", "name", "type", "language", "street", "postal_code", "city", "country", "email",
                     "phone", "invoice", "invoice_date", "due_date", "original_amount", "open_amount", "currency"])
    for d in debtor_list:
        base = [d.key, d.name, d.type, d.language, d.street, d.postal_code, d.city, d.country, "", ""]
        for n in range(d.invoices):
            amount = f"{100 + 37 * n}.{n:02d}"
            writer.writerow([*base, f"INV-{d.key}-{n + 1}", "2026-08-01", OVERDUE_DUE.isoformat(), amount, amount,
                             currency])
        writer.writerow([*base, f"{NOT_YET_DUE}-{d.key}", "2026-08-20", "2027-03-31", NOT_YET_DUE_AMOUNT,
                         NOT_YET_DUE_AMOUNT, currency])
    return out.getvalue()


def build_corpus(root: Path, brand_index: int, store_url: str | None = None, *, swiss: bool = False) -> Corpus:
    """Brand ``brand_index``'s corpus (``swiss``: the Swiss creditor's) in a workspace at ``root``."""
    brand = BRANDS[brand_index]
    init_workspace(root)
    config_path = root / "dunning.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["brand"] = brand
    if swiss:
        config["creditor"] = SWISS_CREDITOR
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    workspace = open_workspace(root, environ={})
    store = open_store(store_url or f"sqlite:///{root / 'state.db'}")
    debtor_list = swiss_debtors() if swiss else ledger_debtors(brand_index)
    (root / "ledger.csv").write_text(_ledger(debtor_list, "CHF" if swiss else "EUR"), encoding="utf-8")
    import_ledger(store, root / "ledger.csv", as_of=START, reference_kind=workspace.config.creditor.reference)
    corpus = Corpus(brand, workspace, store, {d.key: d for d in debtor_list}, swiss)
    flows, problems = load_flows(workspace.flows_dir)
    assert not [p for p in problems if p.severity == "error"]
    creditor = workspace.config.creditor
    for day in _days(START, LAST):
        at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=22)
        run_night(store, flows, day, creditor_country=creditor.address.country, creditor_language=creditor.language,
                  recorded_at=at)
        run = render_letters(store, workspace, day, workers=1, recorded_at=at)
        corpus.problems += [str(p) for p in run.problems]
        if run.rendered:
            sent = send_letters(store, workspace, day, recorded_at=at)
            corpus.problems += list(sent.problems)
    return collect(corpus)


def reopen_corpus(root: Path, brand_index: int, *, swiss: bool = False) -> Corpus:
    """A corpus built earlier in ``root`` on SQLite (to look at its letters again)."""
    debtor_list = swiss_debtors() if swiss else ledger_debtors(brand_index)
    return collect(Corpus(BRANDS[brand_index], open_workspace(root, environ={}),
                          open_store(f"sqlite:///{root / 'state.db'}"), {d.key: d for d in debtor_list}, swiss))


def collect(corpus: Corpus) -> Corpus:
    """The corpus's rendered letters and the refusals, from its store."""
    with corpus.store.begin() as conn:
        corpus.letters = list(conn.execute(
            select(actions.c.id, actions.c.action, actions.c.step, actions.c.channel, actions.c.due_on,
                   actions.c.detail, actions.c.case_id, debtors.c.external_id.label("debtor"),
                   cases.c.fees_amount, cases.c.interest_amount, documents.c.path)
            .join(documents, documents.c.action_id == actions.c.id)
            .join(cases, cases.c.id == actions.c.case_id).join(debtors, debtors.c.id == cases.c.debtor_id)
            .order_by(actions.c.id)))
        corpus.refused = list(conn.execute(
            select(case_events.c.case_id, case_events.c.detail, debtors.c.external_id.label("debtor"))
            .join(cases, cases.c.id == case_events.c.case_id).join(debtors, debtors.c.id == cases.c.debtor_id)
            .where(case_events.c.kind == "delivery_failed")))
    return corpus


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
