"""A dispute from the pay page as the person handles it on the command line (SQLite and PostgreSQL):
`dunning tasks` shows the debtor's reason and words, `tasks done --keep-hold` keeps the case stopped,
`tasks resume` lifts it, and `--keep-hold` on a task that holds nothing is refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from dunning.cli import EXIT_INPUT
from dunning.store import open_store
from dunning.usecases.paypage.dispute import open_dispute
from tests.cli.test_tasks_cli import run, workspace

__all__ = ["workspace"]


def test_a_person_keeps_a_dispute_on_hold_then_resumes(workspace: tuple[Path, dict[str, str]]) -> None:
    root, env = workspace
    store = open_store(env["DUNNING_DATABASE"])
    try:
        opened = open_dispute(store, 1, "a-link", "not_mine", "Never ordered this.", on_date=date(2026, 12, 8),
                              recorded_at=datetime(2026, 12, 8, 9, tzinfo=UTC))
    finally:
        store.dispose()
    code, out, _ = run("tasks", "--case", "1", "--format", "json", workspace=root, env=env)
    assert code == 0
    [task] = [t for t in json.loads(out) if t["id"] == opened.task_id]
    assert (task["dispute"], task["message"], task["hold"], task["queue"]) == (
        "not_mine", "Never ordered this.", "on", "disputes")
    flow_task = next(t for t in json.loads(out) if t["id"] != opened.task_id)["id"]
    code, _, err = run("tasks", "done", str(flow_task), "--note", "x", "--keep-hold", workspace=root, env=env)
    assert code == EXIT_INPUT and "holds nothing" in err

    code, out, _ = run("tasks", "done", str(opened.task_id), "--note", "asked for the order", "--keep-hold",
                       "--date", "2026-12-09", workspace=root, env=env)
    assert code == 0 and "Hold kept." in out
    assert run("run", "--date", "2026-12-10", workspace=root, env=env)[0] == 0
    code, out, _ = run("case", "1", "--format", "json", workspace=root, env=env)
    assert json.loads(out)["status"] == "on_hold"
    code, out, _ = run("tasks", "resume", str(opened.task_id), "--date", "2026-12-11", workspace=root, env=env)
    assert code == 0 and "lifted" in out
    assert run("run", "--date", "2026-12-11", workspace=root, env=env)[0] == 0
    code, out, _ = run("case", "1", "--format", "json", workspace=root, env=env)
    detail = json.loads(out)
    assert detail["status"] == "open"
    assert "Never ordered this." in next(e["what"] for e in detail["timeline"] if e["kind"] == "dispute_opened")
