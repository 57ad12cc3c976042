"""The foundation commands: init, import, cases, case, demo."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from dunning.cli import EXIT_PROBLEMS, cli
from dunning.cli.context import date_option, format_option, get_store, get_workspace, resolve_date
from dunning.cli.output import console, emit, emit_object, err_console
from dunning.cli.progress import progress_bar
from dunning.ledger import load_mapping
from dunning.usecases.cases.view import CASE_COLUMNS, case_detail, list_cases, printed_reference
from dunning.usecases.importing.snapshot import import_ledger, ledger_settings
from dunning.workspace import EXAMPLE_LEDGER, LEDGER_DROPS, init_workspace


@cli.command("init")
@click.argument("directory", type=click.Path(file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing dunning.yaml.")
def init_command(directory: str, force: bool) -> None:
    """Write a ready-to-run workspace into DIRECTORY: dunning.yaml, default flows, an example ledger in examples/."""
    root = Path(directory).resolve()
    written = init_workspace(root, force=force)
    console.print(f"Workspace ready in [bold]{root}[/] ({len(written)} files).")
    console.print(
        f"Next: edit {root / 'dunning.yaml'}, then "
        f"[bold]dunning -w {directory} import {directory}/{EXAMPLE_LEDGER}[/] (an example; real exports go "
        f"in {directory}/{LEDGER_DROPS}/, where the nightly flow picks up the newest)"
    )


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Mapping file (columns, delimiter, encoding, decimal, date_format).",
)
@click.option(
    "--allow-mass-close",
    is_flag=True,
    help="Import even when the file has no data rows or closes all open cases or more than ledger.max_close_share.",
)
@date_option("The date the ledger snapshot describes")
@format_option
@click.pass_context
def import_command(
    ctx: click.Context,
    file: Path,
    mapping: Path | None,
    allow_mass_close: bool,
    run_date: datetime | None,
    fmt: str,
) -> None:
    """Import a ledger export (CSV, XLSX, Parquet): the creditor's open items as a snapshot.

    Invoices missing from a later snapshot are closed as settled outside; importing the
    same file twice changes nothing. A file with no data rows, or one that would close all
    open cases or more than ledger.max_close_share of them (20 %), is refused (exit code 4)
    unless --allow-mass-close. Rejected rows and warnings go to a report in output/reports/
    and are listed here.
    """
    workspace = get_workspace(ctx)
    mapping_path = mapping or (
        workspace.path(workspace.config.ledger.mapping) if workspace.config.ledger.mapping else None
    )
    store = get_store(ctx)
    with progress_bar(f"importing {file.name}", fmt) as report:
        result = import_ledger(
            store,
            file,
            as_of=resolve_date(ctx, run_date),
            mapping=load_mapping(mapping_path) if mapping_path else None,
            reference_kind=workspace.config.creditor.reference,
            reports_dir=workspace.reports_dir,
            progress=report,
            allow_mass_close=allow_mass_close,
            **ledger_settings(workspace.config.ledger),
        )
    if fmt == "json":
        emit_object({**result.summary(), "problems": [p.__dict__ for p in result.problems]}, fmt)
    else:
        summary = result.summary()
        if result.already_imported:
            console.print(f"{file.name}: already imported (same content); nothing changed.")
        else:
            emit(
                [
                    {"what": k.replace("_", " "), "count": v}
                    for k, v in summary.items()
                    if isinstance(v, int) and not isinstance(v, bool)
                ],
                fmt,
                title=f"Imported {file.name}",
            )
        for problem in result.problems[:50]:
            err_console.print(f"[{'red' if problem.severity == 'rejected' else 'yellow'}]{problem}[/]", highlight=False)
        if len(result.problems) > 50:
            err_console.print(f"… and {len(result.problems) - 50} more")
        if result.report:
            err_console.print(f"Report: {result.report}")
    if result.rejected and not result.already_imported:
        ctx.exit(EXIT_PROBLEMS)


@cli.command("cases")
@click.option("--status", help="Only cases with this status (open, closed, on_hold, ...).")
@click.option("--limit", type=int, help="At most this many cases.")
@format_option
@click.pass_context
def cases_command(ctx: click.Context, status: str | None, limit: int | None, fmt: str) -> None:
    """List cases: debtor, status, stage, principal, costs, interest, paid, total due, credit, next action date.

    The total due is principal + costs + interest - paid: what the last letter, email or SMS asked.
    The same columns in every format.
    """
    rows = [c.as_dict() for c in list_cases(get_store(ctx), status=status, limit=limit)]
    # A terminal table leaves out the debtor id, currency and reference (CSV and JSON carry every column).
    table = [c for c in CASE_COLUMNS if c not in ("debtor_id", "reference", "currency")]
    emit(rows, fmt, title="Cases", columns=CASE_COLUMNS if fmt != "table" else table, compact=True)


@cli.command("case")
@click.argument("ident")
@format_option
@click.pass_context
def case_command(ctx: click.Context, ident: str, fmt: str) -> None:
    """Show one case (by number, payment reference or debtor id) with its whole timeline."""
    detail = case_detail(get_store(ctx), ident)
    if fmt == "json":
        emit_object(detail.as_dict(), fmt)
        return
    s, owed = detail.summary, detail.summary.owed
    console.print(
        f"[bold]Case {s.case_id}[/] · {s.debtor} ({s.debtor_id}) · {s.status} · stage {s.stage} · "
        f"reference {printed_reference(s.reference)}"
    )
    console.print(
        f"principal {owed.principal} + costs {owed.fees} + interest {owed.interest} - paid {owed.paid} = "
        f"[bold]total due {owed.total} {s.currency}[/]"
        + (f" · [bold]credit {owed.credit} {s.currency}[/] (held for the debtor)" if owed.credit else ""),
        highlight=False,
    )
    emit(detail.invoices, fmt, title="Invoices")
    if detail.instalments:
        emit(detail.instalments, fmt, title="Payment plan")
    emit([e.as_dict() for e in detail.timeline], fmt, title="Timeline", columns=["date", "what", "amount", "why"])
