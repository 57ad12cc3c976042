"""``import`` tells its progress step by step up to the total; the CLI draws a bar from it on a terminal and
nothing with ``--format json``."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from dunning.cli import EXIT_OK, cli
from dunning.store import Store
from dunning.usecases.importing.snapshot import IMPORT_STEPS, import_ledger
from dunning.workspace import init_workspace


def test_import_reports_each_step_up_to_the_total(tmp_path: Path, store: Store) -> None:
    init_workspace(tmp_path / "ws")
    ledger = tmp_path / "ws" / "examples" / "open-items.csv"
    calls: list[tuple[int, int]] = []
    result = import_ledger(store, ledger, as_of=date(2026, 11, 2), progress=lambda d, t: calls.append((d, t)))
    assert result.counts["cases_opened"] == 18
    assert calls == [(step, IMPORT_STEPS) for step in range(IMPORT_STEPS + 1)]

    calls.clear()  # the same file again: read, found imported, done
    again = import_ledger(store, ledger, as_of=date(2026, 11, 3), progress=lambda d, t: calls.append((d, t)))
    assert again.already_imported
    assert calls == [(0, IMPORT_STEPS), (1, IMPORT_STEPS), (IMPORT_STEPS, IMPORT_STEPS)]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a person's terminal (the bar draws only there), captured."""
    screen = io.StringIO()
    monkeypatch.setattr("dunning.cli.progress.err_console", Console(file=screen, force_terminal=True, width=100))
    monkeypatch.delenv("CI", raising=False)
    return screen


def _import(tmp_path: Path, *options: str) -> tuple[int, str, str]:
    root = tmp_path / "ws"
    init_workspace(root)
    result = CliRunner().invoke(cli, ["-w", str(root), "import", str(root / "examples" / "open-items.csv"), "--date",
                                      "2026-11-02", *options], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_with_format_json_nothing_but_the_json_even_on_a_terminal(tmp_path: Path, terminal: io.StringIO) -> None:
    code, out, err = _import(tmp_path, "--format", "json")
    assert code == EXIT_OK
    assert json.loads(out)["cases_opened"] == 18  # stdout is the JSON and nothing else
    assert terminal.getvalue() == "" and "━" not in err


def test_a_table_on_a_terminal_gets_the_bar(tmp_path: Path, terminal: io.StringIO) -> None:
    code, _out, _err = _import(tmp_path)
    assert code == EXIT_OK
    assert "importing open-items.csv" in terminal.getvalue() and "━" in terminal.getvalue()
