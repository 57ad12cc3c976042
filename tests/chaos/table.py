"""The crash test's results as a table: on a terminal (rich) or as Markdown (for the README).

The rows are made from each command's totals (:meth:`CommandResult.totals`), so they can also come from the
JSON lines ``python -m tests.chaos.crash --log FILE`` writes; several logs (shards of one run, started with
different seeds side by side) sum into one table::

    python -m tests.chaos.table crash-a.log crash-b.log     # one Markdown table per batch size
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tests.chaos.harness import Report

TABLE_COLUMNS = (
    "command",
    "channel",
    "trials",
    "kills",
    "planned",
    "once",
    "twice",
    "extra",
    "never",
    "new id",
    "notes",
)
CHANNELS = {
    "letters": ["letters"],
    "dispatch": ["email", "sms"],
    "notify": ["webhook"],
    "reconcile": ["payments"],
    "night": ["email", "sms", "letters", "webhook"],
    "plans": ["email", "sms", "letters"],
}


def rows_of(every_totals: Iterable[dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per command and channel, from each command's totals."""
    rows: list[tuple[str, ...]] = []
    for totals in every_totals:
        channels = CHANNELS[totals["command"]]
        for channel in channels:
            t = totals[channel]
            notes = []
            if channel == "letters":
                notes.append(
                    f"in two batches {t['in_two_batches']}, batch files uploaded twice "
                    f"{t['batch_files_twice']} (listing saw {t['rewritten_seen']}), "
                    f"batches left unready {t['pending_batches']}"
                )
            if "beyond_one_per_kill" in t:
                notes.append(f"re-sent beyond one per kill {t['beyond_one_per_kill']}")
            if channel == channels[0]:
                notes.append(
                    f"failed runs {totals['failed_runs']}, tracebacks {totals['tracebacks']}, "
                    + (f"trials whose store could not be read {totals['uncounted_trials']}, "
                       if totals.get("uncounted_trials") else "")
                    + f"undisturbed {totals['undisturbed_seconds']} s, baseline "
                    f"{'clean' if totals['baseline_clean'] else 'NOT clean'}"
                )
            rows.append(
                (
                    totals["command"],
                    channel,
                    str(totals["trials"]),
                    str(totals["kills"]),
                    str(t["planned"]),
                    str(t["once"]),
                    str(t["twice"]),
                    str(t.get("extra", t["twice"])),
                    str(t["never"]),
                    str(t.get("new_id", "-")),
                    "; ".join(notes),
                )
            )
    return rows


def table_rows(report: Report) -> list[tuple[str, ...]]:
    return rows_of(result.totals() for result in report.results)


def print_table(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"dunning crash test (seed {report.setup.seed}, {report.setup.database}, "
        f"batch_size {report.setup.batch_size}, {report.setup.debtors} debtors)"
    )
    for column in TABLE_COLUMNS:
        table.add_column(column, overflow="fold")
    for row in table_rows(report):
        table.add_row(*row)
    Console(width=200).print(table)


def _markdown(caption: str, rows: Sequence[tuple[str, ...]]) -> str:
    lines = [caption, "", "| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "|".join("---" for _ in TABLE_COLUMNS) + "|"]
    lines.extend("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def _caption(setup: dict[str, Any], seeds: Sequence[int]) -> str:
    seed = f"Seed {seeds[0]}" if len(seeds) == 1 else f"Seeds {', '.join(map(str, seeds))} (one shard each, summed)"
    return (
        f"{seed}, {setup['database']}, `print.batch_size` {setup['batch_size']}, {setup['debtors']} debtors, "
        f"{setup['workers']} render worker(s), server latency {setup['latency']} s."
    )


def markdown_table(report: Report) -> str:
    """The table in Markdown (a caption line naming seed, store, batch size and debtors, then the rows)."""
    setup = report.setup
    return _markdown(_caption(vars(setup), [setup.seed]), table_rows(report))


def _summed(a: Any, b: Any, key: str = "") -> Any:
    if isinstance(a, dict):
        return {k: _summed(a[k], b[k], k) if k in b else a[k] for k in a}  # a key newer logs have
    if isinstance(a, bool):
        return a and b  # baseline_clean: every shard's baseline
    if key == "undisturbed_seconds":
        return max(a, b)
    if isinstance(a, int | float) and not isinstance(a, bool):
        return a + b
    return a  # the command's name


def markdown_from_logs(paths: Sequence[Path]) -> str:
    """Each log's last counts per command, summed over the logs of one batch size: one table per batch size."""
    latest: dict[tuple[Path, str], dict[str, Any]] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                latest[(path, entry["totals"]["command"])] = entry
    groups: dict[tuple[str, int, int], dict[str, Any]] = {}
    for entry in latest.values():
        setup = entry["setup"]
        key = (setup["database"], setup["batch_size"], setup["debtors"])
        group = groups.setdefault(key, {"setup": setup, "seeds": set(), "totals": {}})
        group["seeds"].add(setup["seed"])
        command = entry["totals"]["command"]
        known = group["totals"].get(command)
        group["totals"][command] = entry["totals"] if known is None else _summed(known, entry["totals"])
    tables = []
    for group in groups.values():
        every = sorted(group["totals"].values(), key=lambda t: list(CHANNELS).index(t["command"]))
        tables.append(_markdown(_caption(group["setup"], sorted(group["seeds"])), rows_of(every)))
    return "\n".join(tables)


if __name__ == "__main__":
    print(markdown_from_logs([Path(p) for p in sys.argv[1:]]), end="")
