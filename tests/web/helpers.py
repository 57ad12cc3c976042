"""A workspace with rendered letters, the pay link read back from a letter's QR code, a bank payment."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn
from starlette.testclient import TestClient

from camt.build import Payment, build_camt
from dunning.domain.references import parse_reference
from dunning.store import Store
from dunning.usecases.letters.render import render_letters
from dunning.usecases.outgoing.secrets import Secrets, load_secrets
from dunning.usecases.paypage.claim import PayPageReader
from dunning.usecases.reconcile.run import reconcile_files
from dunning.web.app import create_app
from dunning.workspace import Workspace
from tests.usecases.letters.helpers import (
    LETTER_DAY,
    documents_by_action,
    first_page_text,
    letter_actions,
    make_workspace,
    plan_letters,
    qr_codes,
)
from tests.usecases.messaging.helpers import ENV, import_and_plan

#: the day the pages are looked at in the tests (a few days after the letters went out)
VISIT_DAY = date(2026, 11, 5)
VISIT_AT = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
PAY_DAY = date(2026, 11, 6)


@dataclass(frozen=True)
class Letter:
    """One rendered letter as the debtor holds it: its QR codes and page-1 text."""

    case_id: int
    debtor_name: str
    reference: str
    pay_link: str  # read from the pay-link QR code
    epc_amount: Decimal  # what the EPC QR code asks
    text: str

    @property
    def path(self) -> str:
        """The link's path and query (the host is the workspace's public base URL)."""
        return re.sub(r"^https?://[^/]+", "", self.pay_link)


@dataclass(frozen=True)
class Letters:
    """A store and workspace with rendered letters, shared by a test module (tests use distinct cases)."""

    store: Store
    workspace: Workspace
    sent: list[Letter]
    root: Path


def workspace_with_letters(root: Path, store: Store) -> tuple[Workspace, list[Letter]]:
    """The example ledger's letters of 2 November, rendered to PDF, read back as a debtor would."""
    workspace = make_workspace(root)
    plan_letters(store, workspace)
    render_letters(store, workspace, LETTER_DAY, workers=1)
    docs = documents_by_action(store)
    letters = []
    for action in letter_actions(store):
        pdf = workspace.root / docs[action.id].path
        codes = qr_codes(pdf)
        epc = next(code for code in codes if code.startswith("BCD"))
        link = next(code for code in codes if code.startswith("https://"))
        letters.append(
            Letter(
                action.case_id,
                action.name,
                action.reference,
                link,
                Decimal(epc.split("\n")[7].removeprefix("EUR")),
                first_page_text(pdf),
            )
        )
    return workspace, letters


def pay_in_full(store: Store, workspace: Workspace, letter: Letter, folder: Path) -> Path:
    """A camt.054 crediting the letter's amount with its structured reference, reconciled on PAY_DAY."""
    path = folder / f"camt054-{PAY_DAY}.xml"
    payment = Payment(str(letter.epc_amount), ref=parse_reference(letter.reference).printed, name="Payer")
    path.write_bytes(
        build_camt("054", [payment], day=PAY_DAY, account=workspace.config.creditor.iban, msg_id=f"PAYPAGE-{PAY_DAY}")
    )
    result = reconcile_files(store, workspace, [path], as_of=PAY_DAY)
    assert result.files[0].status != "refused", result.files[0]
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(workspace: Workspace, store: Store, **app_options: Any) -> Iterator[str]:
    """The pay page under a real uvicorn on 127.0.0.1 (a free port), in a thread; yields its base URL."""
    app = create_app(workspace, store, today=lambda: VISIT_DAY, now=lambda: VISIT_AT, **app_options)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the pay-page server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def page_client(store: Store, workspace: Workspace, *, today: date, now: datetime) -> tuple[TestClient, Secrets]:
    """The ledger imported and planned, then the pay page under Starlette's test client (a server error is
    answered, not raised; redirects are not followed); with the secrets that make pay-link tokens."""
    import_and_plan(store, workspace)
    secrets = load_secrets(workspace, env=ENV)
    app = create_app(
        workspace, store, reader=PayPageReader(store, workspace, secrets), today=lambda: today, now=lambda: now
    )
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False), secrets
