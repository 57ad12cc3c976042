"""``notify`` tells its progress: the webhooks settled out of those due, rising to the total; the CLI draws a
bar from it on a terminal and nothing with ``--format json``."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from dunning.cli import EXIT_OK, cli
from dunning.store import Store
from dunning.usecases.notify.run import notify
from tests.usecases.notify.conftest import SECRET, Receiver
from tests.usecases.notify.helpers import NIGHT, import_and_plan, make_workspace


def test_notify_reports_each_webhook_settled_up_to_the_total(tmp_path: Path, store: Store, store_url: str,
                                                              receiver: Receiver) -> None:
    workspace = make_workspace(tmp_path / "ws", store_url, url=receiver.url)
    import_and_plan(store, workspace)
    calls: list[tuple[int, int]] = []
    result = notify(store, workspace, NIGHT, now=datetime.now(UTC),
                    env={"DUNNING_WEBHOOK_SECRET": SECRET}, progress=lambda done, total: calls.append((done, total)))
    assert result.webhooks.counts.delivered == 3 and len(receiver.requests) == 3
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]

    calls.clear()  # nothing due: one call, already complete
    notify(store, workspace, NIGHT, now=datetime.now(UTC),
           env={"DUNNING_WEBHOOK_SECRET": SECRET}, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 0)]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a person's terminal (the bar draws only there), captured."""
    screen = io.StringIO()
    monkeypatch.setattr("dunning.cli.progress.err_console", Console(file=screen, force_terminal=True, width=100))
    monkeypatch.delenv("CI", raising=False)
    return screen


def _notify_cli(store: Store, store_url: str, root: Path, receiver: Receiver, *options: str) -> tuple[int, str, str]:
    workspace = make_workspace(root, store_url, url=receiver.url)
    import_and_plan(store, workspace)
    result = CliRunner().invoke(cli, ["-w", str(root), "notify", "--date", NIGHT.isoformat(), *options],
                                env={"DUNNING_WEBHOOK_SECRET": SECRET}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_with_format_json_nothing_but_the_json_even_on_a_terminal(tmp_path: Path, store: Store, store_url: str,
                                                                 receiver: Receiver, terminal: io.StringIO) -> None:
    code, out, err = _notify_cli(store, store_url, tmp_path / "ws", receiver, "--format", "json")
    assert code == EXIT_OK
    assert json.loads(out)["webhooks"]["delivered"] == 3  # stdout is the JSON and nothing else
    assert terminal.getvalue() == "" and err == ""


def test_a_table_on_a_terminal_gets_the_bar(tmp_path: Path, store: Store, store_url: str, receiver: Receiver,
                                            terminal: io.StringIO) -> None:
    code, _out, _err = _notify_cli(store, store_url, tmp_path / "ws", receiver)
    assert code == EXIT_OK and len(receiver.requests) == 3
    assert "webhooks" in terminal.getvalue() and "━" in terminal.getvalue()  # what the JSON test must not see
