"""``dunning notify``: deliver the creditor's webhooks and write the export files of the night."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import click

from dunning.cli import EXIT_DELIVERY, cli
from dunning.cli.context import date_option, format_option, get_store, get_workspace, resolve_date
from dunning.cli.output import emit, emit_object, err_console
from dunning.cli.progress import progress_bar
from dunning.usecases.notify.run import notify


@cli.command("notify")
@date_option("Deliver and export what is due on or before this date")
@format_option
@click.pass_context
def notify_command(ctx: click.Context, run_date: datetime | None, fmt: str) -> None:
    """Post the pending webhooks to the creditor (webhook.url) and write the export files.

    Webhooks (notify_creditor, block_service, unblock_service, payment updates from reconciliation)
    are signed with $DUNNING_WEBHOOK_SECRET and carry an Idempotency-Key; 5xx and timeouts are
    retried with backoff, a 4xx fails the webhook (shown on the case timeline). Exports (hand_over,
    escalate_to_legal, verify_address) go to output/exports/<date>/ with a .sha256 beside each file.
    Running it again sends and writes nothing new. Exit code 6 when a delivery failed.
    """
    with progress_bar("webhooks", fmt) as report:
        result = notify(get_store(ctx), get_workspace(ctx), resolve_date(ctx, run_date), now=datetime.now(UTC),
                        env=os.environ, progress=report)
    if fmt == "json":
        emit_object(result.summary(), fmt)
    else:
        hooks, files = result.webhooks.summary(), result.exports.summary()
        emit([{"what": "webhooks", **{k: hooks[k] for k in ("due", "delivered", "failed", "deferred", "waiting",
                                                               "cancelled")}},
              {"what": "exports", "due": files["due"], "delivered": files["exported"], "failed": files["failed"],
               "deferred": 0, "waiting": files["waiting"], "cancelled": files["cancelled"]}],
             fmt, title=f"Notify {result.webhooks.run_date.isoformat()}",
             columns=["what", "due", "delivered", "failed", "deferred", "waiting", "cancelled"])
        for problem in [*result.webhooks.problems, *result.exports.problems]:
            err_console.print(f"[yellow]note:[/] {problem}", highlight=False)
    if result.delivery_failed:
        ctx.exit(EXIT_DELIVERY)
