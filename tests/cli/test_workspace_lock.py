"""One writer per stage, as an operator meets it: the second `dunning <stage>` gets one line and exit code 8,
and a `dunning run` killed with SIGKILL while it holds the lock leaves nothing that stops the next one.

Real processes on a real workspace, on SQLite and on PostgreSQL (``DUNNING_DATABASE`` points the workspace at
the store under test).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from dunning.cli import cli
from dunning.errors import EXIT_BUSY
from tests.chaos.harness import dunning_executable, ledger_csv

HOLDER = """
import sys, time
from contextlib import ExitStack
from dunning.store import open_store
from dunning.store.locks import STAGES, stage_lock
store = open_store(sys.argv[1])
with ExitStack() as held:
    for stage in STAGES:
        held.enter_context(stage_lock(store, stage))
    print("held", flush=True)
    time.sleep(120)
"""

REFUSAL = re.compile(
    r"error: another `dunning (?P<stage>\w+(?: \w+)?)` is working on this workspace "
    r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, pid (?P<pid>\d+)"
)


def dunning(workspace: Path, store_url: str, *args: str, wait: bool = True) -> subprocess.Popen[str]:
    env = {**os.environ, "DUNNING_DATABASE": store_url, "DUNNING_PAYLINK_SECRET": "x" * 32}
    env.pop("CI", None)
    process = subprocess.Popen([dunning_executable(), "-w", str(workspace), *args], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if wait:
        process.wait(timeout=300)
    return process


def output(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


@contextmanager
def every_stage_held_by_another_process(store_url: str) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, store_url], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        yield child
    finally:
        child.kill()
        child.wait(timeout=30)


@pytest.fixture()
def workspace(tmp_path: Path, store_url: str) -> Path:
    root = tmp_path / "ws"
    code, _, err = output(dunning(root, store_url, "init", str(root), wait=False))
    assert code == 0, err
    return root


# The command line of each stage, and the stage whose lock it takes (`deliver` shares the lock of `letters`).
COMMANDS = {
    "import": (["import", "examples/open-items.csv", "--date", "2026-11-02"], "import"),
    "run": (["run", "--date", "2026-11-02"], "run"),
    "dispatch": (["dispatch", "--date", "2026-11-02", "--receipt-wait", "0"], "dispatch"),
    "letters": (["letters", "--date", "2026-11-02", "--workers", "1"], "letters"),
    "deliver": (["deliver", "--date", "2026-11-02"], "letters"),
    "notify": (["notify", "--date", "2026-11-02"], "notify"),
    "reconcile": (["reconcile", "--fetch", "--date", "2026-11-02"], "reconcile"),
    "acks": (["acks", "--date", "2026-11-02"], "acks"),
    # a review decision writes payments and cases: it waits for no reconcile, and no reconcile for it
    "review accept": (["review", "accept", "1", "--date", "2026-11-02"], "reconcile"),
    "review reject": (["review", "reject", "1", "--date", "2026-11-02"], "reconcile"),
    "plans collect": (["plans", "collect", "--date", "2026-11-02"], "plans collect"),
    "review refund": (["review", "refund", "1", "--date", "2026-11-02"], "reconcile"),
    "review keep": (["review", "keep", "1", "--date", "2026-11-02"], "reconcile"),
    "review ignore": (["review", "ignore", "1", "--date", "2026-11-02"], "reconcile"),
    # bounces write the deliveries, actions and email validity a dispatch writes and reads (issue 15)
    "bounces": (["bounces", "bounces-maildir", "--date", "2026-11-02"], "dispatch"),
    # a plan places the hold the nightly run reads to plan the case's next step
    "plans create": (["plans", "create", "1", "--count", "3", "--date", "2026-11-02"], "run"),
}


def _check_refusal(code: int, out: str, err: str, stage: str, pid: int) -> None:
    assert code == EXIT_BUSY, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line: no traceback, no progress, no partial output
    refused = REFUSAL.fullmatch(lines[0])
    assert refused is not None, lines[0]
    assert refused["stage"] == stage and int(refused["pid"]) == pid


def test_the_second_caller_of_every_stage_gets_one_line_and_exit_code_8(workspace: Path, store_url: str) -> None:
    env = {"DUNNING_DATABASE": store_url, "DUNNING_PAYLINK_SECRET": "x" * 32, "CI": ""}
    for part in ("cur", "new", "tmp"):
        (workspace / "bounces-maildir" / part).mkdir(parents=True)
    with every_stage_held_by_another_process(store_url) as holder:
        # the console script itself, as cron or a person starts it
        code, out, err = output(dunning(workspace, store_url, "run", "--date", "2026-11-02"))
        _check_refusal(code, out, err, "run", holder.pid)
        # and every other stage (in this process, to spare a Python start each)
        for command, (args, stage) in COMMANDS.items():
            args = [str(workspace / a) if a.endswith((".csv", "-maildir")) else a for a in args]
            result = CliRunner().invoke(cli, ["-w", str(workspace), *args], env=env, catch_exceptions=False)
            try:
                _check_refusal(result.exit_code, result.stdout, result.stderr, stage, holder.pid)
            except AssertionError as failed:
                raise AssertionError(f"dunning {command}: {failed}") from None


def _holder_pid(workspace: Path, store_url: str) -> int | None:
    """The pid the store says holds the `run` lock, read the way a refused caller reads it (None: nobody)."""
    if store_url.startswith("sqlite"):
        lock = Path(store_url.split(":///", 1)[1] + ".run.lock")
        data = lock.read_text() if lock.exists() else ""
        return int(json.loads(data)["pid"]) if data else None
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            names = conn.execute(text("SELECT application_name FROM pg_stat_activity WHERE datname = "
                                      "current_database() AND application_name LIKE 'dunning run pid=%'")).scalars()
            pids = [int(name.split("pid=")[1].split()[0]) for name in names]
    finally:
        engine.dispose()
    return pids[0] if pids else None


def test_a_run_killed_while_holding_the_lock_does_not_stop_the_next(workspace: Path, store_url: str) -> None:
    (workspace / "big.csv").write_text(ledger_csv(3000, seed=15))  # a night long enough to be killed in
    code, _, err = output(dunning(workspace, store_url, "import", str(workspace / "big.csv"), "--date", "2026-11-02"))
    assert code == 0, err
    killed = dunning(workspace, store_url, "run", "--date", "2026-11-02", "--format", "json", wait=False)
    deadline = time.monotonic() + 120
    while _holder_pid(workspace, store_url) != killed.pid:
        assert killed.poll() is None, f"the run ended before it was seen holding the lock: {killed.communicate()}"
        assert time.monotonic() < deadline, "the run never took its lock"
        time.sleep(0.02)
    os.kill(killed.pid, signal.SIGKILL)
    assert killed.wait(timeout=30) == -signal.SIGKILL

    code, out, err = output(dunning(workspace, store_url, "run", "--date", "2026-11-02", "--format", "json"))
    assert code == 0, err
    assert json.loads(out)["new_actions"] == 3000  # the killed run recorded nothing; this one planned the night
    code, out, err = output(dunning(workspace, store_url, "run", "--date", "2026-11-02", "--format", "json"))
    assert code == 0 and json.loads(out)["new_actions"] == 0, err
