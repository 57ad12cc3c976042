"""The crash test, on demand: kill dunning's commands with SIGKILL at random moments and count the damage.

    python -m tests.chaos.crash                                   # every command, 5 kills each, SQLite
    python -m tests.chaos.crash letters dispatch --kills 100 --batch-size 20 --debtors 150
    python -m tests.chaos.crash night --database postgresql --json > crash.json
    python -m tests.chaos.crash --kills 100 --batch-size 20 --markdown      # the README's table

Real servers on 127.0.0.1 (OpenSSH sftp, SMTP, an HTTP SMS gateway, a webhook receiver) are started and
stopped by the script; PostgreSQL comes from ``DUNNING_TEST_DATABASE_URL`` (an admin URL: one database per
trial is created and dropped). How each number is counted: ``tests/chaos/counting.py``. Exit code 0 when
nothing was lost or applied twice, no letter was in two batches, no batch file was uploaded twice and
re-sent emails/SMS stayed within one per kill with their original ids; 1 otherwise.
"""

from __future__ import annotations

import argparse
import functools
import json
import signal
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from tests.chaos.harness import COMMANDS, CommandResult, Report, Setup, run_chaos
from tests.chaos.table import markdown_table, print_table
from tests.conftest import postgres_admin_url


def verdict(report: Report) -> list[str]:
    """What breaks the issue's "Done when", one line each (empty: the run passed)."""
    problems: list[str] = []
    for result in report.results:
        totals = result.totals()
        name, kills = result.command, totals["kills"]
        letters = totals["letters"]
        if letters["never"]:
            problems.append(f"{name}: {letters['never']} letters never delivered")
        if letters["in_two_batches"]:
            problems.append(f"{name}: {letters['in_two_batches']} letters in two batches")
        if letters["batch_files_twice"]:
            problems.append(f"{name}: {letters['batch_files_twice']} batch files uploaded twice")
        if totals["payments"]["twice"]:
            problems.append(f"{name}: {totals['payments']['twice']} payments applied twice")
        if totals["payments"]["never"]:
            problems.append(f"{name}: {totals['payments']['never']} payments never applied")
        for channel in ("email", "sms", "webhook"):
            tally = totals[channel]
            if tally["never"]:
                problems.append(f"{name}: {tally['never']} {channel} never delivered")
            if channel != "webhook" and tally["beyond_one_per_kill"]:
                problems.append(
                    f"{name}: {tally['extra']} {channel} re-sent over {kills} kills, "
                    f"{tally['beyond_one_per_kill']} beyond one per kill"
                )
            if tally.get("new_id"):
                problems.append(f"{name}: {tally['new_id']} {channel} re-sent with a new id")
            if channel == "webhook" and tally["beyond_one_per_kill"]:
                problems.append(
                    f"{name}: {tally['extra']} webhooks re-posted over {kills} kills, "
                    f"{tally['beyond_one_per_kill']} beyond one per kill"
                )
        if totals["tracebacks"]:
            problems.append(f"{name}: {totals['tracebacks']} runs printed a traceback")
    return problems


def _stop(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def log_counts(log: Path, setup: Setup, result: CommandResult) -> None:
    """One JSON line: the setup and the command's counts over its trials so far."""
    line = {"setup": asdict(setup) | {"admin_url": None}, "totals": result.totals()}
    with log.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.crash", description=__doc__.split("\n")[0])
    parser.add_argument(
        "commands", nargs="*", metavar="COMMAND", help=f"commands to attack (default: all of {', '.join(COMMANDS)})"
    )
    parser.add_argument(
        "--kills",
        type=int,
        default=5,
        help="trials per command (default 5): each killed once at a random moment (a moment after "
        "the run's end misses), its re-run killed again with probability 1/4, then run to "
        "completion; the table counts the kills that landed",
    )
    parser.add_argument(
        "--targeted",
        type=int,
        default=0,
        help="of the trials, how many are killed mid-delivery (after the first batch PDF, the "
        "5th email, the 10th webhook) instead of at a random moment (default 0)",
    )
    parser.add_argument("--seed", type=int, default=15, help="seed of the kill moments and the ledger")
    parser.add_argument("--batch-size", type=int, default=20, help="print.batch_size (default 20)")
    parser.add_argument(
        "--debtors",
        type=int,
        default=90,
        help="debtors in the ledger: half by letter, a quarter each by email and SMS (default 90)",
    )
    parser.add_argument("--workers", type=int, default=1, help="letter rendering processes (default 1)")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.05,
        help="seconds the SMTP server, SMS gateway and webhook receiver take per message",
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the work files here")
    parser.add_argument(
        "--log",
        type=Path,
        default=None,
        help="append each command's counts so far to this file (JSON lines) after every trial, so a run stopped "
        "early still tells what it saw; python -m tests.chaos.table LOG... turns logs into one Markdown table",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the counts as JSON instead of a table")
    output.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    args = parser.parse_args(argv)
    if args.kills < 0 or args.kills > 1000 or args.debtors < 3:
        parser.error("--kills 0..1000 and --debtors >= 3")
    unknown = [c for c in args.commands if c not in COMMANDS]
    if unknown:
        parser.error(f"unknown command {unknown[0]!r}: choose from {', '.join(COMMANDS)}")
    setup = Setup(
        debtors=args.debtors,
        batch_size=args.batch_size,
        workers=args.workers,
        database=args.database,
        latency=args.latency,
        admin_url=postgres_admin_url() if args.database == "postgresql" else None,
        seed=args.seed,
    )
    commands = args.commands or list(COMMANDS)
    # `kill PID` (SIGTERM) stops a long run like Ctrl-C: the servers, the SFTP user and the databases it made
    # are removed on the way out (a background job ignores SIGINT); what --log wrote stays.
    signal.signal(signal.SIGTERM, _stop)
    with tempfile.TemporaryDirectory(prefix="dunning-chaos-") as tmp:
        report = run_chaos(
            args.workdir or Path(tmp),
            commands,
            kills=args.kills,
            setup=setup,
            targeted=args.targeted,
            on_trial=None if args.log is None else functools.partial(log_counts, args.log, setup),
        )
    problems = verdict(report)
    if args.json:
        json.dump(report.as_json() | {"problems": problems}, sys.stdout, indent=2)
        print()
    else:
        if args.markdown:
            print(markdown_table(report), end="")
        else:
            print_table(report)
        for line in problems:
            print(f"FAIL {line}")
        for command, samples in report.failed_samples().items():
            for sample in samples:
                print(f"  {command}: {sample}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
