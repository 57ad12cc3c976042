"""Printing listings as a table (rich), JSON or CSV, and messages to stderr."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from dunning.csvcells import safe_row

FORMATS = ("table", "json", "csv")
_MONEY_COLUMNS = frozenset({"principal", "costs", "interest", "paid", "total_due", "credit"})
console = Console()
err_console = Console(stderr=True)


def emit(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    *,
    title: str | None = None,
    columns: Sequence[str] | None = None,
    compact: bool = False,
) -> None:
    """Print ``rows`` (dicts of plain values) in the chosen format on stdout.

    ``compact``: a table of many columns drawn without vertical lines, so it fits a terminal.
    """
    if fmt == "json":
        sys.stdout.write(json.dumps(list(rows), indent=2, ensure_ascii=False, default=str) + "\n")
        return
    keys = list(columns or (rows[0].keys() if rows else []))
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(safe_row({k: "" if row.get(k) is None else row.get(k) for k in keys}))
        return
    table = (
        Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
        if compact
        else Table(title=title, show_lines=False, header_style="bold")
    )
    for key in keys:
        money = "amount" in key or key in _MONEY_COLUMNS
        table.add_column(key.replace("_", " "), justify="right" if money else "left", overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(k) is None else str(row.get(k)) for k in keys))
    console.print(table)


def emit_object(data: dict[str, Any], fmt: str, *, title: str | None = None) -> None:
    """Print one record: JSON as an object, else a two-column table."""
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    emit([{"key": k, "value": v} for k, v in data.items()], fmt, title=title)
