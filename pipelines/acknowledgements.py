"""The acknowledgements flow: what came back from the print house, the mail servers and the SMS gateway.

Deployment ``acknowledgements`` (``prefect.yaml``) runs hourly. Run it by hand with::

    python -m pipelines.acknowledgements --workspace acme [--bounces ~/Maildir/bounces]

Steps:

1. **print house**: :func:`dunning.usecases.letters.acks.record_acknowledgements` records the
   acknowledgement CSVs in the ``acknowledgements/`` folder of the print transport
   (``print.transport``; :mod:`dunning.print.acknowledgements` describes the format): a returned
   letter fails its action and raises ``delivery_failed`` on its case, so the next night plans the
   step's fallback; a posted letter adds ``letter_posted``. Each file is recorded once (by its
   SHA-256, in the store); unknown letters and unreadable rows are reported with file and line;
2. **email bounces**: ``dunning.usecases.messaging.feedback.process_bounces`` over the bounce
   mailbox given as ``bounce_source`` (Maildir, mbox or ``imaps://``), when that module exists (the
   summary says when it does not): a hard bounce fails the email, so the next night plans the
   step's fallback. **SMS delivery reports** are applied by the nightly dispatch itself (SMPP
   receipts, HTTP gateway polling); the summary says so;
3. **report**: a markdown artifact, key ``acknowledgements-<workspace folder>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from dunning.usecases.letters.acks import ACK_FOLDER, record_acknowledgements
from pipelines.common import (
    artifact_key,
    counts_table,
    dunning_task,
    load_workspace,
    night_date,
    optional_function,
    result_markdown,
    step_status,
    workspace_store,
)

__all__ = ["ACK_FOLDER", "acknowledgements", "main", "print_acknowledgements"]

FEEDBACK_MODULE = "dunning.usecases.messaging.feedback"
#: looked up once, when this module is imported: the flow works before the messaging stage lands
PROCESS_BOUNCES = optional_function(FEEDBACK_MODULE, "process_bounces")
#: SMS delivery receipts have no separate pass: dispatch_messages applies them (see the module docstring)
SMS_REPORTS_NOTE = (
    "applied by the nightly dispatch (dunning.usecases.messaging.dispatch.dispatch_messages reads SMPP receipts "
    "and polls HTTP gateways); there is no separate pass yet"
)


@dunning_task("record print-house acknowledgements")
def print_acknowledgements(workspace: str, run_date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """Record the acknowledgement files waiting in the print transport; counts and problems (file:line).

    Recording the same file twice changes nothing (the use case's guarantee).
    """
    with workspace_store(workspace) as (ws, store):
        result = record_acknowledgements(store, ws, on_date=run_date, recorded_at=now)
    return result.summary()


@dunning_task("process email bounces")
def email_bounces(workspace: str, source: str, run_date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """``process_bounces`` over the bounce mailbox: hard bounces fail the email so its fallback follows.

    Processing the same mailbox twice changes nothing (the use case's guarantee).
    """
    if PROCESS_BOUNCES is None:  # the flow does not call this task then; kept for a clear error
        raise RuntimeError(step_status(None, FEEDBACK_MODULE, "process_bounces"))
    from dunning.usecases.messaging.feedback import open_bounce_source
    from dunning.usecases.outgoing.secrets import load_secrets

    with workspace_store(workspace) as (ws, store):
        secrets = load_secrets(ws, os.environ)
        result = PROCESS_BOUNCES(
            store, open_bounce_source(source, os.environ), secret=secrets.verp, on_date=run_date, recorded_at=now
        )
        return {**result.as_dict(), "problems": len(result.problems)}


def render_summary(report: dict[str, Any]) -> str:
    """The markdown of the acknowledgements artifact."""
    printed = report["print"]
    parts = [
        f"## Acknowledgements {report['checked_at']}: workspace `{report['workspace']}`",
        f"### Print house\n\n{printed['files']} new acknowledgement file(s) with {printed['events']} event(s): "
        f"{printed['recorded']} recorded, {printed['returned']} letter(s) returned (their fallback follows "
        f"next night), {printed['posted']} posted, {printed['unchanged']} already known.",
        counts_table("Per status", printed["by_status"]),
    ]
    if printed["problems"]:
        parts.append("### Problems\n\n" + "\n".join(f"- {p}" for p in printed["problems"][:100]))
    bounces = report["bounces"]
    parts.append(f"### Email bounces\n\n{bounces['status']}")
    if bounces.get("result"):
        parts.append(result_markdown(bounces["result"]))
    parts.append(f"### SMS delivery reports\n\n{report['sms']['status']}")
    return "\n\n".join(parts)


@flow(name="acknowledgements", log_prints=False)
def acknowledgements(workspace: str, date: str | None = None, bounce_source: str | None = None) -> dict[str, Any]:
    """Record the print house's acknowledgements and process email bounces.

    ``bounce_source``: the bounce mailbox (a Maildir folder, an mbox file, or
    ``imaps://user@host/folder`` with the password in ``$DUNNING_IMAP_PASSWORD``); without it
    bounces are not read. ``date``: the day acknowledgements and bounces are recorded on (default today in the
    creditor's zone).
    """
    ws = load_workspace(workspace)
    root = str(ws.root)
    now = dt.datetime.now(dt.UTC)
    run_date = night_date(date, ws.config.creditor.timezone, now)
    bounces: dict[str, Any] = {"status": step_status(PROCESS_BOUNCES, FEEDBACK_MODULE, "process_bounces")}
    if PROCESS_BOUNCES is not None and not bounce_source:
        bounces["status"] = "no bounce mailbox given (parameter bounce_source): bounces not read"
    report: dict[str, Any] = {
        "workspace": root,
        "checked_at": now.replace(microsecond=0).isoformat(),
        "run_date": run_date.isoformat(),
        "print": print_acknowledgements(root, run_date, now),
        "bounces": bounces,
        "sms": {"status": SMS_REPORTS_NOTE},
    }
    if PROCESS_BOUNCES is not None and bounce_source:
        bounces["result"] = email_bounces(root, bounce_source, run_date, now)
    create_markdown_artifact(
        markdown=render_summary(report),
        key=artifact_key("acknowledgements", ws),
        description=f"Acknowledgements {report['checked_at']}",
    )
    return report


def main(argv: list[str] | None = None) -> None:
    """``python -m pipelines.acknowledgements --workspace DIR``: one pass, summary as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.acknowledgements", description=acknowledgements.description
    )
    parser.add_argument("--workspace", "-w", required=True, help="the workspace folder")
    parser.add_argument("--date", help="the day bounces are recorded on (YYYY-MM-DD; default today)")
    parser.add_argument("--bounces", metavar="SOURCE", help="bounce mailbox: Maildir, mbox or imaps:// URL")
    args = parser.parse_args(argv)
    report = acknowledgements(workspace=args.workspace, date=args.date, bounce_source=args.bounces)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
