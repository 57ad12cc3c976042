"""Mutations of real camt files, for the property tests that prove a bad file never gives a traceback.

Each mutation is what a bank, a transfer or a hand edit really does to a file: a flipped byte, a cut
at any point, an element deleted (the ``Amt`` of a charges record, a ``CdtDbtInd``), an element
duplicated, a huge or odd number where an amount or count stands, a wrong or missing namespace.
:func:`mutated_files` draws a corpus file and one to three of them, reproducibly (hypothesis).

The number of examples comes from ``CAMT_FUZZ_EXAMPLES`` (a few hundred in CI; run thousands on
demand: ``CAMT_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/camt/test_camt_fuzz.py``).
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from tests.camt.camt_helpers import CORPUS

__all__ = ["EXAMPLES", "corpus_bytes", "mutated_files"]

EXAMPLES = int(os.environ.get("CAMT_FUZZ_EXAMPLES", "300"))
#: Files above this size are left out: the mutations are about content, and big files only cost time.
_MAX_FILE = 200_000

_START_TAG = re.compile(rb"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)(\s[^<>]*)?>")
_NUMERIC = re.compile(
    rb"<((?:[A-Za-z_][\w.-]*:)?(?:Amt|TtlAmt|NbOfTxs|XchgRate|Sum|TtlNetNtryAmt|TtlNtries))(\s[^<>]*)?>"
)
_NAMESPACE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]\.001\.\d\d")
_ODD_NUMBERS = [
    b"9" * 30,  # decimal.InvalidOperation in sums before
    b"1" * 19,  # one past the XSD's 18 digits
    b"12345678901234567.89",
    b"9" * 5000,
    b"0." + b"0" * 60 + b"1",
    b"1E+999999",
    b"-5.00",
    b"NaN",
    b"Infinity",
    b"\xd9\xa1\xd9\xa2\xd9\xa3",  # Arabic-Indic digits: str.isdigit() says yes
    b"\xc2\xb2",  # superscript two: isdigit() too
    b"",
    b" 1 2 ",
    b"0",
    b"00000000000000000000000000001.00",
]
_NAMESPACES = [
    b"urn:iso:std:iso:20022:tech:xsd:camt.053.001.99",
    b"urn:iso:std:iso:20022:tech:xsd:camt.052.001.01",
    b"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
    b"urn:iso:std:iso:20022:tech:xsd:camt.054.001.13",
    b"http://example.com/not-camt",
    b"",
]
#: Tags whose deletion hurts most; drawn half of the time.
_VITAL = [b"Amt", b"CdtDbtInd", b"Sts", b"Rcrd", b"Acct", b"Ntry", b"TxDtls", b"Bal", b"Dt", b"Ccy", b"GrpHdr"]


@cache
def _files() -> tuple[Path, ...]:
    return tuple(p for p in sorted(CORPUS.rglob("*.xml")) if p.stat().st_size <= _MAX_FILE)


@cache
def corpus_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _element_span(data: bytes, match: re.Match[bytes]) -> tuple[int, int] | None:
    """(start, end) of the element whose start tag ``match`` is, up to its first closing tag."""
    if match.group(0).endswith(b"/>"):
        return match.start(), match.end()
    close = b"</" + (match.group(1) or b"") + match.group(2) + b">"
    end = data.find(close, match.end())
    return None if end < 0 else (match.start(), end + len(close))


@st.composite
def _mutation(draw: st.DrawFn, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["flip", "truncate", "delete", "duplicate", "number", "namespace", "insert"]))
    if not data:
        return data
    if kind == "flip":
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == "insert":
        at = draw(st.integers(0, len(data)))
        junk = draw(st.sampled_from([b"<", b"&", b"&amp;", b"<![CDATA[x]]>", b"</Ntry>", b"<Ntry>", b"\x00", b"\xff"]))
        return data[:at] + junk + data[at:]
    if kind in ("delete", "duplicate"):
        tags = list(_START_TAG.finditer(data))
        if draw(st.booleans()):
            vital = draw(st.sampled_from(_VITAL))
            tags = [m for m in tags if m.group(2) == vital] or tags
        if not tags:
            return data
        span = _element_span(data, draw(st.sampled_from(tags)))
        if span is None:
            return data
        start, end = span
        if kind == "delete":
            return data[:start] + data[end:]
        return data[:end] + data[start:end] + data[end:]
    if kind == "number":
        numbers = list(_NUMERIC.finditer(data))
        if not numbers:
            return data
        match = draw(st.sampled_from(numbers))
        close = data.find(b"<", match.end())
        if close < 0:
            return data
        return data[: match.end()] + draw(st.sampled_from(_ODD_NUMBERS)) + data[close:]
    # namespace
    found = list(_NAMESPACE.finditer(data))
    if not found:
        return data
    match = draw(st.sampled_from(found))
    return data[: match.start()] + draw(st.sampled_from(_NAMESPACES)) + data[match.end() :]


@st.composite
def mutated_files(draw: st.DrawFn, extra: tuple[tuple[str, bytes], ...] = ()) -> tuple[str, bytes]:
    """(corpus file name, its bytes after one to three mutations); ``extra`` files are drawn half of the time."""
    if extra and draw(st.booleans()):
        name, data = draw(st.sampled_from(extra))
    else:
        path = draw(st.sampled_from(_files()))
        name, data = path.name, corpus_bytes(path)
    for _ in range(draw(st.integers(1, 3))):
        data = draw(_mutation(data))
    return name, data
