"""Payment plan commands: ``dunning plans`` (the list) and ``dunning plans create CASE``."""

from __future__ import annotations

import getpass
from datetime import datetime

import click

from dunning.cli import cli
from dunning.cli.context import date_option, format_option, get_store, get_workspace, resolve_date
from dunning.cli.output import console, emit, emit_object
from dunning.domain.plans.model import ArrangementStatus
from dunning.usecases.plans.bot import plan_listing
from dunning.usecases.plans.create import create_plan

_STATUSES = [s.value for s in ArrangementStatus]
_LIST_COLUMNS = [
    "plan", "case", "status", "instalments", "total", "paid", "open", "next_due", "next_amount", "last_action"
]


@cli.group("plans", invoke_without_command=True)
@click.option("--status", type=click.Choice(_STATUSES), default=None, help="Only plans with this status.")
@format_option
@click.pass_context
def plans_group(ctx: click.Context, status: str | None, fmt: str) -> None:
    """Payment plans: list them (optionally of one status), or make one with ``create``."""
    if ctx.invoked_subcommand is not None:
        return
    rows = plan_listing(get_store(ctx), status=status)
    if fmt == "json":
        emit_object({"plans": rows}, fmt)
        return
    emit(rows, fmt, title=f"{len(rows)} plan(s)" + (f" {status}" if status else ""), columns=_LIST_COLUMNS)


@plans_group.command("create")
@click.argument("case")
@click.option("--count", type=int, required=True, help="Number of monthly instalments.")
@click.option("--day", type=int, default=None, help="Day of the month they fall due (default: from payment history).")
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The first instalment falls due on or after this day (default: the date).",
)
@click.option("--by", "created_by", default=None, help="Who agreed the plan (default: the user name).")
@date_option("The day the plan is agreed")
@format_option
@click.pass_context
def plans_create_command(
    ctx: click.Context,
    case: str,
    count: int,
    day: int | None,
    start: datetime | None,
    created_by: str | None,
    run_date: datetime | None,
    fmt: str,
) -> None:
    """Agree a plan of COUNT monthly instalments for CASE (number, reference or debtor id); pauses its flow."""
    workspace = get_workspace(ctx)
    created = create_plan(
        get_store(ctx),
        case,
        count=count,
        day=day,
        start=start.date() if start else None,
        today=resolve_date(ctx, run_date),
        policy=workspace.config.plans.policy(),
        created_by=created_by or getpass.getuser(),
    )
    plan = created.plan
    rows = [
        {"number": i.number, "due_date": i.due_date.isoformat(), "amount": str(i.amount), "reference": i.reference}
        for i in plan.instalments
    ]
    if fmt == "json":
        emit_object(
            {
                "plan": plan.plan_id,
                "case": created.case_id,
                "status": plan.status.value,
                "total": str(plan.total),
                "due_day": created.due_day.explanation,
                "pack": plan.pack,
                "instalments": rows,
            },
            fmt,
        )
        return
    emit(
        rows,
        fmt,
        title=f"Plan {plan.plan_id} for case {created.case_id}: {plan.total} {plan.currency} "
        f"in {len(rows)} instalments",
    )
    if fmt == "table":
        console.print(
            f"Due day: {created.due_day.explanation}. The case's flow is paused while the plan runs.",
            soft_wrap=True,
            highlight=False,
        )
