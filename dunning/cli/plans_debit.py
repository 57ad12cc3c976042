"""Plan commands beyond making and listing: ``mandate``, ``collect``, ``propose``, ``report``."""

from __future__ import annotations

import getpass
from datetime import date, datetime
from typing import Any

import click

from dunning.cli.context import date_option, format_option, get_store, get_workspace, resolve_date
from dunning.cli.output import console, emit, emit_object
from dunning.cli.plans import plans_group
from dunning.usecases.plans.directdebit import capture_mandate, collect
from dunning.usecases.plans.propose import propose_plans
from dunning.usecases.plans.report import PERIODS, plans_report

_DAY = click.DateTime(formats=["%Y-%m-%d"])


@plans_group.command("mandate")
@click.argument("plan_or_case")
@click.option("--iban", required=True, help="The debtor's account to collect from.")
@click.option("--signed-on", type=_DAY, required=True, help="The day the debtor signed the mandate (YYYY-MM-DD).")
@click.option("--reference", default=None, help="The mandate reference (default: derived from the plan, DDM-<plan>).")
@click.option("--bic", default=None, help="The debtor bank's BIC (only pain.008.001.02 needs it).")
@click.option("--holder", default=None, help="The account holder's name (default: the debtor's).")
@click.option("--consent", "consent_source", default="paper", show_default=True,
              help="How the mandate was given (paper, phone-recorded, ...).")
@click.option("--by", "captured_by", default=None, help="Who entered it (default: the user name).")
@date_option("The day it is entered")
@format_option
@click.pass_context
def plans_mandate_command(
    ctx: click.Context,
    plan_or_case: str,
    iban: str,
    signed_on: datetime,
    reference: str | None,
    bic: str | None,
    holder: str | None,
    consent_source: str,
    captured_by: str | None,
    run_date: datetime | None,
    fmt: str,
) -> None:
    """Record the SEPA direct debit mandate signed for a plan (PLAN_OR_CASE: plan key, or a case with a plan)."""
    workspace = get_workspace(ctx)
    mandate = capture_mandate(
        get_store(ctx),
        plan_or_case,
        iban=iban,
        signed_on=signed_on.date(),
        today=resolve_date(ctx, run_date),
        config=workspace.config,
        captured_by=captured_by or getpass.getuser(),
        consent_source=consent_source,
        reference=reference,
        bic=bic,
        account_holder=holder,
    )
    data = {
        "mandate": mandate.reference,
        "plan": mandate.plan_id,
        "account": f"…{mandate.iban[-4:]}",
        "signed_on": mandate.signed_on.isoformat(),
        "text_version": mandate.text_version,
        "consent": mandate.consent_source,
    }
    emit_object(data, fmt, title=f"Mandate {mandate.reference} for plan {mandate.plan_id}")


@plans_group.command("collect")
@date_option("The day the files are made")
@format_option
@click.pass_context
def plans_collect_command(ctx: click.Context, run_date: datetime | None, fmt: str) -> None:
    """Write the pain.008 files collecting the instalments due (each once) and deliver them to bank.outbox."""
    result = collect(get_store(ctx), get_workspace(ctx), today=resolve_date(ctx, run_date))
    rows: list[dict[str, Any]] = [
        {
            "file": f.name,
            "collection_date": f.collection_date.isoformat(),
            "collections": f.count,
            "control_sum": str(f.control_sum),
            "status": f.status,
            "made": "now" if f in result.made else "finished",
        }
        for f in (*result.made, *result.finished)
    ]
    if fmt == "json":
        emit_object({"files": rows}, fmt)
        return
    emit(rows, fmt, title=f"{len(result.made)} collection file(s) made, {len(result.finished)} finished")
    if fmt == "table" and not rows:
        console.print("Nothing due for collection.", highlight=False)


@plans_group.command("propose")
@click.argument("case")
@click.option("--start", type=_DAY, default=None, help="The first instalment on or after this day (default: the date).")
@date_option("The day of the proposal")
@format_option
@click.pass_context
def plans_propose_command(
    ctx: click.Context, case: str, start: datetime | None, run_date: datetime | None, fmt: str
) -> None:
    """Show the plans the policy allows for CASE, and the due day its payment history suggests (nothing stored)."""
    workspace = get_workspace(ctx)
    today = resolve_date(ctx, run_date)
    proposal = propose_plans(
        get_store(ctx),
        case,
        today=today,
        start=start.date() if start else None,
        policy=workspace.config.plans.policy(),
    )
    data = proposal.as_dict()
    if fmt == "json":
        emit_object(data, fmt)
        return
    emit(
        data["plans"],
        fmt,
        title=f"Case {proposal.case_id}: {proposal.total} {proposal.currency} owed, "
        f"{len(proposal.options)} plan(s) allowed ({proposal.pack})",
    )
    if fmt == "table":
        console.print(f"Due day: {proposal.due_day.explanation}.", soft_wrap=True, highlight=False)


@plans_group.command("report")
@click.option("--period", type=click.Choice(PERIODS), default="month", show_default=True)
@click.option("--from", "since", type=_DAY, default=None, help="Only plans made on or after this day.")
@click.option("--to", "until", type=_DAY, default=None, help="Only plans made on or before this day.")
@format_option
@click.pass_context
def plans_report_command(
    ctx: click.Context, period: str, since: datetime | None, until: datetime | None, fmt: str
) -> None:
    """Plans made per period and what became of them: active, completed, breached, cancelled."""
    start: date | None = since.date() if since else None
    end: date | None = until.date() if until else None
    report = plans_report(get_store(ctx), period=period, since=start, until=end)
    if fmt == "json":
        emit_object(report, fmt)
        return
    emit(report["periods"] + [{"period": "total", **report["total"]}], fmt, title=f"Plans by {period}", compact=True)
