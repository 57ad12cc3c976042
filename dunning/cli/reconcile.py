"""Bank reconciliation commands: reconcile (files or the inbox) and the review queue."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path

import click

from dunning.cli import EXIT_PROBLEMS, cli
from dunning.cli.context import date_option, format_option, get_store, get_workspace, resolve_date
from dunning.cli.output import console, emit, emit_object, err_console
from dunning.cli.progress import progress_bar
from dunning.errors import InputError
from dunning.usecases.reconcile.credits import decide_credit
from dunning.usecases.reconcile.review import accept_review, list_review, reject_review
from dunning.usecases.reconcile.run import OUTCOMES, ReconcileResult, reconcile_files, reconcile_inbox


def _print_result(result: ReconcileResult, fmt: str, *, errors: bool = True) -> None:
    summary = result.summary()
    if fmt == "json":
        emit_object({**summary, "file_results": [f.as_dict() for f in result.files]}, fmt)
    else:
        if fmt == "table":  # CSV gets one table: the files, with their counts
            emit(
                [{"outcome": o, "count": v["count"], "amount": v["amount"]} for o, v in summary["outcomes"].items()],
                fmt,
                title=f"Reconciled {summary['files_processed']} file(s) as of {summary['as_of']}",
            )
        emit(
            [
                {
                    "file": f.file,
                    "status": f.status.replace("_", " "),
                    **{o: f.counts.get(o, 0) for o in OUTCOMES},
                    "duplicates": f.counts.get("duplicate", 0),
                }
                for f in result.files
            ],
            fmt,
            title="Files",
        )
        if fmt == "table":
            for label, key in (
                ("paid", "cases_paid"),
                ("partly paid", "cases_partly_paid"),
                ("reopened", "cases_reopened"),
            ):
                if summary[key]:
                    console.print(f"Cases {label}: {', '.join(map(str, summary[key]))}")
            for currency, parts in summary["written_off"]["by_currency"].items():
                console.print(
                    f"Written off {currency} {parts['total']}: {parts['bank_charges']} bank charges, "
                    f"{parts['tolerance']} within the tolerance"
                )
            for credit in summary["credits"]:
                console.print(
                    f"Case {credit['case']} holds a credit of {credit['credit']} {credit['currency']}: "
                    "refund, keep or ignore it in dunning review"
                )
            if summary["review_items"]:
                console.print(f"{summary['review_items']} payment(s) wait in the review queue: dunning review")
    for f in result.files:
        for warning in f.warnings[:20]:
            err_console.print(f"[yellow]{warning}[/]", highlight=False)
        for report in f.reports[:1]:
            err_console.print(f"Report: {report} (and .parquet)", highlight=False)
    if errors:
        for error in result.errors():
            err_console.print(f"[red]{error}[/]", highlight=False)


@cli.command("reconcile")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--fetch", is_flag=True, help="Fetch the new files of bank.inbox (a folder or SFTP) and reconcile them.")
@date_option("The reconciliation date")
@format_option
@click.pass_context
def reconcile_command(
    ctx: click.Context, files: tuple[Path, ...], fetch: bool, run_date: datetime | None, fmt: str
) -> None:
    """Reconcile bank files (camt.052/053/054, or ZIPs of them): match payments, advance the cases.

    Paid cases close (the next run sends the flow's thank-you), partial payments lower what is
    owed, returns reopen cases, and what cannot be applied safely waits in the review queue.
    A file already reconciled (same content, any name) changes nothing. A report goes to
    output/reports/ (CSV and Parquet).
    """
    if not files and not fetch:
        raise click.UsageError("give one or more bank files, or --fetch to read the bank inbox")
    workspace = get_workspace(ctx)
    store = get_store(ctx)
    as_of = resolve_date(ctx, run_date)
    results: list[ReconcileResult] = []
    with progress_bar("Reconciling files", fmt) as report:
        if fetch:
            results.append(reconcile_inbox(store, workspace, as_of=as_of, progress=report))
        if files:
            results.append(reconcile_files(store, workspace, files, as_of=as_of, progress=report))
    result = ReconcileResult(as_of, tuple(f for r in results for f in r.files))
    if not result.files:
        console.print("No new bank files.")
        return
    _print_result(result, fmt, errors=not result.all_refused)
    if result.all_refused:
        raise InputError("; ".join(str(e) for e in result.errors()))
    if result.refused:
        ctx.exit(EXIT_PROBLEMS)


@cli.group("review", invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Also show accepted and rejected items.")
@format_option
@click.pass_context
def review_group(ctx: click.Context, show_all: bool, fmt: str) -> None:
    """The review queue: payments waiting for a person (transaction, amount, payer, candidates), and
    the credits of overpaid cases.

    Accept a payment with 'dunning review accept ID [--case N]', reject it with 'dunning review reject ID'.
    Decide a credit with 'dunning review refund ID', 'dunning review keep ID' (for the next invoice) or
    'dunning review ignore ID'.
    """
    if ctx.invoked_subcommand is not None:
        return
    items = list_review(get_store(ctx), status=None if show_all else "open")
    if fmt == "json":
        emit([i.as_dict() for i in items], fmt)
        return
    emit(
        [
            {
                "id": i.id,
                "kind": i.kind,
                "status": i.status,
                "date": i.booking_date.isoformat() if i.booking_date else "",
                "amount": str(i.amount),
                "currency": i.currency,
                "payer": i.payer_name or "",
                "text": i.remittance or "",
                "reason": i.reason,
                "candidates": i.candidates_text(),
                "transaction": i.transaction,
                "credit": "" if i.credit is None else str(i.credit),
            }
            for i in items
        ],
        fmt,
        title="Review queue",
        columns=None
        if fmt == "csv"
        else ["id", "kind", "date", "amount", "credit", "currency", "payer", "text", "reason", "candidates"],
    )


@review_group.command("accept")
@click.argument("item_id", type=int)
@click.option("--case", "case_id", type=int, help="Apply the payment to this case (default: the best candidate).")
@date_option("The date of the decision")
@format_option
@click.pass_context
def review_accept(ctx: click.Context, item_id: int, case_id: int | None, run_date: datetime | None, fmt: str) -> None:
    """Apply the payment of review item ID to a case (its best candidate unless --case is given)."""
    outcome = accept_review(
        get_store(ctx), get_workspace(ctx), item_id, case_id=case_id, as_of=resolve_date(ctx, run_date)
    )
    emit_object(outcome, fmt, title=f"Review item {item_id} accepted")


@review_group.command("reject")
@click.argument("item_id", type=int)
@click.option("--note", help="Why (kept with the decision).")
@date_option("The date of the decision")
@click.pass_context
def review_reject(ctx: click.Context, item_id: int, note: str | None, run_date: datetime | None) -> None:
    """Reject review item ID: its payment stays unapplied (to be refunded or booked elsewhere)."""
    item = reject_review(get_store(ctx), item_id, as_of=resolve_date(ctx, run_date), note=note)
    console.print(f"Review item {item.id} rejected; {item.amount} {item.currency} stays unapplied.")


def _credit_command(decision: str, summary: str) -> None:
    @review_group.command(decision, help=summary)
    @click.argument("item_id", type=int)
    @click.option("--note", help="Why (kept with the decision and on the case's timeline).")
    @click.option("--by", "by", help="Who decides (default: your login name).")
    @date_option("The date of the decision")
    @format_option
    @click.pass_context
    def command(
        ctx: click.Context, item_id: int, note: str | None, by: str | None, run_date: datetime | None, fmt: str
    ) -> None:
        done = decide_credit(
            get_store(ctx), item_id, decision, as_of=resolve_date(ctx, run_date), by=by or _login(), note=note
        )
        if fmt == "table":
            console.print(
                f"Review item {done.item_id}: credit {done.credit} {done.currency} of case {done.case_id} "
                f"{_DONE[decision]} (by {done.by}); the case holds {done.credit_left} {done.currency}."
            )
        else:
            emit_object(done.as_dict(), fmt)


def _login() -> str:
    """Who runs the command, for the decision record (the login name; "unknown" without one)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


_DONE = {"refund": "to be refunded", "keep": "kept for the next invoice", "ignore": "ignored"}
_credit_command("refund", "Refund the credit of refund item ID to the debtor: the case no longer holds it.")
_credit_command("keep", "Keep the credit of refund item ID on the case, for the next invoice.")
_credit_command("ignore", "Ignore the credit of refund item ID: nothing is done, the case still shows it.")
