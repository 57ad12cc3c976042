"""Fixtures for print batches: a real OpenSSH sshd, and real letter PDFs rendered with WeasyPrint."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dunning.adapters.transport import Transport, open_transport
from dunning.print import PrintLetter
from tests.servers.sshd import SshdServer, start_sshd


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    """One sshd for the session (starting one takes ~0.2 s, but the user/jail set-up is shared)."""
    with start_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def sftp_upload(sshd: SshdServer) -> Iterator[SshdServer]:
    """The session's sshd with an empty upload folder and outbox for this test."""
    for folder in (sshd.local_upload, sshd.local_outbox):
        for child in folder.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    yield sshd


@pytest.fixture(params=["file", "sftp"])
def transport(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Transport, Path]]:
    """(transport, the local folder where its files really are)."""
    if request.param == "file":
        with open_transport("file://remote", base_dir=tmp_path) as t:
            yield t, tmp_path / "remote"
    else:
        server: SshdServer = request.getfixturevalue("sftp_upload")
        with open_transport(
            server.url(server.remote_upload), key_file=server.client_key, known_hosts=server.known_hosts
        ) as t:
            yield t, server.local_upload


@dataclass(frozen=True)
class SampleDebtor:
    debtor_id: str
    name: str
    street: str
    postal_code: str
    city: str
    country: str


DEBTORS = [
    SampleDebtor("D-001", "Anna Peeters", "Kerkstraat 1", "9000", "GENT", "BE"),
    SampleDebtor("D-002", "Bram Janssens", "Meir 22", "2000", "ANTWERPEN", "BE"),
    SampleDebtor("D-003", "Chloé Dubois", "Rue Neuve 3", "1000", "BRUXELLES", "BE"),
    SampleDebtor("D-004", "Dirk Maes", "Markt 4", "3000", "LEUVEN", "BE"),
    SampleDebtor("D-005", "Eva de Vries", "Damrak 5", "1012 LG", "AMSTERDAM", "NL"),
    SampleDebtor("D-006", "Frank Müller", "Hauptstraße 6", "10115", "BERLIN", "DE"),
    SampleDebtor("D-007", "Greet Claes", "Veldstraat 7", "8000", "BRUGGE", "BE"),
    SampleDebtor("D-008", "Hugo Willems", "Grote Markt 8", "3500", "HASSELT", "BE"),
]

#: pages per test letter: odd and even duplex letters, and one that needs a C4 envelope (6 sheets)
PAGES = [1, 2, 3, 1, 2, 1, 11, 2]

LETTER_HTML = """<!doctype html><html><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 0 }}
body {{ font-family: DejaVu Sans, sans-serif; font-size: 10pt; margin: 0 }}
.page {{ position: relative; width: 210mm; height: 297mm; page-break-after: always }}
.page:last-child {{ page-break-after: auto }}
.address {{ position: absolute; left: 20mm; top: 62.7mm; width: 85mm; height: 27.3mm }}
.body {{ position: absolute; left: 25mm; top: 100mm; width: 165mm }}
</style></head><body>
<div class="page"><div class="address">{name}<br>{street}<br>{postal_code} {city}<br>{country}</div>
<div class="body"><p>Reminder {letter_id}: invoice unpaid.</p></div></div>
{more}
</body></html>"""


def render_letter(letter_id: str, debtor: SampleDebtor, pages: int) -> bytes:
    from weasyprint import HTML

    more = "".join(
        f'<div class="page"><div class="body"><p>{letter_id} page {n}: statement of account.</p></div></div>'
        for n in range(2, pages + 1)
    )
    html = LETTER_HTML.format(
        name=debtor.name,
        street=debtor.street,
        postal_code=debtor.postal_code,
        city=debtor.city,
        country=debtor.country,
        letter_id=letter_id,
        more=more,
    )
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def rendered_letters(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[PrintLetter, SampleDebtor]]:
    """Eight real letters (WeasyPrint), as files, each with its debtor's address on page 1."""
    folder = tmp_path_factory.mktemp("letters")
    out = []
    for number, (debtor, pages) in enumerate(zip(DEBTORS, PAGES, strict=True), start=1):
        letter_id = f"L-{number:04d}"
        path = folder / f"{letter_id}.pdf"
        path.write_bytes(render_letter(letter_id, debtor, pages))
        letter = PrintLetter(
            letter_id=letter_id,
            case_id=f"C-{number:04d}",
            debtor_id=debtor.debtor_id,
            pdf=path,
            page_count=pages,
            country=debtor.country,
            postal_code=debtor.postal_code,
        )
        out.append((letter, debtor))
    return out


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
