"""Shared paths and small builders for the camt tests (the corpus is read in place, never copied).

The corpus paths are only paths: nothing here reads the corpus when a test module is imported, so
collection works on a fresh clone without it. Tests that read it are marked ``requires_corpus``.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from tests.conftest import CAMT_CORPUS as CORPUS
from tests.conftest import REPO, XSD_DIR, corpus_dir, corpus_present

__all__ = [
    "CORPUS", "GOLDEN", "REPO", "XSD_DIR", "balance", "camt053", "corpus_files", "corpus_present", "entry", "manifest",
]  # fmt: skip

GOLDEN = Path(__file__).resolve().parent / "golden"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MISSING_CORPUS = "corpus-missing"  # the one parameter of a corpus-wide test when there is no corpus


def corpus_files() -> list[str]:
    """Every XML file of the corpus, relative to it (``genkgo/camt053.v8.xml``).

    Called at collection (to parametrize): without the corpus it gives one placeholder, so each
    corpus-wide test is still collected once and skips (or fails in CI) with the corpus message.
    """
    if not corpus_present():
        return [MISSING_CORPUS]
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.xml"))


@cache
def manifest() -> dict[str, dict[str, str]]:
    """MANIFEST.tsv by file name; read on first use, inside a test, never at import."""
    with (corpus_dir() / "camt" / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


NS53 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def camt053(entries: str, *, balances: str = "", ns: str = NS53, prolog: str = "", account: str = "") -> str:
    """A small camt.053 document around the given Ntry elements (for synthetic cases)."""
    account = account or "<Acct><Id><IBAN>BE68539007547034</IBAN></Id><Ccy>EUR</Ccy></Acct>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}'
        f'<Document xmlns="{ns}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-20T18:00:00+01:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>S1</Id>{account}{balances}{entries}</Stmt></BkToCstmrStmt></Document>\n"
    )


def balance(code: str, amount: str, cd: str = "CRDT", day: str = "2026-11-20") -> str:
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{amount}</Amt>'
        f"<CdtDbtInd>{cd}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def entry(amount: str, cd: str = "CRDT", *, status: str = "BOOK", details: str = "", extra: str = "") -> str:
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>{extra}'
        f"<Sts><Cd>{status}</Cd></Sts><BookgDt><Dt>2026-11-20</Dt></BookgDt><ValDt><Dt>2026-11-20</Dt></ValDt>"
        f"{details}</Ntry>"
    )
