"""Regenerate the camt golden JSON files: ``python -m tests.camt.regen_golden``.

Check every changed golden by eye against its XML before committing it: the
goldens are the expectations, not a snapshot of whatever the code does today.
"""

from __future__ import annotations

import json
import sys

import camt
from tests.camt.camt_helpers import CORPUS, GOLDEN, corpus_present

GOLDEN_FILES = [
    "genkgo/camt052.v1.xml",  # camt.052.001.01: PrtryAcct, BookgDt as DtTm, no TxDtls
    "hbci4java/test-camt-ruecklastschrift.xml",  # camt.052.001.02: return MS03, InstdAmt 50 + charges 3.00/0.00
    "genkgo/camt053.v2.multi.statement.xml",  # camt.053.001.02: two statements, balances ok
    "genkgo/camt053.v2.five.decimals.xml",  # amounts with three decimals, kept exact
    "dvbern/camt.053_P_CH0309000000250090342_380000000_0_2016053100163801.xml",  # v04: reversals, balance ok
    "viafintech/camt053_valid_example_v8.xml",  # camt.053.001.08: Sts/Cd, FX, RF valid, QRR invalid
    "camt2coda/lt-dbbe-camt053-2024-03-14.xml",  # v08: Othr/Id accounts, no Sts, summary-only batches
    "prowide/camt.053.001.07.xml",  # AppHdr envelope
    "moov/FI_camt_054_sample.xml.xml",  # camt.054.001.02: amounts from TxAmt, returns AC01/CUST, INFO
    "dvbern/200519_camt.054_P_CH2909000000250094239_1111091335_0_2020061900081727_v2019.xml",  # 054.001.08 QRR
]


def golden_name(corpus_file: str) -> str:
    return corpus_file.replace("/", "__").removesuffix(".xml") + ".json"


def render(corpus_file: str) -> str:
    data = camt.read(CORPUS / corpus_file).to_dict()
    data["file"] = corpus_file  # the corpus location differs between machines
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> int:
    if not corpus_present():
        print(f"camt corpus not found at {CORPUS}: see tests/README.md", file=sys.stderr)
        return 2
    GOLDEN.mkdir(exist_ok=True)
    for corpus_file in GOLDEN_FILES:
        target = GOLDEN / golden_name(corpus_file)
        text = render(corpus_file)
        changed = not target.exists() or target.read_text(encoding="utf-8") != text
        target.write_text(text, encoding="utf-8")
        print(("updated " if changed else "same    ") + str(target.relative_to(GOLDEN.parent)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
