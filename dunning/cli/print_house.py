"""Print-house commands: ``dunning batches``, ``dunning deliver`` and ``dunning acks``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from dunning.cli import EXIT_DELIVERY, EXIT_PROBLEMS, cli
from dunning.cli.context import date_option, format_option, get_store, get_workspace, resolve_date
from dunning.cli.output import emit, emit_object, err_console
from dunning.cli.progress import progress_bar
from dunning.store import Store
from dunning.usecases.letters.acks import record_acknowledgements
from dunning.usecases.letters.batches import list_print_batches
from dunning.usecases.letters.send import send_letters

BATCH_COLUMNS = ("batch", "date", "letters", "pages", "status", "delivered_on", "posted", "returned", "destination")


def batch_rows(store: Store) -> list[dict[str, Any]]:
    """The print batches recorded in the store, oldest first, with their letters posted and returned so far."""
    return [batch.as_dict() for batch in list_print_batches(store)]


def _notes(problems: list[str]) -> None:
    for problem in problems:
        err_console.print(f"[yellow]note:[/] {problem}", highlight=False)


@cli.command("batches")
@format_option
@click.pass_context
def batches_command(ctx: click.Context, fmt: str) -> None:
    """List the print batches: id, date, letters, status (pending until delivered), letters posted and returned
    (from the print house's acknowledgements) and destination."""
    get_workspace(ctx)
    emit(batch_rows(get_store(ctx)), fmt, title="Print batches", columns=BATCH_COLUMNS)


@cli.command("deliver")
@date_option("Deliver on this date")
@format_option
@click.pass_context
def deliver_command(ctx: click.Context, run_date: datetime | None, fmt: str) -> None:
    """Deliver the pending print batches (e.g. after the print house was away), then any rendered letters.

    A batch already on the print house's side is not uploaded again; nothing is sent twice.
    """
    workspace = get_workspace(ctx)
    day = resolve_date(ctx, run_date)
    with progress_bar("Delivering batches", fmt) as report:
        sent = send_letters(get_store(ctx), workspace, day, progress=report)
    summary = sent.summary()
    if fmt == "json":
        emit_object(summary, fmt)
    else:
        emit_object({k: v for k, v in summary.items() if k not in ("batch_ids", "problems")}, fmt,
                    title=f"Deliver {day.isoformat()}")
        _notes(sent.problems)
    if sent.undelivered:
        ctx.exit(EXIT_DELIVERY)  # pending: the next `letters` or `deliver` delivers it
    if sent.problems:
        ctx.exit(EXIT_PROBLEMS)


@cli.command("acks")
@date_option("Record the acknowledgements on this date")
@format_option
@click.pass_context
def acks_command(ctx: click.Context, run_date: datetime | None, fmt: str) -> None:
    """Record the print house's acknowledgements: returned letters fail so the next night plans the fallback.

    Reads the CSV files in the acknowledgements/ folder of print.transport; a file is recorded once.
    """
    workspace = get_workspace(ctx)
    day = resolve_date(ctx, run_date)
    result = record_acknowledgements(get_store(ctx), workspace, on_date=day)
    summary = result.summary()
    if fmt == "json":
        emit_object(summary, fmt)
    else:
        by_status = summary.pop("by_status")
        summary.pop("problems")
        emit_object({**summary, **{f"status {k}": v for k, v in by_status.items()}}, fmt,
                    title=f"Acknowledgements {day.isoformat()}")
        _notes(result.problems)
    if result.problems:
        ctx.exit(EXIT_PROBLEMS)
