"""Tasks for a person: ``dunning tasks`` lists what waits, ``dunning tasks done ID`` closes one."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import click

from dunning.cli import cli
from dunning.cli.context import date_option, format_option, get_store, resolve_date
from dunning.cli.output import emit, emit_object
from dunning.usecases.planning.tasks import KINDS, finish_task, list_tasks, resume_after_dispute

_TABLE = ["id", "case", "debtor", "kind", "title", "step", "since", "due"]
#: CSV: every field of a task, so an empty list still has its header
_CSV = [
    "id",
    "case",
    "debtor",
    "customer_number",
    "kind",
    "action",
    "step",
    "title",
    "queue",
    "priority",
    "since",
    "due",
    "waits",
    "status",
    "closed_on",
    "closed_by",
    "note",
    "dispute",
    "message",
    "hold",
]


def _columns(fmt: str) -> list[str]:
    return _TABLE if fmt == "table" else _CSV


@cli.group("tasks", invoke_without_command=True)
@click.option("--kind", type=click.Choice(KINDS), help="Only tasks of this kind (manual: a decision; call: a call).")
@click.option("--case", "case_id", type=int, help="Only the tasks of this case (its number).")
@click.option("--all", "show_all", is_flag=True, help="Also tasks already closed, and those of closed cases.")
@format_option
@click.pass_context
def tasks_group(ctx: click.Context, kind: str | None, case_id: int | None, show_all: bool, fmt: str) -> None:
    """Tasks waiting for a person (id, case, debtor, kind, since, due), oldest first.

    A flow opens a task at a manual_task or phone_call_task step; the machine never closes one,
    and the flow waits at that step (unless it says `wait: false`) until a person closes it with
    'dunning tasks done ID --note "..."' (add --failed for a call nobody answered: the step's
    fallback follows).

    A debtor's dispute or question from the pay page is a manual task too (queue disputes; the
    debtor's reason and words in the dispute and message columns of --format json/csv). A dispute
    holds the case: closing its task lifts the hold (dunning resumes at the next night) unless
    --keep-hold is given; 'dunning tasks resume ID' lifts a kept hold later.
    """
    if ctx.invoked_subcommand is not None:
        return
    tasks = list_tasks(get_store(ctx), kind=kind, case_id=case_id, include_closed=show_all)
    emit([t.as_dict() for t in tasks], fmt, title="Tasks waiting for a person", columns=_columns(fmt))


@tasks_group.command("done")
@click.argument("task_id", type=int)
@click.option("--note", required=True, help="What was decided or done (kept in the case's timeline).")
@click.option("--by", "by", default=None, help="Who closes it (default: the user running the command).")
@click.option("--failed", is_flag=True, help="It could not be done (a call nobody answered): the fallback follows.")
@click.option(
    "--resume/--keep-hold",
    "resume",
    default=True,
    help="A dispute from the pay page: lift its hold so dunning resumes at the next run (the default), "
    "or keep the case on hold ('dunning tasks resume ID' lifts it later).",
)
@date_option("The day it was done")
@format_option
@click.pass_context
def tasks_done(
    ctx: click.Context,
    task_id: int,
    note: str,
    by: str | None,
    failed: bool,
    resume: bool,
    run_date: datetime | None,
    fmt: str,
) -> None:
    """Close task ID: who, when and the note go to the case's timeline; the flow moves on at the next run.

    Closing a dispute's task lifts its hold unless --keep-hold is given.
    """
    task = finish_task(
        get_store(ctx),
        task_id,
        note=note,
        by=by or getpass.getuser(),
        on_date=resolve_date(ctx, run_date),
        recorded_at=datetime.now(UTC),
        failed=failed,
        keep_hold=not resume,
    )
    if fmt == "table":
        click.echo(
            f"Task {task.id} ({task.kind}: {task.title}) of case {task.case_id} closed as {task.status} on "
            f"{task.closed_on} by {task.closed_by}."
            + (f" Hold {task.hold}." if task.hold else "")
        )
        return
    emit_object(task.as_dict(), fmt)


@tasks_group.command("resume")
@click.argument("task_id", type=int)
@click.option("--by", "by", default=None, help="Who lifts it (default: the user running the command).")
@date_option("The day dunning may resume")
@format_option
@click.pass_context
def tasks_resume(ctx: click.Context, task_id: int, by: str | None, run_date: datetime | None, fmt: str) -> None:
    """Lift the hold of dispute task ID closed with --keep-hold: dunning resumes at the next run."""
    task = resume_after_dispute(
        get_store(ctx), task_id, by=by or getpass.getuser(), on_date=resolve_date(ctx, run_date),
        recorded_at=datetime.now(UTC),
    )
    if fmt == "table":
        click.echo(f"Hold of task {task.id} (case {task.case_id}) lifted.")
        return
    emit_object(task.as_dict(), fmt)
