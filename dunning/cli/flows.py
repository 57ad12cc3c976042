"""Flow commands: ``dunning run``, ``dunning flows check``, ``dunning actions``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dunning.cli import EXIT_PROBLEMS, cli
from dunning.cli.context import date_option, format_option, get_store, get_workspace, resolve_date
from dunning.cli.output import console, emit, emit_object, err_console
from dunning.config import CONFIG_FILE
from dunning.domain.legal import ALL_PACKS
from dunning.domain.legal.compliance import check_flow_set
from dunning.domain.planning.actions import catalogue_rows
from dunning.domain.planning.case_state import CaseState
from dunning.domain.planning.flows import Problem
from dunning.domain.plans.policy import check_policy
from dunning.errors import ConfigError, FlowError
from dunning.usecases.planning.night import load_flows, run_night
from dunning.usecases.planning.rates import workspace_rates


def _progress(states: Iterable[CaseState], total: int) -> Iterable[CaseState]:
    columns = (TextColumn("planning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True, disable=total < 2000) as progress:
        yield from progress.track(states, total=total)


def _grouped(warnings: Iterable[str]) -> list[tuple[str, int]]:
    """The same warning for many cases once, with a count ("case 12: rate table ..." → "rate table ...")."""
    counts: dict[str, int] = {}
    for warning in warnings:
        text = warning.split(": ", 1)[1] if warning.startswith("case ") and ": " in warning else warning
        counts[text] = counts.get(text, 0) + 1
    return list(counts.items())


@cli.command("run")
@date_option("The night to plan")
@click.option("--dry-run", is_flag=True, help="Print what would be planned; record nothing.")
@click.option("--list", "show_list", is_flag=True, help="List every new action, not only the counts.")
@format_option
@click.pass_context
def run_command(ctx: click.Context, run_date: datetime | None, dry_run: bool, show_list: bool, fmt: str) -> None:
    """Plan every action due on the date: what goes to whom, on which channel, and why.

    Running the same date twice adds nothing; a run after missed nights catches up, keeping the
    gaps the flow and the law ask for. Letters, emails and SMS are planned here and sent by the
    channel stages.
    """
    workspace = get_workspace(ctx)
    flows, problems = load_flows(workspace.flows_dir)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise FlowError("\n".join(str(p) for p in errors))
    creditor = workspace.config.creditor
    result = run_night(
        get_store(ctx),
        flows,
        resolve_date(ctx, run_date),
        creditor_country=creditor.address.country,
        creditor_language=creditor.language,
        dry_run=dry_run,
        progress=_progress,
        rates=workspace_rates(workspace),
        write_off=workspace.config.bank.write_off_tolerance(),
        timezone=creditor.timezone,
        plan_policy=workspace.config.plans.policy(),
    )
    summary = result.summary()
    if fmt == "json":
        emit_object({**summary, "actions": list(result.planned)} if (dry_run or show_list) else summary, fmt)
    else:
        title = f"{'Dry run' if dry_run else 'Run'} {summary['run_date']}: {summary['new_actions']} new actions"
        if dry_run or show_list:
            emit(
                list(result.planned),
                fmt,
                title=title,
                columns=["case", "debtor_id", "action", "channel", "step", "amount", "reason"],
            )
        emit([{"action": k, "count": v} for k, v in summary["by_action"].items()], fmt, title="Per action")
        emit([{"channel": k, "count": v} for k, v in summary["by_channel"].items()], fmt, title="Per channel")
        if summary["previous_run"] and summary["change_since_previous_run"]:
            console.print(f"Since the run of {summary['previous_run']}: {summary['change_since_previous_run']}")
        for warning, count in _grouped(result.warnings):
            err_console.print(
                f"[yellow]warning:[/] {warning}" + (f" ({count} cases)" if count > 1 else ""), highlight=False
            )
    for error in result.errors:
        err_console.print(f"[red]error:[/] {error}", highlight=False)
    if result.errors:
        ctx.exit(EXIT_PROBLEMS)


@cli.group("flows")
def flows_group() -> None:
    """Flow files: check them against their legal rule packs."""


@flows_group.command("check")
@format_option
@click.pass_context
def flows_check_command(ctx: click.Context, fmt: str) -> None:
    """Check every flow of the workspace; refuse one that would break its legal rule pack.

    The plan policy (``plans:`` in dunning.yaml) is checked too: what the law of each rule pack
    changes in it is listed as a warning.
    """
    workspace = get_workspace(ctx)
    flows, problems = load_flows(workspace.flows_dir)
    problems = problems + check_flow_set(flows)
    problems += check_policy(workspace.config.plans.policy(), ALL_PACKS, source=CONFIG_FILE)
    try:
        workspace_rates(workspace)  # the rates file the night will use must be valid too
    except ConfigError as exc:
        problems.append(Problem(str(workspace.config.legal.rates), "", str(exc)))
    rows = [{"severity": p.severity, "file": p.source, "where": p.where, "message": p.message} for p in problems]
    if fmt == "json":
        emit_object({"flows": sorted(f"{n}@{v}" for n, v in flows.flows), "problems": rows}, fmt)
    else:
        console.print(f"Flows: {', '.join(sorted(f'{n}@{v}' for n, v in flows.flows))}")
        if rows:
            emit(rows, fmt, title="Problems")
        else:
            console.print("No problems: every flow keeps its legal rule packs.")
    if any(p.severity == "error" for p in problems):
        ctx.exit(EXIT_PROBLEMS)


@cli.command("actions")
@format_option
def actions_command(fmt: str) -> None:
    """List the action catalogue with each action's settings."""
    rows = catalogue_rows()
    if fmt == "json":
        emit_object({"actions": rows}, fmt)
        return
    flat = [
        {
            "action": r["name"],
            "channel": r["channel"],
            "description": r["description"],
            "settings": ", ".join(f"{s['name']}={s.get('default')}" for s in r["settings"]),
        }
        for r in rows
    ]
    emit(flat, fmt, title=f"{len(rows)} actions")
