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


EVENT_FLOW = """\
name: quick
version: 1
steps:
  - {key: r1, day: 3, action: send_email}
  - {key: r2, day: 200, action: send_email}
events:
  dispute_opened: {action: tag_case, settings: {tag: contested}}
"""


def test_a_flow_follows_up_dispute_opened_a_question_at_once_a_dispute_once_lifted(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    root, env = workspace
    (root / "flows" / "quick.yaml").write_text(EVENT_FLOW, encoding="utf-8")
    store = open_store(env["DUNNING_DATABASE"])
    try:
        question = open_dispute(store, 1, "link-1", "other", "Which invoice is this?", on_date=date(2026, 12, 8),
                                recorded_at=datetime(2026, 12, 8, 9, tzinfo=UTC))
        dispute = open_dispute(store, 2, "link-2", "wrong_amount", "", on_date=date(2026, 12, 8),
                               recorded_at=datetime(2026, 12, 8, 9, tzinfo=UTC))
    finally:
        store.dispose()

    def tagged(day: str) -> list[int]:
        code, out, err = run("run", "--date", day, "--list", "--format", "json", workspace=root, env=env)
        assert code == 0, err
        return [a["case"] for a in json.loads(out)["actions"] if a["step"].startswith("on:dispute_opened:")]

    assert tagged("2026-12-08") == [1]  # the question: the flow goes on, and reacts to it
    assert tagged("2026-12-09") == []
    assert question.held is False and dispute.held is True
    code, _, err = run("tasks", "done", str(dispute.task_id), "--note", "corrected", "--date", "2026-12-10",
                       workspace=root, env=env)
    assert code == 0, err
    assert tagged("2026-12-10") == [2]  # the dispute: held until a person closed it, then followed up
