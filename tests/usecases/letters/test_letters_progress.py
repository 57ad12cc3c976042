"""Progress of ``letters`` and ``deliver`` (issue 15, item 7): counts from the use cases, a bar only on a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from dunning.cli import cli, progress
from dunning.store import open_store
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from tests.usecases.letters.helpers import LETTER_DAY, letter_actions, make_workspace, plan_letters


def _rising_to_the_end(calls: list[tuple[int, int]]) -> None:
    assert calls, "progress was never reported"
    totals = {total for _, total in calls}
    assert len(totals) == 1
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[0] == 0 and done[-1] == calls[-1][1]


def test_render_and_send_report_letters_and_batches_as_they_go(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", batch_size=2)
    store = open_store(workspace.database_url)
    try:
        plan_letters(store, workspace)
        count = len(letter_actions(store))
        rendered: list[tuple[int, int]] = []
        render_letters(store, workspace, LETTER_DAY, workers=1, chunk_size=2,
                       progress=lambda done, total: rendered.append((done, total)))
        _rising_to_the_end(rendered)
        assert rendered[-1] == (count, count) and len(rendered) > 2  # reported along the way, not only at the end
        delivered: list[tuple[int, int]] = []
        sent = send_letters(store, workspace, LETTER_DAY, progress=lambda done, total: delivered.append((done, total)))
        _rising_to_the_end(delivered)
        assert delivered[-1] == (len(sent.batches), len(sent.batches)) and len(sent.batches) >= 3
        assert [d for d, _ in delivered] == list(range(len(sent.batches) + 1))  # one step per batch
    finally:
        store.dispose()


def _planned(root: Path) -> Path:
    workspace = make_workspace(root, batch_size=2)
    store = open_store(workspace.database_url)
    try:
        plan_letters(store, workspace)
    finally:
        store.dispose()
    return root


@pytest.fixture()
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a terminal: what the bar draws lands in the returned buffer."""
    screen = io.StringIO()
    monkeypatch.setattr(progress, "err_console", Console(file=screen, force_terminal=True, width=100))
    monkeypatch.delenv("CI", raising=False)
    return screen


def test_letters_and_deliver_show_a_bar_on_a_terminal_only(tmp_path: Path, terminal: io.StringIO,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    quiet, shown = (_planned(tmp_path / name) for name in ("quiet", "shown"))
    runner = CliRunner()
    base = ["-w", str(quiet)]
    as_json = runner.invoke(cli, [*base, "letters", "--date", "2026-11-02", "--workers", "1", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["letters_sent"] >= 3 and terminal.getvalue() == ""  # json: no bar

    monkeypatch.setenv("CI", "true")
    in_ci = runner.invoke(cli, [*base, "deliver", "--date", "2026-11-02"])
    assert in_ci.exit_code == 0, in_ci.output
    assert terminal.getvalue() == ""  # under CI: no bar

    monkeypatch.delenv("CI")
    base = ["-w", str(shown)]
    table = runner.invoke(cli, [*base, "letters", "--date", "2026-11-02", "--workers", "1"])
    assert table.exit_code == 0, table.output
    drawn = terminal.getvalue()
    assert "letters_sent" in table.output or "letters sent" in table.output.lower()
    assert "Rendering letters" in drawn and "Delivering batches" in drawn
    assert "Rendering letters" not in table.output  # the bar goes to stderr, never into the output
    terminal.truncate(0)
    deliver = runner.invoke(cli, [*base, "deliver", "--date", "2026-11-03"])
    assert deliver.exit_code == 0, deliver.output
    assert "Delivering batches" in terminal.getvalue()
