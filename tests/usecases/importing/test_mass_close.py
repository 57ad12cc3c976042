"""A ledger snapshot that would close (almost) every case is refused, through ``dunning import``.

On SQLite and on a real PostgreSQL server (``store_url``): the store must be exactly as before a
refused import (the refusal is made inside the import's transaction and rolls it back).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from dunning.cli import EXIT_INPUT, cli
from dunning.store import open_store
from dunning.store.schema import case_events, cases, invoices, ledger_imports
from dunning.workspace import EXAMPLE_LEDGER, init_workspace


def dunning(workspace: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--workspace", str(workspace), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _counts(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        with store.begin() as conn:
            return {
                "open_cases": conn.execute(
                    select(func.count()).select_from(cases).where(cases.c.status != "closed")
                ).scalar_one(),
                "open_invoices": conn.execute(
                    select(func.count()).select_from(invoices).where(invoices.c.status == "open")
                ).scalar_one(),
                "events": conn.execute(select(func.count()).select_from(case_events)).scalar_one(),
                "imports": conn.execute(select(func.count()).select_from(ledger_imports)).scalar_one(),
            }
    finally:
        store.dispose()


def _keep_debtors(source: Path, target: Path, keep: int) -> Path:
    """The example ledger with only the rows of its first ``keep`` debtors (the others paid elsewhere)."""
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kept_ids = list(dict.fromkeys(r["customer_id"] for r in rows))[:keep]
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["customer_id"] in kept_ids)
    return target


def _set_share(workspace: Path, share: str) -> None:
    config = workspace / "dunning.yaml"
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["ledger"]["max_close_share"] = share
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")


@pytest.fixture()
def workspace(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "acme"
    init_workspace(root)
    monkeypatch.setenv("DUNNING_DATABASE", store_url)
    code, _, err = dunning(root, "import", str(root / EXAMPLE_LEDGER), "--date", "2026-11-02")
    assert code == 0, err
    assert _counts(store_url)["open_cases"] == 18
    return root


def test_a_header_only_file_is_refused_and_changes_nothing(workspace: Path, store_url: str) -> None:
    before = _counts(store_url)
    header_only = workspace / "ledger" / "export.csv"
    header_only.write_text((workspace / EXAMPLE_LEDGER).read_text(encoding="utf-8").splitlines()[0] + "\n")

    code, _, err = dunning(workspace, "import", str(header_only), "--date", "2026-11-09")

    assert code == EXIT_INPUT
    assert str(header_only) in err and "no data rows" in err and "Nothing was changed" in err
    assert _counts(store_url) == before


def test_the_wrong_file_that_would_close_most_cases_is_refused_with_the_counts(
    workspace: Path, store_url: str
) -> None:
    before = _counts(store_url)
    wrong = _keep_debtors(workspace / EXAMPLE_LEDGER, workspace / "ledger" / "other-entity.csv", keep=3)

    code, _, err = dunning(workspace, "import", str(wrong), "--date", "2026-11-09")

    assert code == EXIT_INPUT
    assert str(wrong) in err and "would close 15 of 18 open cases (83%" in err and "--allow-mass-close" in err
    assert _counts(store_url) == before  # rolled back: no closure, no event, no import recorded

    code, _out, err = dunning(workspace, "import", str(wrong), "--date", "2026-11-09", "--allow-mass-close")

    assert code == 0, err
    assert _counts(store_url)["open_cases"] == 3


def test_closing_all_cases_is_refused_even_when_the_share_allows_it(workspace: Path, store_url: str) -> None:
    _set_share(workspace, "1")
    nobody = workspace / "ledger" / "only-new.csv"
    nobody.write_text(
        "debtor_id,name,invoice_id,due_date,amount\nZ1,Zoe Nieuw,INV-2026-99999,2026-11-01,10.00\n", encoding="utf-8"
    )

    code, _, err = dunning(workspace, "import", str(nobody), "--date", "2026-11-09")

    assert code == EXIT_INPUT and "would close 18 of 18 open cases (all" in err


def test_a_normal_next_snapshot_under_the_share_is_imported(workspace: Path, store_url: str) -> None:
    later = _keep_debtors(workspace / EXAMPLE_LEDGER, workspace / "ledger" / "next.csv", keep=15)  # 3 of 18: 17 %

    code, _, err = dunning(workspace, "import", str(later), "--date", "2026-11-09")

    assert code == 0, err
    assert _counts(store_url)["open_cases"] == 15


def test_the_share_is_configurable(workspace: Path, store_url: str) -> None:
    _set_share(workspace, "0.1")
    later = _keep_debtors(workspace / EXAMPLE_LEDGER, workspace / "ledger" / "next.csv", keep=15)

    code, _, err = dunning(workspace, "import", str(later), "--date", "2026-11-09")

    assert code == EXIT_INPUT and "would close 3 of 18 open cases (17%; the limit is 10%" in err
