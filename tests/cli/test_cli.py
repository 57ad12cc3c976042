"""The command line as a user runs it: help, exit codes, formats, the demo."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning.cli import EXIT_CONFIG, EXIT_INPUT, EXIT_NOT_FOUND, EXIT_PROBLEMS, cli
from tests.ledger.messy import write_messy


def run(*args: str, workspace: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    prefix = ["--workspace", str(workspace)] if workspace else []
    result = runner.invoke(cli, [*prefix, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    code, out, _ = run("init", str(tmp_path / "ws"))
    assert code == 0 and "Workspace ready" in out
    return tmp_path / "ws"


def test_every_command_has_help() -> None:
    code, out, _ = run("--help")
    assert code == 0
    commands = [line.split()[0] for line in out.split("Commands:")[1].strip().splitlines()]
    assert {"init", "import", "cases", "case", "demo"} <= set(commands)
    for command in commands:
        code, text, _ = run(command, "--help")
        assert code == 0 and "Usage:" in text, command


def test_import_then_list_in_every_format(workspace: Path) -> None:
    code, out, err = run(
        "import", str(workspace / "examples" / "open-items.csv"), "--date", "2026-11-02", workspace=workspace
    )
    assert code == 0, err
    assert "thomas.wouters@example" in err  # the warning names the value
    code, out, _ = run("cases", "--format", "json", workspace=workspace)
    cases = json.loads(out)
    assert len(cases) == 18 and cases[0]["debtor_id"] == "C1001" and cases[0]["total_due"] == "1616.47"
    assert cases[0]["principal"] == "1616.47" and cases[0]["paid"] == "0.00" and cases[0]["credit"] == "0.00"
    code, out, _ = run("cases", "--format", "csv", workspace=workspace)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["debtor"] == "Jan Peeters" and len(rows) == 18
    # CSV and JSON carry the same columns, with the same values
    assert list(rows[0]) == list(cases[0]) and rows[0]["total_due"] == cases[0]["total_due"]
    wide = CliRunner(env={"COLUMNS": "120"}).invoke(cli, ["cases", "-w", str(workspace)], catch_exceptions=False)
    assert wide.exit_code == 0
    first = next(line for line in wide.stdout.splitlines() if "Jan Peeters" in line)
    # principal, costs, interest, paid, total due, credit (no next action before the first night)
    assert first.split()[-6:] == ["1616.47", "0.00", "0.00", "0.00", "1616.47", "0.00"]
    code, out, _ = run("case", "C1001", "--format", "json", workspace=workspace)
    detail = json.loads(out)
    assert [e["kind"] for e in detail["timeline"]][:2] == ["case_opened", "invoices_added"]
    assert len(detail["invoices"]) == 4


def test_import_with_rejected_rows_exits_1_and_lists_lines(workspace: Path, tmp_path: Path) -> None:
    messy = write_messy(tmp_path / "messy.csv")
    code, out, _err = run("import", str(messy), "--date", "2026-11-02", "--format", "json", workspace=workspace)
    assert code == EXIT_PROBLEMS
    summary = json.loads(out)
    assert summary["rejected"] == 5 and summary["accepted"] == 4
    assert sorted({p["line"] for p in summary["problems"] if p["severity"] == "rejected"}) == [4, 5, 6, 7, 9]
    code, out, _ = run("import", str(messy), "--date", "2026-11-03", workspace=workspace)
    assert code == 0 and "already imported" in out


@pytest.mark.parametrize(
    ("args", "expected", "message"),
    [
        (["cases"], EXIT_CONFIG, "not a dunning workspace"),
        (["import", "/nonexistent.csv"], EXIT_INPUT, "/nonexistent.csv: no such file"),
    ],
)
def test_errors_have_meaningful_exit_codes(tmp_path: Path, args: list[str], expected: int, message: str) -> None:
    if expected == EXIT_INPUT:
        run("init", str(tmp_path))
    code, _, err = run(*args, workspace=tmp_path)
    assert code == expected and message in err


def test_unknown_case_is_not_found(workspace: Path) -> None:
    code, _, err = run("case", "nobody", workspace=workspace)
    assert code == EXIT_NOT_FOUND and "nobody" in err


def test_bad_config_names_key(workspace: Path) -> None:
    config = workspace / "dunning.yaml"
    config.write_text(config.read_text().replace("BE68539007547034", "BE68539007547099"))
    code, _, err = run("cases", workspace=workspace)
    assert code == EXIT_CONFIG and "creditor.iban" in err and "dunning.yaml" in err


def test_demo_runs_as_a_console_script(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("dunning")
    result = subprocess.run(
        [str(exe), "demo", str(tmp_path / "demo")], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "the same file again: nothing changed" in result.stdout
    assert (tmp_path / "demo" / "state.db").is_file()
    # running it again starts afresh
    again = subprocess.run(
        [str(exe), "demo", str(tmp_path / "demo")], capture_output=True, text=True, timeout=300, check=False
    )
    assert again.returncode == 0, again.stderr


def test_workspace_option_after_the_command(workspace: Path, tmp_path: Path) -> None:
    """`-w/--workspace` works before or after the command and its sub-command, as the README says."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ledger = str(workspace / "examples" / "open-items.csv")
    code, _, err = run("import", ledger, "--date", "2026-11-02", "-w", str(workspace))
    assert code == 0, err
    code, out, err = run("cases", "--format", "json", "-w", str(workspace))
    assert code == 0, err
    assert len(json.loads(out)) == 18
    code, out, _ = run("case", "C1001", "--workspace", str(workspace), "--format", "json")
    assert code == 0 and json.loads(out)["debtor_id"] == "C1001"
    code, out, _ = run("cases", f"--workspace={workspace}", "--status", "open", "--format", "csv")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 18
    code, out, err = run("review", "--format", "json", "-w", str(workspace))
    assert code == 0 and json.loads(out) == [], err
    code, out, err = run("flows", "check", "-w", str(workspace))
    assert code == 0, err
    # after the command it wins over the one before it (the last one given counts), like any option
    code, _, err = run("cases", "-w", str(workspace), workspace=elsewhere)
    assert code == 0, err
    # the real executable, from another folder: the option after the command is not read as an argument
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("dunning")),
            "cases",
            "--limit",
            "1",
            "--format",
            "json",
            "-w",
            str(workspace),
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [c["debtor_id"] for c in json.loads(done.stdout)] == ["C1001"]
    # without it, the current folder is not a workspace
    code, _, err = run("cases")
    assert code == EXIT_CONFIG
