"""The bank-statements flow over a real corpus file, from a local inbox and from a real OpenSSH sshd."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlalchemy import func, select

import pipelines.bank_statements as bank_module
from dunning.store import open_store
from dunning.store.schema import allocations, bank_files, bank_transactions, review_items
from pipelines.bank_statements import bank_statements
from tests.conftest import CAMT_CORPUS
from tests.servers.sshd import SshdServer, start_sshd

pytestmark = pytest.mark.requires_corpus  # every test feeds the flow a real bank file of the corpus
STATEMENT = CAMT_CORPUS / "camt2coda" / "account_statement.xml"


@pytest.fixture(autouse=True)
def statement_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus statement is for BE86463768548050: the workspace owns it too (bank.accounts)."""
    monkeypatch.setenv("DUNNING_BANK_ACCOUNTS", "BE68539007547034,BE86463768548050")


def _bank_tables(workspace: Path) -> dict[str, Any]:
    store = open_store(f"sqlite:///{workspace / 'state.db'}")
    try:
        with store.begin() as conn:
            return {
                table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (bank_files, bank_transactions, allocations, review_items)
            }
    finally:
        store.dispose()


async def _latest_artifact(key: str) -> Any:
    async with get_client() as client:
        found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return max(found, key=lambda a: a.created)


def _check_statement(report: dict[str, Any]) -> None:
    by_file = {f["file"]: f for f in report["files"]}
    statement = by_file[STATEMENT.name]
    assert statement["message"] == "camt.053.001.02"
    assert (statement["statements"], statement["entries"], statement["credits"], statement["debits"]) == (1, 3, 1, 2)
    assert statement["balances"] == {"ok": 1} and statement["error"] is None


def test_new_bank_files_are_read_reconciled_and_reported_and_a_bad_one_does_not_stop_the_rest(
    workspace: Path,
) -> None:
    inbox = workspace / "bank" / "inbox"
    shutil.copy(STATEMENT, inbox / STATEMENT.name)
    (inbox / "truncated.xml").write_text("<Document><BkToCstmrStmt>", encoding="utf-8")
    (inbox / "upload.xml.part").write_text("half a file", encoding="utf-8")

    report = bank_statements(workspace=str(workspace), date="2026-11-24")

    assert report["run_date"] == "2026-11-24"
    assert sorted(f["file"] for f in report["files"]) == [STATEMENT.name, "truncated.xml"]  # .part is skipped
    _check_statement(report)
    refused = next(f for f in report["files"] if f["file"] == "truncated.xml")
    assert refused["message"] is None and "truncated.xml" in refused["error"]
    reconciliation = report["reconciliation"]
    assert reconciliation["status"] == "available"
    result = reconciliation["result"]
    assert (result["files"], result["files_processed"], result["files_refused"]) == (2, 1, 1)
    assert sum(o["count"] for o in result["outcomes"].values()) == 3  # each of the three entries has an outcome
    assert _bank_tables(workspace)["bank_files"] == 2  # the statement, and the truncated file in quarantine
    # the use case moved the originals to the archive beside the inbox, and set the bad file aside
    assert sorted(p.name for p in inbox.iterdir()) == ["upload.xml.part"]
    assert (workspace / "bank" / "archive" / STATEMENT.name).exists()
    assert (workspace / "bank" / "refused" / "truncated.xml").exists()

    markdown = asyncio.run(_latest_artifact("bank-statements-acme")).data
    assert "Bank files 2026-11-24" in markdown
    assert f"| {STATEMENT.name} | camt.053.001.02 | 1 | 3 | 1 | 3 | 0 | ok 1 |" in markdown
    assert "### Refused" in markdown and "truncated.xml" in markdown
    assert "| files_processed | 1 |" in markdown and "| outcomes | count | amount |" in markdown


def test_the_same_file_delivered_twice_changes_nothing(workspace: Path) -> None:
    inbox = workspace / "bank" / "inbox"
    shutil.copy(STATEMENT, inbox / STATEMENT.name)
    first = bank_statements(workspace=str(workspace), date="2026-11-24")
    after_first = _bank_tables(workspace)

    shutil.copy(STATEMENT, inbox / "resent-by-the-bank.xml")  # same content, another name
    second = bank_statements(workspace=str(workspace), date="2026-11-25")
    nothing_new = bank_statements(workspace=str(workspace), date="2026-11-25")

    assert first["reconciliation"]["result"]["files_processed"] == 1
    assert after_first["bank_files"] == 1 and after_first["bank_transactions"] == 3
    assert second["reconciliation"]["result"]["files_already_processed"] == 1
    assert _bank_tables(workspace) == after_first
    assert nothing_new["files"] == [] and "result" not in nothing_new["reconciliation"]


def test_without_the_reconciliation_module_files_are_only_read(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bank_module, "FETCH_INBOX", None)
    monkeypatch.setattr(bank_module, "RECONCILE_INBOX", None)
    shutil.copy(STATEMENT, workspace / "bank" / "inbox" / STATEMENT.name)

    report = bank_statements(workspace=str(workspace), date="2026-11-24")

    _check_statement(report)
    assert report["reconciliation"] == {
        "status": "not available yet (dunning.usecases.reconcile.run.reconcile_inbox does not exist)"
    }
    assert (workspace / "bank" / "inbox" / STATEMENT.name).exists()  # nothing moved, nothing recorded
    assert _bank_tables(workspace) == {"bank_files": 0, "bank_transactions": 0, "allocations": 0, "review_items": 0}


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    with start_sshd(tmp_path_factory.mktemp("bank-sshd")) as server:
        yield server


@pytest.mark.sftp
def test_an_sftp_inbox_is_fetched_read_and_reconciled(workspace: Path, sshd: SshdServer) -> None:
    archive = sshd.local_outbox.parent / "archive"  # beside the inbox, as the print house's and bank's servers have
    for folder in (sshd.local_outbox, archive):
        for child in folder.iterdir():
            child.unlink()
    shutil.copy(STATEMENT, sshd.local_outbox / STATEMENT.name)
    (sshd.local_outbox / STATEMENT.name).chmod(0o644)
    config_path = workspace / "dunning.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["bank"].update(
        inbox=sshd.url(sshd.remote_outbox), key=str(sshd.client_key), known_hosts=str(sshd.known_hosts)
    )
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    report = bank_statements(workspace=str(workspace), date="2026-11-24")

    assert [f["file"] for f in report["files"]] == [STATEMENT.name]
    _check_statement(report)
    assert report["reconciliation"]["result"]["files_processed"] == 1
    assert _bank_tables(workspace)["bank_transactions"] == 3
    assert list(sshd.local_outbox.iterdir()) == []
    assert [p.name for p in archive.iterdir()] == [STATEMENT.name]
