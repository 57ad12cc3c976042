"""``reconcile`` tells its progress: the bank files reconciled out of those given (a ZIP counts as its members
once opened), rising to the total; the CLI draws a bar from it on a terminal and nothing with
``--format json``, outside a terminal or under CI."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from dunning.cli import EXIT_OK, cli
from dunning.usecases.reconcile.run import reconcile_files
from tests.usecases.reconcile.camt_build import Payment, write_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench


def _files(bench: Bench) -> list[Path]:
    first = write_camt(
        bench.root, "a.xml", "054", [Payment("66.94", ref=bench.reference(2), bank_ref="P-1")], day=BANK_DAY
    )
    second = write_camt(bench.root, "b.xml", "054", [Payment("10.00", text="???", bank_ref="P-2")], day=BANK_DAY)
    third = write_camt(bench.root, "c.xml", "054", [Payment("11.00", text="???", bank_ref="P-3")], day=BANK_DAY)
    archive = bench.root / "bc.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(second, "b.xml")
        zipped.write(third, "c.xml")
    return [first, archive]


def test_reconcile_reports_each_file_up_to_the_total_a_zip_counting_as_its_members(bench: Bench) -> None:
    calls: list[tuple[int, int]] = []
    result = reconcile_files(
        bench.store,
        bench.workspace,
        _files(bench),
        as_of=BANK_DAY,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert [f.status for f in result.files] == ["processed"] * 3
    # two paths given; the ZIP opens into two members, so the total becomes 3
    assert calls == [(0, 2), (1, 2), (2, 3), (3, 3)]

    calls.clear()  # nothing new: each file still counts (already processed), the bar ends full
    reconcile_files(
        bench.store,
        bench.workspace,
        _files(bench),
        as_of=BANK_DAY,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[0] == (0, 2) and calls[-1] == (3, 3)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a person's terminal (the bar draws only there), captured."""
    screen = io.StringIO()
    monkeypatch.setattr("dunning.cli.progress.err_console", Console(file=screen, force_terminal=True, width=100))
    monkeypatch.delenv("CI", raising=False)
    return screen


def _reconcile_cli(
    bench: Bench, store_url: str, *options: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    args = ["-w", str(bench.root), "reconcile", *map(str, _files(bench)), "--date", BANK_DAY.isoformat(), *options]
    result = CliRunner().invoke(cli, args, env={"DUNNING_DATABASE": store_url, **(env or {})}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_table_on_a_terminal_gets_the_bar(bench: Bench, store_url: str, terminal: io.StringIO) -> None:
    code, out, _err = _reconcile_cli(bench, store_url)
    assert code == EXIT_OK and "Cases paid: 2" in out
    assert "Reconciling files" in terminal.getvalue() and "━" in terminal.getvalue()


def test_with_format_json_nothing_but_the_json_even_on_a_terminal(
    bench: Bench, store_url: str, terminal: io.StringIO
) -> None:
    code, out, err = _reconcile_cli(bench, store_url, "--format", "json")
    assert code == EXIT_OK
    assert json.loads(out)["files_processed"] == 3  # stdout is the JSON and nothing else
    assert terminal.getvalue() == ""  # no bar (stderr keeps its "Report: ..." lines, as before)
    assert "Reconciling" not in err and "━" not in err


def test_under_ci_no_bar_even_on_a_terminal(bench: Bench, store_url: str, terminal: io.StringIO) -> None:
    code, out, _err = _reconcile_cli(bench, store_url, env={"CI": "true"})
    assert code == EXIT_OK and "Cases paid: 2" in out
    assert terminal.getvalue() == ""
