"""``dunning links show|revoke|restore CASE``: a case's pay links, revoked when a letter went astray;
``dunning links prepare``: the pages of recent links made ahead for the day."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta

import click

from dunning.cli import cli
from dunning.cli.context import date_option, format_option, get_store, get_workspace, resolve_date
from dunning.cli.output import emit_object
from dunning.cli.progress import progress_bar
from dunning.usecases.paypage.revoke import link_status, restore_links, revoke_links


@cli.group("links")
def links_group() -> None:
    """A case's pay links: show whether they open the page, revoke them, restore them.

    Revoke when a letter went to a wrong address or the file left the creditor: every link of the
    case (in letters, emails and SMS already sent) then gets a page telling the debtor to contact
    the creditor, and forms posted to it are refused. A hand-over (hand_over, escalate_to_legal) and
    a write-off revoke by themselves. Both go on the case's timeline (dunning case CASE).
    """


@links_group.command("show")
@click.argument("case")
@date_option("The day to check the links on")
@format_option
@click.pass_context
def links_show(ctx: click.Context, case: str, run_date: datetime | None, fmt: str) -> None:
    """Whether the links of CASE (number, payment reference or debtor id) open its page."""
    status = link_status(get_store(ctx), get_workspace(ctx), case, resolve_date(ctx, run_date))
    emit_object(status.as_dict(), fmt, title=f"Pay links of case {status.case_id}")


@links_group.command("revoke")
@click.argument("case")
@click.option("--reason", default="revoked by hand", show_default=True,
              help="Why (kept on the case's timeline), e.g. 'letter sent to a wrong address'.")
@click.option("--by", "by", default=None, help="Who revokes (default: the user running the command).")
@date_option("The day of the revocation")
@format_option
@click.pass_context
def links_revoke(ctx: click.Context, case: str, reason: str, by: str | None, run_date: datetime | None,
                 fmt: str) -> None:
    """Revoke every pay link of CASE: the page then says to contact the creditor (already revoked: unchanged)."""
    status = revoke_links(get_store(ctx), get_workspace(ctx), case, reason=reason, by=by or getpass.getuser(),
                          on=resolve_date(ctx, run_date), at=datetime.now(UTC))
    emit_object(status.as_dict(), fmt, title=f"Pay links of case {status.case_id}")


@links_group.command("restore")
@click.argument("case")
@click.option("--by", "by", default=None, help="Who restores (default: the user running the command).")
@date_option("The day of the restore")
@format_option
@click.pass_context
def links_restore(ctx: click.Context, case: str, by: str | None, run_date: datetime | None, fmt: str) -> None:
    """Let the links of CASE open its page again (not revoked: unchanged)."""
    status = restore_links(get_store(ctx), get_workspace(ctx), case, by=by or getpass.getuser(),
                           on=resolve_date(ctx, run_date), at=datetime.now(UTC))
    emit_object(status.as_dict(), fmt, title=f"Pay links of case {status.case_id}")


@links_group.command("prepare")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True,
              help="Prepare the links of the letters, emails and SMS that went out in the last DAYS days.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes that share the pages (about 20 ms of CPU each).")
@date_option("The day the pages are prepared for (the day debtors open them)")
@format_option
@click.pass_context
def links_prepare(ctx: click.Context, days: int, workers: int, run_date: datetime | None, fmt: str) -> None:
    """Make the pay page of each link sent lately, ahead, for the day (run after the night's messages).

    An opening of a prepared page reads one row instead of building the claim; a page whose case changed
    since (a payment, a new letter) is made again when opened, so a prepared page is never stale.
    """
    from dunning.usecases.paypage.prepared import sent_links
    from dunning.web.prepared import prepare_pages  # the web stack only for this command

    store, workspace = get_store(ctx), get_workspace(ctx)
    today = resolve_date(ctx, run_date)
    tokens = sent_links(store, workspace, today - timedelta(days=days - 1), today)
    with progress_bar("Preparing pay pages", fmt) as report:
        done = prepare_pages(workspace, store, today, tokens, workers=workers, progress=report)
    emit_object(done.as_dict(), fmt, title=f"Pay pages prepared for {today.isoformat()}")
