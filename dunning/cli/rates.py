"""``dunning rates``: the statutory interest-rate tables in force, and which need new rates."""

from __future__ import annotations

from datetime import datetime

import click

from dunning.cli import cli
from dunning.cli.context import date_option, format_option, get_workspace, resolve_date
from dunning.cli.output import console, emit, emit_object, err_console
from dunning.usecases.planning.rates import rates_overview


@cli.command("rates")
@date_option("The day to read the rates on")
@format_option
@click.pass_context
def rates_command(ctx: click.Context, run_date: datetime | None, fmt: str) -> None:
    """List each interest-rate table: its rate on the date, its last period and how far it is verified.

    New semesters' rates go in the workspace's rates.yaml (legal.rates in dunning.yaml); a table not
    verified on the date is a warning here and in every nightly run until its rates are added.
    """
    workspace = get_workspace(ctx)
    overview = rates_overview(workspace, resolve_date(ctx, run_date))
    if fmt == "json":
        emit_object(overview.as_dict(), fmt)
        return
    source = f"built-in tables + {overview.file}" if overview.file else "built-in tables (no rates file)"
    if fmt != "table":
        emit([t.as_dict() for t in overview.tables], fmt)
    else:
        console.print(f"Rates on {overview.day.isoformat()}: {source}", highlight=False)
        rows = [
            {
                "table": t.key,
                "rate": t.rate,
                "since": t.since,
                "last period": f"{t.last_start.isoformat()}: {t.last_rate}",
                "verified through": t.verified_through,
                "status": ("ok" if t.verified else "UNVERIFIED")
                + (f" (follows {t.derived_from})" if t.derived_from else ""),
            }
            for t in overview.tables
        ]
        emit(rows, fmt, title="Interest-rate tables (percent per year)")
    for warning in overview.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
