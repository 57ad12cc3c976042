"""Hostile and messy input: XXE and entity expansion, encodings, constant memory while streaming."""

from __future__ import annotations

import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import camt
from tests.camt.camt_helpers import REPO, balance, camt053, entry

XXE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr>'
    "<MsgId>&xxe;</MsgId></GrpHdr></BkToCstmrStmt></Document>"
)
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10)
    )
    + ']>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol9;</Document>'
)


def as_stream(data: bytes, name: str = "inbox/file.xml") -> io.BytesIO:
    stream = io.BytesIO(data)
    stream.name = name
    return stream


@pytest.mark.parametrize("xml", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_doctype_and_entities_are_refused(xml: str, tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(xml, encoding="utf-8")
    with pytest.raises(camt.UnsafeXmlError) as caught:
        camt.read(path)
    assert str(caught.value).startswith(f"{path}, line 2: refused: the file declares a DOCTYPE")
    with pytest.raises(camt.UnsafeXmlError):
        list(camt.iter_entries(path))


def test_doctype_hidden_after_a_long_comment_is_still_refused() -> None:
    xml = '<?xml version="1.0"?>\n<!--' + "x" * 100_000 + "-->\n" + XXE.split("\n", 1)[1]
    with pytest.raises(camt.UnsafeXmlError, match="DOCTYPE"):
        camt.read(as_stream(xml.encode()))


def test_external_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = XXE.replace("file:///etc/passwd", secret.as_uri())
    with pytest.raises(camt.CamtError) as caught:
        camt.read(as_stream(xml.encode()))
    assert "TOP-SECRET" not in str(caught.value)


NAME = "Société Générale Šiauliai Œuvre €"  # Š, Œ and € exist in Latin-9, not in Latin-1


def _document_with(name: str) -> str:
    details = f"<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>{name}</Nm></Dbtr></RltdPties></TxDtls></NtryDtls>"
    return camt053(entry("10.00", details=details))


def _debtor(result: camt.CamtFile) -> str | None:
    return result.entries()[0].transactions[0].debtor.name


def test_latin9_bytes_labelled_utf8_are_read_with_a_warning() -> None:
    data = _document_with(NAME).encode("iso-8859-15")  # the XML declaration still says UTF-8
    result = camt.read(as_stream(data))
    assert _debtor(result) == NAME
    (warning,) = result.warnings
    assert warning.startswith("declared UTF-8 but byte ") and warning.endswith("read as ISO-8859-15")
    offset = int(warning.split("byte ")[1].split(" ")[0])
    assert data[offset] == "é".encode("iso-8859-15")[0]


@pytest.mark.parametrize("target", [600, 65_535, 65_536, 65_537, 200_000])
def test_latin9_far_into_the_file_and_across_chunk_ends(target: int) -> None:
    """The first non-UTF-8 byte lands just before, on and after the first chunk end."""
    base = _document_with(NAME).encode("iso-8859-15")
    first = base.index("é".encode("iso-8859-15"))
    pad = max(target - first - len("<!---->\n"), 0)
    data = _document_with(NAME).replace("?>\n", "?>\n<!--" + "p" * pad + "-->\n", 1).encode("iso-8859-15")
    assert data.index("é".encode("iso-8859-15")) == max(target, first)
    result = camt.read(as_stream(data))
    assert _debtor(result) == NAME
    assert result.warnings == (f"declared UTF-8 but byte {max(target, first)} is not UTF-8: read as ISO-8859-15",)


def test_utf8_multibyte_characters_across_chunk_ends_are_not_mistaken() -> None:
    for pad in range(65_520, 65_540):
        text = _document_with(NAME).replace("?>\n", "?>\n<!--" + "p" * pad + "-->\n", 1)
        result = camt.read(as_stream(text.encode("utf-8")))
        assert (_debtor(result), result.warnings) == (NAME, ())


def test_valid_utf8_with_bom_and_non_ascii() -> None:
    data = b"\xef\xbb\xbf" + _document_with(NAME).encode("utf-8")
    result = camt.read(as_stream(data))
    assert _debtor(result) == NAME
    assert result.warnings == ()


def test_declared_latin1_is_decoded_as_declared() -> None:
    text = _document_with("Müller Frères").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    result = camt.read(as_stream(text.encode("iso-8859-1")))
    assert _debtor(result) == "Müller Frères"
    assert result.warnings == ()


def test_utf16_file() -> None:
    text = _document_with(NAME).replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert _debtor(camt.read(as_stream(text.encode("utf-16")))) == NAME


def _write_big(path: Path, entries: int) -> Decimal:
    one = entry(
        "12.34",
        details=(
            "<NtryDtls><TxDtls><Refs><EndToEndId>E2E</EndToEndId></Refs>"
            "<RmtInf><Ustrd>Invoice RE-1001 and RE-1002, thank you very much for your business</Ustrd></RmtInf>"
            "</TxDtls></NtryDtls>"
        ),
    )
    total = Decimal("12.34") * entries
    xml = camt053("@@", balances=balance("OPBD", "0.00") + balance("CLBD", str(total)))
    head, tail = xml.split("@@")
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        for _ in range(entries // 1000):
            out.write(one * 1000)
        out.write(tail)
    return total


PEAK = """
import sys, camt
n = 0
for header, entry in camt.iter_entries(sys.argv[1]):
    n += 1
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(n, int(line.split()[1]))
"""


def test_streaming_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """Peak RSS (VmHWM, measured in a fresh process) for 10 000 vs 80 000 entries (~4 vs ~32 MB)."""
    peaks = []
    for entries in (10_000, 80_000):
        path = tmp_path / f"big{entries}.xml"
        _write_big(path, entries)
        out = subprocess.run(
            [sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, check=True, cwd=REPO
        ).stdout.split()
        assert int(out[0]) == entries
        peaks.append(int(out[1]))
    small, large = peaks
    assert large - small < 4 * 1024, f"peak grew from {small} kB to {large} kB"


def test_big_file_balance_proof_is_summed_while_streaming(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    total = _write_big(path, 20_000)
    (statement,) = camt.iter_statements(path)
    assert statement.entry_count == 20_000
    assert statement.balance_check.status == "ok"
    assert statement.balance_check.booked_credits == total


def test_validation_refuses_doctype_too(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(XXE, encoding="utf-8")
    with pytest.raises(camt.UnsafeXmlError, match="DOCTYPE"):
        camt.read(path, strict=True)
