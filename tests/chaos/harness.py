"""Crash harness: run dunning's commands against real servers, SIGKILL them at random moments, count.

A *trial* starts from a fresh copy of a prepared workspace (and of its database), runs one command
(``letters``, ``dispatch``, ``notify``, ``reconcile``) or the whole night (``import``, ``run``,
``dispatch``, ``letters``, ``notify`` in order) as ``dunning`` subprocesses, and kills it with SIGKILL
(the whole process group: the command and its render workers, as ``kill -9`` of a container or a
power cut would) after a delay drawn uniformly between 0 and the command's measured undisturbed
duration, so kills fall before, during and after uploads and sends. It then runs the command again
until one run ends without being killed (the re-run itself may be killed once more, seeded), and
counts what the servers received against what the store planned. Only the CLI and SQL over the
workspace's database are used: nothing of dunning is imported.

Two kinds of kill moment: *random* (the above; what ``python -m tests.chaos.crash`` does by default) and
*targeted* (``targeted_trigger``: as soon as the servers have seen the first batch PDF put in place, the 5th
email or the 10th webhook; 60 % into ``reconcile``), which the short pytest uses so that a few kills are
sure to land mid-delivery. A kill's moment is its delay from the start of the first step (or the trigger);
random kills often land in the interpreter's start-up, which is part of "before the sends". The SMTP
server, the SMS gateway and the webhook receiver answer after ``Setup.latency`` seconds (50 ms by
default), like servers across a network, so the sending phase is not a vanishing part of a run.


How each number is counted: :mod:`tests.chaos.counting`. The parts: :mod:`tests.chaos.workspaces` (ledger,
flow, databases, the workspace copies), :mod:`tests.chaos.preparing` (the templates), :mod:`tests.chaos.runs`
(running and killing ``dunning``), :mod:`tests.chaos.servers` (the servers), :mod:`tests.chaos.table` (output).
This module runs the trials and sums them. Besides the deliveries: every run's exit code, and every stderr
that holds a Python traceback.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from tests.chaos.counting import (
    EVER,
    LetterTally,
    PaymentTally,
    Tally,
    count_email,
    count_letters,
    count_payments,
    count_sms,
    count_webhooks,
)
from tests.chaos.preparing import Setup, make_template, write_bank_files
from tests.chaos.runs import RunRecord, Trigger, run_cli, run_sequence, run_together
from tests.chaos.servers import Servers, start_servers
from tests.chaos.workspaces import (
    FLOW,
    IMPORTED,
    NIGHT,
    PAID_ON,
    PLAN_NIGHT,
    Database,
    Workspace,
    command_steps,
    dunning_executable,
    ledger_csv,
)

# The names the tests and the script import from here (the harness's face).
__all__ = [
    "COMMANDS",
    "FLOW",
    "IMPORTED",
    "NIGHT",
    "PAID_ON",
    "CommandResult",
    "Database",
    "LetterTally",
    "PaymentTally",
    "Report",
    "RunRecord",
    "Setup",
    "Tally",
    "Trial",
    "Workspace",
    "attack",
    "command_steps",
    "count",
    "count_email",
    "count_letters",
    "count_payments",
    "count_sms",
    "count_webhooks",
    "dunning_executable",
    "ledger_csv",
    "make_template",
    "run_chaos",
    "run_cli",
    "run_sequence",
    "run_together",
    "write_bank_files",
]

COMMANDS = ("letters", "dispatch", "notify", "reconcile", "night", "plans")


@dataclass
class Trial:
    command: str
    targeted: bool = False
    kills: int = 0
    kill_delays: list[float] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    email: Tally = field(default_factory=Tally)
    sms: Tally = field(default_factory=Tally)
    webhook: Tally = field(default_factory=Tally)
    letters: LetterTally = field(default_factory=LetterTally)
    payments: PaymentTally = field(default_factory=PaymentTally)
    uncounted: str = ""  # why the store could not be counted (a re-run that never got it working), if it could not

    @property
    def tracebacks(self) -> int:
        return sum(1 for r in self.runs if r.traceback)

    @property
    def failed_runs(self) -> int:
        """Runs that ended (not killed) with an exit code other than 0."""
        return sum(1 for r in self.runs if r.exit_code not in (None, 0))


def count(trial: Trial, ws: Workspace, servers: Servers) -> None:
    since = PLAN_NIGHT if trial.command == "plans" else EVER
    if trial.command in ("dispatch", "night", "plans"):
        trial.email = count_email(ws, servers, since)
        trial.sms = count_sms(ws, servers, since)
    if trial.command in ("notify", "night"):
        trial.webhook = count_webhooks(ws, servers)
    if trial.command in ("letters", "night", "plans"):
        trial.letters = count_letters(ws, servers, since)
    if trial.command == "reconcile":
        trial.payments = count_payments(ws)


@dataclass
class CommandResult:
    command: str
    duration: float = 0.0  # the undisturbed run, seconds
    trials: list[Trial] = field(default_factory=list)
    baseline: Trial | None = None

    def totals(self) -> dict[str, Any]:
        email, sms, webhook, letters, payments = Tally(), Tally(), Tally(), LetterTally(), PaymentTally()
        # re-sends beyond one per kill, trial by trial (the issue allows at most one message in flight per kill)
        beyond = {
            channel: sum(max(0, getattr(t, channel).extra - t.kills) for t in self.trials)
            for channel in ("email", "sms", "webhook")
        }
        for trial in self.trials:
            email.add(trial.email)
            sms.add(trial.sms)
            webhook.add(trial.webhook)
            letters.add(trial.letters)
            payments.add(trial.payments)
        return {
            "command": self.command,
            "trials": len(self.trials),
            "kills": sum(t.kills for t in self.trials),
            "undisturbed_seconds": round(self.duration, 2),
            "failed_runs": sum(t.failed_runs for t in self.trials),
            "uncounted_trials": sum(1 for t in self.trials if t.uncounted),
            "tracebacks": sum(t.tracebacks for t in self.trials),
            "email": asdict(email) | {"beyond_one_per_kill": beyond["email"]},
            "sms": asdict(sms) | {"beyond_one_per_kill": beyond["sms"]},
            "webhook": asdict(webhook) | {"beyond_one_per_kill": beyond["webhook"]},
            "letters": asdict(letters),
            "payments": asdict(payments),
            "baseline_clean": self.baseline is not None and _clean(self.baseline),
        }


def _clean(trial: Trial) -> bool:
    tallies = (trial.email, trial.sms, trial.webhook, trial.letters)
    return (
        all(t.never == 0 and t.extra == 0 for t in tallies)
        and trial.payments.twice == 0
        and trial.payments.never == 0
        and trial.letters.batch_files_twice == 0
        and trial.failed_runs == 0
    )


@dataclass
class Report:
    setup: Setup
    results: list[CommandResult]

    def as_json(self) -> dict[str, Any]:
        return {
            "setup": asdict(self.setup) | {"admin_url": None},
            "commands": [r.totals() for r in self.results],
            "trials": {
                r.command: [
                    {
                        "targeted": t.targeted,
                        "kills": t.kills,
                        "kill_delays": t.kill_delays,
                        "exits": [(run.step, run.exit_code) for run in t.runs],
                    }
                    for t in r.trials
                ]
                for r in self.results
            },
            "failed_run_samples": self.failed_samples(),
        }

    def failed_samples(self, limit: int = 3) -> dict[str, list[str]]:
        samples: dict[str, list[str]] = {}
        for result in self.results:
            for trial in result.trials:
                for run in trial.runs:
                    if run.exit_code not in (None, 0) and len(samples.setdefault(result.command, [])) < limit:
                        tail = " ".join(run.stderr_tail.split())[-240:]
                        samples[result.command].append(f"{run.step} exit {run.exit_code}: ...{tail}")
        return samples


def targeted_trigger(command: str, servers: Servers) -> Trigger | None:
    """A kill in the middle of the command's deliveries, decided by what the servers have seen so far."""
    if command == "letters":  # the first batch's PDF is in place, the rest of the upload is to come
        return lambda: any(name.endswith(".pdf") for name in servers.uploads.placed())
    if command in ("dispatch", "night", "plans"):  # five emails accepted, more to send
        return lambda: len(servers.smtp.recorder.messages) >= 5
    if command == "notify":  # ten webhooks answered, more to post
        return lambda: len(servers.receiver.requests) >= 10
    return None  # reconcile talks to no server: a kill at 60 % of its undisturbed duration instead


def attack(
    command: str,
    template: Workspace,
    servers: Servers,
    database: Database,
    workdir: Path,
    *,
    kills: int,
    rng: random.Random,
    workers: int,
    targeted: int = 0,
    second_kill: float = 0.25,
    on_trial: Callable[[CommandResult], None] | None = None,
) -> CommandResult:
    """Measure ``command`` undisturbed once, then ``kills`` trials each killed once (or twice), re-run, counted.

    The first ``targeted`` trials are killed by ``targeted_trigger`` (mid-delivery, the moment the issue's
    failures need) instead of at a random moment; their re-runs are killed at random like the others.
    """
    result = CommandResult(command)
    steps_for = lambda ws: command_steps(command, ws, workers)  # noqa: E731
    # the undisturbed run: its duration bounds the kill delays, its counts show the set-up is sound
    servers.reset()
    ws = template.copy(workdir / f"{command}-baseline", database)
    started = time.monotonic()
    records, _ = run_sequence(ws, steps_for(ws), None)
    result.duration = time.monotonic() - started
    baseline = Trial(command, runs=records)
    count(baseline, ws, servers)
    result.baseline = baseline
    shutil.rmtree(ws.root, ignore_errors=True)
    database.drop(ws.database_url)
    for number in range(kills):
        servers.reset()
        ws = template.copy(workdir / f"{command}-{number:03d}", database)
        trial = Trial(command, targeted=number < targeted)
        delay: float | None = rng.uniform(0, result.duration)
        trigger = targeted_trigger(command, servers) if trial.targeted else None
        if trial.targeted:
            delay = None if trigger is not None else 0.6 * result.duration
        allowed_kills = 2 if rng.random() < second_kill else 1
        for _attempt in range(4):  # bounded: at most two kills, then runs to completion
            if trial.kills < allowed_kills:
                records, killed = run_sequence(ws, steps_for(ws), delay, trigger)
            else:
                records, killed = run_sequence(ws, steps_for(ws), None)
            trial.runs.extend(records)
            if not killed:
                break
            trial.kills += 1
            trial.kill_delays.append(round(sum(r.seconds for r in records), 3))
            delay, trigger = rng.uniform(0, result.duration), None
        servers.watcher.stop()
        servers.watcher.start()
        try:
            count(trial, ws, servers)
        except SQLAlchemyError as exc:  # the store is unusable even after the re-runs: a failure to report, not a crash
            trial.uncounted = f"{exc.__class__.__name__}: {getattr(exc, 'orig', exc)}"
        result.trials.append(trial)
        if on_trial is not None:  # a long run's counts so far survive its being stopped
            on_trial(result)
        shutil.rmtree(ws.root, ignore_errors=True)
        database.drop(ws.database_url)
    return result


def run_chaos(
    workdir: Path,
    commands: Sequence[str],
    *,
    kills: int,
    setup: Setup,
    targeted: int = 0,
    on_trial: Callable[[CommandResult], None] | None = None,
) -> Report:
    """Start the servers, prepare the templates, attack each command; everything stopped and removed after.

    ``on_trial(result)`` is called after each trial with the command's results so far."""
    rng = random.Random(setup.seed)
    database = Database(setup.database, setup.admin_url)
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[CommandResult] = []
    try:
        with start_servers(workdir / "servers", setup.latency) as servers:
            templates: dict[str, Workspace] = {}
            for command in commands:
                stage = {"night": "fresh", "plans": "plans"}.get(command, "planned")
                if stage not in templates:
                    templates[stage] = make_template(
                        workdir / f"template-{stage}", servers, setup, database, stage=stage
                    )
                results.append(
                    attack(
                        command,
                        templates[stage],
                        servers,
                        database,
                        workdir,
                        kills=kills,
                        rng=rng,
                        workers=setup.workers,
                        targeted=targeted,
                        on_trial=on_trial,
                    )
                )
    finally:
        database.drop_all()
    return Report(setup, results)
