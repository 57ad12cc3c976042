"""Messaging commands: ``dunning dispatch``, ``dunning bounces``, ``dunning paylink verify``."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import click

from dunning.cli import EXIT_CONFIG, EXIT_DELIVERY, EXIT_PROBLEMS, cli
from dunning.cli.context import date_option, format_option, get_store, get_workspace, resolve_date
from dunning.cli.output import console, emit, emit_object, err_console
from dunning.cli.progress import progress_bar
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.messaging.feedback import check_pay_link, open_bounce_source, process_bounces
from dunning.usecases.messaging.transports import CHANNELS
from dunning.usecases.outgoing.secrets import load_secrets


@cli.command("dispatch")
@date_option("Send what is due on or before this date")
@click.option("--channel", "channels", multiple=True, type=click.Choice(CHANNELS),
              help="Only this channel (repeat for both; default: email and sms).")
@click.option("--receipt-wait", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Seconds to wait for SMPP delivery receipts after sending.")
@format_option
@click.pass_context
def dispatch_command(ctx: click.Context, run_date: datetime | None, channels: tuple[str, ...], receipt_wait: float,
                     fmt: str) -> None:
    """Send the planned emails and SMS, exactly once, and record what became of each.

    Needs the pay-link secret in $DUNNING_PAYLINK_SECRET (or paylink.secret_file). Permanent
    failures mark the action failed, so the next 'dunning run' plans its fallback; transient ones
    are retried by the next dispatch; SMS wait for the recipient's daytime. Running it twice sends
    nothing more; a dispatch interrupted mid-way is completed by the next one. Exit code 6 when the
    server did not accept a message (it is retried by the next dispatch).
    """
    workspace = get_workspace(ctx)
    with progress_bar("Dispatching", fmt) as report:
        result = dispatch_messages(
            get_store(ctx),
            workspace,
            resolve_date(ctx, run_date),
            channels=channels or CHANNELS,
            now=datetime.now(UTC),
            env=os.environ,
            receipt_wait=receipt_wait,
            progress=report,
        )
    if fmt == "json":
        emit_object(result.summary(), fmt)
    else:
        emit(result.rows(), fmt, title=f"Dispatch {result.run_date.isoformat()}",
             columns=["channel", "due", "sent", "failed", "deferred", "cancelled", "errors", "recovered",
                      "delivered", "undelivered"])
        for problem in result.problems:
            err_console.print(f"[yellow]note:[/] {problem}", highlight=False)
    if result.not_sent:
        ctx.exit(EXIT_DELIVERY)  # the server was down or refused for now: the next dispatch retries
    if any(summary.errors for summary in result.channels):
        # errors are messages a template or setting kept from being built (each named with its file
        # and line above): a configuration error, the others were still sent
        ctx.exit(EXIT_CONFIG)


@cli.command("bounces")
@click.argument("source")
@date_option("The day the bounces are recorded on")
@format_option
@click.pass_context
def bounces_command(ctx: click.Context, source: str, run_date: datetime | None, fmt: str) -> None:
    """Read bounces from SOURCE and record them: hard ones fail the email so its fallback follows.

    SOURCE is a Maildir folder, an mbox file, or imaps://user@host[:port]/folder[?since_uid=N]
    (imap:// without TLS) with the password in $DUNNING_IMAP_PASSWORD. The mailbox is only read;
    processing the same messages again changes nothing.
    """
    workspace = get_workspace(ctx)
    secrets = load_secrets(workspace, os.environ)
    result = process_bounces(get_store(ctx), open_bounce_source(source, os.environ), secret=secrets.verp,
                             on_date=resolve_date(ctx, run_date), recorded_at=datetime.now(UTC))
    if fmt == "json":
        emit_object({**result.as_dict(), "problems": result.problems}, fmt)
        return
    emit([{"outcome": k.replace("_", " "), "count": v} for k, v in result.as_dict().items()], fmt,
         title=f"Bounces from {source}")
    for problem in result.problems:
        err_console.print(f"[yellow]note:[/] {problem}", highlight=False)


@cli.group("paylink")
def paylink_group() -> None:
    """Pay links: check what a link names."""


@paylink_group.command("verify")
@click.argument("token")
@date_option("Check validity on this date")
@format_option
@click.pass_context
def paylink_verify_command(ctx: click.Context, token: str, run_date: datetime | None, fmt: str) -> None:
    """Tell which case a pay link (or its token) names and until when it is valid, or why it is invalid.

    Exit code 0 for a valid link, 1 for an expired or invalid one.
    """
    workspace = get_workspace(ctx)
    secrets = load_secrets(workspace, os.environ)
    check = check_pay_link(token, secrets.paylink, resolve_date(ctx, run_date))
    data = {"status": check.status, "case": check.case_id,
            "expires": check.expires.isoformat() if check.expires else None, "reason": check.reason}
    if fmt == "json":
        emit_object(data, fmt)
    elif check.status == "valid":
        console.print(f"valid: case {check.case_id}, valid until {data['expires']}", highlight=False)
    elif check.status == "expired":
        console.print(f"expired: case {check.case_id}, was valid until {data['expires']}", highlight=False)
    else:
        console.print(f"invalid: {check.reason}", highlight=False)
    if check.status != "valid":
        ctx.exit(EXIT_PROBLEMS)
