"""Values checked at the door, through ``dunning import``: currencies, plausible due dates, address lengths.

Each bad row is rejected (exit code 1) with file, line, column and value; the good rows are imported;
nothing is clipped.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dunning.cli import EXIT_PROBLEMS, cli
from dunning.workspace import init_workspace

HEADER = "debtor_id,name,invoice_id,due_date,amount,currency,street,postal_code,city"
GOOD = "D1,Ann Peeters,INV-2026-00001,2026-10-01,100.00,EUR,Kerkstraat 1,2000,Antwerpen"


def _import(root: Path, rows: list[str]) -> tuple[int, dict[str, object], str]:
    ledger = root / "ledger" / "export.csv"
    ledger.write_text("\n".join([HEADER, GOOD, *rows]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-w", str(root), "import", str(ledger), "--date", "2026-11-02",
                                      "--format", "json"])
    return result.exit_code, json.loads(result.stdout), str(ledger)


@pytest.fixture()
def root(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    init_workspace(tmp_path / "ws")
    monkeypatch.setenv("DUNNING_DATABASE", store_url)
    return tmp_path / "ws"


def _problems(summary: dict[str, object]) -> list[tuple[int, str, str, str]]:
    problems = summary["problems"]
    assert isinstance(problems, list)
    return [(p["line"], p["column"], p["value"], p["reason"]) for p in problems if p["severity"] == "rejected"]


def test_unknown_and_placeholder_currencies_are_rejected(root: Path) -> None:
    code, summary, ledger = _import(root, [
        "D2,Bob,INV-2026-00002,2026-10-01,50.00,XXX,Street 1,1000,Brussel",
        "D3,Cas,INV-2026-00003,2026-10-01,50.00,ABC,Street 1,1000,Brussel",
        "D4,Dirk,INV-2026-00004,2026-10-01,50.00,XOF,Street 1,1000,Brussel",  # CFA franc: a real X-code
    ])
    assert code == EXIT_PROBLEMS
    assert summary["accepted"] == 2 and summary["rejected"] == 2
    assert [(line, column, value) for line, column, value, _ in _problems(summary)] == [
        (3, "currency", "XXX"), (4, "currency", "ABC")]
    assert all("ISO 4217" in reason for *_, reason in _problems(summary))
    assert summary["file"] == ledger


def test_implausible_due_dates_are_rejected_with_the_line(root: Path) -> None:
    code, summary, _ = _import(root, [
        "D2,Bob,INV-2026-00002,1900-01-01,50.00,EUR,Street 1,1000,Brussel",
        "D3,Cas,INV-2026-00003,2099-12-31,50.00,EUR,Street 1,1000,Brussel",
        "D4,Dirk,INV-2026-00004,2017-01-01,50.00,EUR,Street 1,1000,Brussel",  # 9 years back: plausible
    ])
    assert code == EXIT_PROBLEMS
    rejected = _problems(summary)
    assert [(line, column, value) for line, column, value, _ in rejected] == [
        (3, "due_date", "1900-01-01"), (4, "due_date", "2099-12-31")]
    assert "outside 2016-11-02 to 2028-11-02" in rejected[0][3]
    assert summary["accepted"] == 2


def test_the_due_date_window_is_configurable(root: Path) -> None:
    config = root / "dunning.yaml"
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["ledger"]["due_date_window"] = {"past_years": 1, "future_years": 0}
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code, summary, _ = _import(root, ["D4,Dirk,INV-2026-00004,2017-01-01,50.00,EUR,Street 1,1000,Brussel"])
    assert code == EXIT_PROBLEMS and "outside 2025-11-02 to 2026-11-02" in _problems(summary)[0][3]


def test_a_name_longer_than_the_address_window_is_rejected_never_clipped(root: Path) -> None:
    long_name = "N" * 200_000
    code, summary, _ = _import(root, [
        f"D2,{long_name},INV-2026-00002,2026-10-01,50.00,EUR,Street 1,1000,Brussel",
        "D3,Cas,INV-2026-00003,2026-10-01,50.00,EUR," + "S" * 71 + ",1000,Brussel",
        "D4,Dirk,INV-2026-00004,2026-10-01,50.00,EUR,Street 1,1000," + "C" * 36,
        "D5,Eva,INV-2026-00005,2026-10-01,50.00,EUR," + "S" * 70 + ",1000," + "C" * 35,  # exactly fits
    ])
    assert code == EXIT_PROBLEMS
    rejected = _problems(summary)
    assert [(line, column) for line, column, _, _ in rejected] == [(3, "name"), (4, "street"), (5, "city")]
    assert "200000 characters, more than the 70" in rejected[0][3]
    assert len(rejected[0][2]) < 100  # the report shows the start of the value, not 200,000 characters
    listed = CliRunner().invoke(cli, ["-w", str(root), "cases", "--format", "csv"])
    names = {row["debtor"] for row in csv.DictReader(io.StringIO(listed.stdout))}
    assert names == {"Ann Peeters", "Eva"}  # nothing clipped into the store
