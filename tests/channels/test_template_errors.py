"""A broken workspace template or brand file: a message naming file, line and key, exit code 3, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning.channels.render import default_templates_dir
from dunning.cli import EXIT_CONFIG, cli
from tests.usecases.messaging.helpers import SECRET, ledger_csv


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    monkeypatch.setenv("DUNNING_WORKSPACE", str(root))
    monkeypatch.setenv("DUNNING_PAYLINK_SECRET", SECRET)
    ledger = ledger_csv(root / "ledger" / "test.csv")
    assert runner.invoke(cli, ["import", str(ledger), "--date", "2026-10-05"]).exit_code == 0
    assert runner.invoke(cli, ["run", "--date", "2026-10-08"]).exit_code == 0
    shutil.copytree(default_templates_dir(), root / "templates")  # the workspace's own templates
    return root


@pytest.mark.parametrize(
    ("broken", "line", "message"),
    [
        ("Hello {{ debtor.name }\n", 1, "template syntax error"),
        ("Line one\nLine two\n{% if %}\n", 3, "template syntax error"),
        ("{{ 1 }}\n{{ 'x' | money }}\n", 2, "template error"),
    ],
)
def test_a_broken_email_template_names_file_and_line(workspace: Path, broken: str, line: int, message: str) -> None:
    for template in (workspace / "templates" / "email").rglob("reminder.txt.j2"):
        template.write_text(broken, encoding="utf-8")

    result = CliRunner().invoke(cli, ["dispatch", "--date", "2026-10-08", "--channel", "email"])

    assert result.exit_code == EXIT_CONFIG, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert f"reminder.txt.j2:{line}: {message}" in result.stderr
    assert "Traceback" not in result.output
