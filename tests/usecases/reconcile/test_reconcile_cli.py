"""``dunning reconcile`` and ``dunning review`` as a user runs them (on the test's store)."""

from __future__ import annotations

import json
from decimal import Decimal

from click.testing import CliRunner

from dunning.cli import EXIT_INPUT, EXIT_NOT_FOUND, EXIT_OK, EXIT_PROBLEMS, cli
from tests.usecases.reconcile.camt_build import Payment, write_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench


def run(bench: Bench, store_url: str, *args: str) -> tuple[int, str, str]:
    runner = CliRunner(env={"DUNNING_DATABASE": store_url, "COLUMNS": "200"})
    result = runner.invoke(cli, ["--workspace", str(bench.root), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_reconcile_then_review_from_the_command_line(bench: Bench, store_url: str) -> None:
    path = write_camt(
        bench.root,
        "n.xml",
        "054",
        [
            Payment("66.94", ref=bench.reference(2), bank_ref="C-1"),
            Payment("822.75", name="Julie Martin", bank_ref="C-2"),
            Payment("55.55", text="???", name="Someone", bank_ref="C-3"),
        ],
        day=BANK_DAY,
    )
    code, out, err = run(bench, store_url, "reconcile", str(path), "--date", BANK_DAY.isoformat(), "--format", "json")
    assert code == EXIT_OK, err
    data = json.loads(out)
    assert data["outcomes"]["matched"] == {"count": 1, "amount": "66.94"}
    assert data["cases_paid"] == [2] and data["review_items"] == 2
    assert data["file_results"][0]["reports"][0].endswith(".csv")

    code, out, _ = run(bench, store_url, "reconcile", str(path), "--date", BANK_DAY.isoformat())
    assert code == EXIT_OK and "already processed" in out

    code, out, _ = run(bench, store_url, "review", "--format", "json")
    queue = {Decimal(i["amount"]): i for i in json.loads(out)}
    assert set(queue) == {Decimal("822.75"), Decimal("55.55")}
    suggestion = queue[Decimal("822.75")]
    assert suggestion["payer_name"] == "Julie Martin" and suggestion["candidates"][0]["case"] == "12"
    code, out, _ = run(bench, store_url, "review")
    assert code == EXIT_OK and "Julie Martin" in out and "case 12 (" in out

    code, out, err = run(bench, store_url, "review", "accept", str(suggestion["id"]), "--date", "2026-10-28")
    assert code == EXIT_OK, err
    assert bench.case(12).status == "closed"
    other = queue[Decimal("55.55")]["id"]
    code, _, err = run(bench, store_url, "review", "accept", str(other), "--date", "2026-10-28")
    assert code == EXIT_INPUT and "--case" in err  # no candidate: a person must name the case
    code, out, _ = run(bench, store_url, "review", "reject", str(other), "--note", "refund")
    assert code == EXIT_OK and "stays unapplied" in out
    code, _, err = run(bench, store_url, "review", "reject", str(other))
    assert code == EXIT_INPUT and "already rejected" in err
    code, _, err = run(bench, store_url, "review", "accept", "9999")
    assert code == EXIT_NOT_FOUND
    code, out, _ = run(bench, store_url, "review", "--format", "json")
    assert json.loads(out) == []


def test_refused_files_give_exit_4_when_all_fail_and_1_when_some_do(bench: Bench, store_url: str) -> None:
    bad = bench.root / "bad.xml"
    bad.write_text("<not-camt/>")
    code, _, err = run(bench, store_url, "reconcile", str(bad), "--date", BANK_DAY.isoformat())
    assert code == EXIT_INPUT and "bad.xml" in err and "bank file refused" in err
    good = write_camt(bench.root, "g.xml", "054", [Payment("66.94", ref=bench.reference(2))], day=BANK_DAY)
    code, out, err = run(bench, store_url, "reconcile", str(bad), str(good), "--date", BANK_DAY.isoformat())
    assert code == EXIT_PROBLEMS and "bad.xml" in err
    assert "Cases paid: 2" in out
    code, _, err = run(bench, store_url, "reconcile")
    assert code == 2 and "--fetch" in err


def test_fetch_from_the_configured_folder(bench: Bench, store_url: str) -> None:
    write_camt(bench.root / "bank" / "inbox", "s.xml", "053", [Payment("66.94", ref=bench.reference(2))], day=BANK_DAY)
    code, out, err = run(bench, store_url, "reconcile", "--fetch", "--date", BANK_DAY.isoformat())
    assert code == EXIT_OK, err
    assert "Cases paid: 2" in out
    code, out, _ = run(bench, store_url, "reconcile", "--fetch", "--date", BANK_DAY.isoformat())
    assert code == EXIT_OK and "No new bank files" in out
