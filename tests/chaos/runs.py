"""Running ``dunning`` as a subprocess: once (killed with SIGKILL after a delay or on a trigger), in sequence,
or several identical ones at the same moment; each run's exit code, duration and whether it printed a
traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from tests.chaos.workspaces import Workspace, dunning_executable

RUN_TIMEOUT = 300.0  # seconds: no single command may take longer
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")


@dataclass
class RunRecord:
    step: str
    exit_code: int | None  # None: killed
    seconds: float
    traceback: bool
    stderr_tail: str
    started_at: float = 0.0  # time.monotonic() at launch and at exit (run_together)
    ended_at: float = 0.0


Trigger = Callable[[], bool]


def run_cli(
    ws: Workspace,
    args: Sequence[str],
    *,
    kill_after: float | None = None,
    kill_when: Trigger | None = None,
    timeout: float = RUN_TIMEOUT,
) -> RunRecord:
    """Run ``dunning -w ROOT ARGS``; SIGKILL its process group after ``kill_after`` seconds, or as soon as
    ``kill_when()`` holds (polled every 10 ms), if it still runs then."""
    started = time.monotonic()
    with open(ws.root / ".chaos-stderr", "w+b") as err, open(os.devnull, "wb") as out:
        process = subprocess.Popen(
            [dunning_executable(), "-w", str(ws.root), *args],
            stdout=out,
            stderr=err,
            env={**os.environ, **ws.env, "NO_COLOR": "1", "TERM": "dumb"},
            start_new_session=True,
        )
        killed = False
        try:
            while process.poll() is None:
                elapsed = time.monotonic() - started
                if elapsed > timeout:
                    raise RuntimeError(f"dunning {' '.join(args)} ran longer than {timeout:.0f} s")
                if (kill_after is not None and elapsed >= kill_after) or (kill_when is not None and kill_when()):
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    killed = True
                    break
                with suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.01)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # render workers left behind by a dying parent
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return RunRecord(
        args[0],
        None if killed else process.returncode,
        time.monotonic() - started,
        bool(_TRACEBACK.search(stderr)),
        stderr[-600:],
    )


def run_together(ws: Workspace, args: Sequence[str], count: int = 2, timeout: float = RUN_TIMEOUT) -> list[RunRecord]:
    """Start ``count`` identical ``dunning -w ROOT ARGS`` at the same moment, wait for all; one record each."""
    processes: list[tuple[subprocess.Popen[bytes], Any]] = []
    launched: list[float] = []
    started = time.monotonic()
    try:
        for number in range(count):
            err = open(ws.root / f".chaos-stderr-{number}", "w+b")  # noqa: SIM115 - closed below
            launched.append(time.monotonic())
            processes.append(
                (
                    subprocess.Popen(
                        [dunning_executable(), "-w", str(ws.root), *args],
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                        env={**os.environ, **ws.env, "NO_COLOR": "1", "TERM": "dumb"},
                        start_new_session=True,
                    ),
                    err,
                )
            )
        ended: dict[int, float] = {}
        while len(ended) < len(processes):  # note each exit as it happens
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"dunning {' '.join(args)} ran longer than {timeout:.0f} s")
            for number, (process, _err) in enumerate(processes):
                if number not in ended and process.poll() is not None:
                    ended[number] = time.monotonic()
            time.sleep(0.01)
        records = []
        for number, (process, err) in enumerate(processes):
            err.seek(0)
            stderr = err.read().decode(errors="replace")
            records.append(
                RunRecord(
                    args[0],
                    process.returncode,
                    ended[number] - launched[number],
                    bool(_TRACEBACK.search(stderr)),
                    stderr[-2000:],
                    launched[number],
                    ended[number],
                )
            )
        return records
    finally:
        for process, err in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            err.close()


def run_sequence(
    ws: Workspace, steps: list[list[str]], kill_after: float | None, kill_when: Trigger | None = None
) -> tuple[list[RunRecord], bool]:
    """Run ``steps`` in order (stop at a failure), killing whatever runs at ``kill_after`` s (counted from the
    first step's start) or when ``kill_when()`` holds; (records, killed)."""
    records: list[RunRecord] = []
    started = time.monotonic()
    for args in steps:
        left = None if kill_after is None else max(0.0, kill_after - (time.monotonic() - started))
        record = run_cli(ws, args, kill_after=left, kill_when=kill_when)
        records.append(record)
        if record.exit_code is None:
            return records, True
        if record.exit_code not in (0, 1):
            break
    return records, False
