"""`dunning tasks` and `dunning tasks done` as a user runs them (SQLite and PostgreSQL): list, filters,
formats, closing with a note, and the exit codes (7 for an unknown task, 4 for one already closed)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning.cli import EXIT_INPUT, EXIT_NOT_FOUND, cli

FLOW = """\
name: quick
version: 1
steps:
  - {key: r1, day: 3, action: send_email}
  - {key: review, after: 0, action: manual_task, settings: {title: "Hand over or go to court?", due_days: 2}}
  - {key: call, after: 1, action: phone_call_task, settings: {queue: collections}}
"""
LEDGER = (
    "debtor_id,name,type,country,language,email,phone,street,postal_code,city,invoice_id,due_date,amount\n"
    "T1,Jan Peeters,person,BE,nl,jan@example.be,+32470000001,Kerkstraat 1,2000,Antwerpen,I1,2026-08-01,500.00\n"
    "T2,Marie Dubois,person,BE,fr,marie@example.be,+32470000002,Rue Haute 2,1000,Bruxelles,I2,2026-08-01,300.00\n"
)


@pytest.fixture()
def workspace(tmp_path: Path, store_url: str) -> tuple[Path, dict[str, str]]:
    env = {"DUNNING_DATABASE": store_url}
    root = tmp_path / "ws"
    assert run("init", str(root), env=env)[0] == 0
    (root / "flows" / "quick.yaml").write_text(FLOW, encoding="utf-8")
    (root / "flows" / "assignment.yaml").write_text("assignment: {default: quick}\n", encoding="utf-8")
    (root / "aged.csv").write_text(LEDGER, encoding="utf-8")
    assert run("import", str(root / "aged.csv"), "--date", "2026-12-07", workspace=root, env=env)[0] == 0
    code, _, err = run("run", "--date", "2026-12-07", workspace=root, env=env)
    assert code == 0, err
    return root, env


def run(*args: str, workspace: Path | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    prefix = ["--workspace", str(workspace)] if workspace else []
    result = CliRunner().invoke(cli, [*prefix, *args], catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_tasks_lists_what_waits_for_a_person_and_done_closes_it(workspace: tuple[Path, dict[str, str]]) -> None:
    root, env = workspace
    code, out, _ = run("tasks", "--format", "json", workspace=root, env=env)
    assert code == 0
    tasks = json.loads(out)
    assert [(t["case"], t["kind"], t["step"], t["since"], t["due"], t["status"]) for t in tasks] == [
        (1, "manual", "review", "2026-12-07", "2026-12-09", "open"),
        (2, "manual", "review", "2026-12-07", "2026-12-09", "open"),
    ]
    assert tasks[0]["debtor"] == "Jan Peeters" and tasks[0]["title"] == "Hand over or go to court?"
    code, out, _ = run("tasks", workspace=root, env=env)
    assert code == 0 and "Hand over" in out and "Dubois" in out and "review" in out  # folded to the width
    code, out, _ = run("tasks", "--format", "csv", "--case", "2", workspace=root, env=env)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["id"], r["case"], r["kind"], r["since"], r["due"]) for r in rows] == [
        (str(tasks[1]["id"]), "2", "manual", "2026-12-07", "2026-12-09")
    ]
    code, out, _ = run("tasks", "--format", "csv", "--kind", "call", workspace=root, env=env)
    assert code == 0 and out.startswith("id,case,debtor,") and len(out.splitlines()) == 1  # header only
    # the machine does not close them: the next nights plan nothing past the review
    assert run("run", "--date", "2026-12-09", "--format", "json", workspace=root, env=env)[0] == 0
    assert len(json.loads(run("tasks", "--format", "json", workspace=root, env=env)[1])) == 2

    first = str(tasks[0]["id"])
    code, out, err = run(
        "tasks",
        "done",
        first,
        "--note",
        "go on with a call",
        "--by",
        "alice",
        "--date",
        "2026-12-09",
        workspace=root,
        env=env,
    )
    assert code == 0, err
    assert f"Task {first}" in out and "closed as done on 2026-12-09 by alice" in out
    code, out, _ = run("case", "1", "--format", "json", workspace=root, env=env)
    timeline = json.loads(out)["timeline"]
    assert {"date": "2026-12-09", "kind": "task_done"}.items() <= next(
        e for e in timeline if e["kind"] == "task_done"
    ).items()
    assert "closed as done by alice: go on with a call" in next(e["what"] for e in timeline if e["kind"] == "task_done")
    # the flow moves on from the closed review: the call, one day after it was opened, not before it was closed
    code, out, _ = run("run", "--date", "2026-12-10", "--format", "json", workspace=root, env=env)
    assert code == 0 and json.loads(out)["by_action"] == {"phone_call_task": 1}
    code, out, _ = run("tasks", "--kind", "call", "--format", "json", workspace=root, env=env)
    (call,) = json.loads(out)
    assert (call["case"], call["kind"], call["since"], call["due"]) == (1, "call", "2026-12-10", "2026-12-15")
    code, out, _ = run("tasks", "--all", "--format", "json", workspace=root, env=env)
    closed = next(t for t in json.loads(out) if str(t["id"]) == first)
    assert (closed["status"], closed["closed_by"], closed["note"]) == ("done", "alice", "go on with a call")


def test_tasks_done_exit_codes(workspace: tuple[Path, dict[str, str]]) -> None:
    root, env = workspace
    code, _, err = run("tasks", "done", "424242", "--note", "x", workspace=root, env=env)
    assert code == EXIT_NOT_FOUND and "error: no task 424242" in err
    task_id = str(json.loads(run("tasks", "--format", "json", workspace=root, env=env)[1])[0]["id"])
    code, _, err = run("tasks", "done", task_id, workspace=root, env=env)
    assert code == 2 and "--note" in err  # the note is required
    code, out, _ = run(
        "tasks",
        "done",
        task_id,
        "--note",
        "ok",
        "--by",
        "bob",
        "--date",
        "2026-12-08",
        "--format",
        "json",
        workspace=root,
        env=env,
    )
    assert code == 0 and json.loads(out)["status"] == "done"
    code, _, err = run("tasks", "done", task_id, "--note", "again", workspace=root, env=env)
    assert code == EXIT_INPUT and f"task {task_id} is already closed (done on 2026-12-08 by bob)" in err
    # an id of an action that is not a task is not found either
    code, _, err = run("tasks", "done", "1", "--note", "x", workspace=root, env=env)
    assert code == EXIT_NOT_FOUND
