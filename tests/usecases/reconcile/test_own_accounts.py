"""Only the creditor's accounts: a statement for another account is refused by name, never applied.

References come from case numbers, so another creditor's statement (a shared inbox, a wrong upload)
would settle our cases. ``bank.accounts`` lists the accounts a workspace reconciles; by default the
creditor's IBAN. Through ``dunning reconcile`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
import yaml
from click.testing import CliRunner

from dunning.cli import EXIT_OK, EXIT_PROBLEMS, cli
from dunning.usecases.reconcile.run import reconcile_files
from tests.usecases.reconcile.accounts import account_of
from tests.usecases.reconcile.camt_build import ACCOUNT, CORPUS, Payment, build_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench

OTHER = "BE86463768548050"


def run(bench: Bench, store_url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    runner = CliRunner(env={"DUNNING_DATABASE": store_url, "COLUMNS": "200", **(env or {})})
    result = runner.invoke(cli, ["--workspace", str(bench.root), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _inbox(bench: Bench) -> None:
    inbox = bench.root / "bank" / "inbox"
    paying_2 = [Payment("66.94", ref=bench.reference(2), bank_ref="O-1")]
    (inbox / "other.xml").write_bytes(build_camt("053", paying_2, day=BANK_DAY, account=OTHER, msg_id="O"))
    paying_5 = [Payment("727.65", ref=bench.reference(5), bank_ref="M-1")]
    (inbox / "ours.xml").write_bytes(build_camt("053", paying_5, day=BANK_DAY, msg_id="M"))


def test_a_statement_for_another_account_is_refused_by_file_and_iban(bench: Bench, store_url: str) -> None:
    _inbox(bench)
    code, out, err = run(bench, store_url, "reconcile", "--fetch", "--date", BANK_DAY.isoformat(), "--format", "json")
    assert code == EXIT_PROBLEMS, err
    said = " ".join(err.split())
    assert "bank file refused: other.xml, line" in said and f"for account {OTHER}" in said
    assert f"bank.accounts: {ACCOUNT}" in said
    summary = json.loads(out)
    (refusal,) = summary["refusals"]
    assert refusal["value"] == OTHER and refusal["element"] == "Acct/Id/IBAN"
    assert summary["cases_paid"] == [5]
    assert bench.case(2).status == "open"  # never settled by a stranger's statement
    assert (bench.root / "bank" / "refused" / "other.xml").exists()


def test_bank_accounts_lists_the_creditors_other_accounts(bench: Bench, store_url: str) -> None:
    path = bench.root / "dunning.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["bank"]["accounts"] = ["BE68 5390 0754 7034", "be86 4637 6854 8050"]  # as people write them
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    _inbox(bench)
    code, out, err = run(bench, store_url, "reconcile", "--fetch", "--date", BANK_DAY.isoformat(), "--format", "json")
    assert code == EXIT_OK, err
    assert json.loads(out)["cases_paid"] == [2, 5]


def test_the_environment_can_list_the_accounts(bench: Bench, store_url: str) -> None:
    _inbox(bench)
    env = {"DUNNING_BANK_ACCOUNTS": f"{ACCOUNT}, {OTHER}"}
    code, out, err = run(bench, store_url, "reconcile", "--fetch", "--date", BANK_DAY.isoformat(), env=env)
    assert code == EXIT_OK, err
    assert "Cases paid: 2, 5" in out


@pytest.mark.requires_corpus
def test_by_default_every_corpus_statement_of_another_account_is_refused_naming_it(bench: Bench) -> None:
    files = [p for p in sorted(CORPUS.rglob("*.xml")) if account_of(p) not in (None, ACCOUNT)]
    assert len(files) > 40
    result = reconcile_files(bench.store, bench.workspace, files, as_of=date(2026, 11, 1))
    assert {f.status for f in result.files} == {"refused"}
    for refused, path in zip(result.files, files, strict=True):
        assert refused.error and f"for account {account_of(path)}" in refused.error
    assert result.summary()["cases_paid"] == []
