"""The bank-statements flow: fetch the bank inbox → read each camt file → reconcile → summary artifact.

Deployment ``bank-statements`` (``prefect.yaml``) runs every 15 minutes on weekdays from 06:00 to
22:00 in the creditor's time zone, and also when the event ``dunning.bank-file.arrived`` comes in
(:func:`emit_bank_file_arrived`; events are best-effort, so the schedule stays as the fallback).
Run it by hand with::

    python -m pipelines.bank_statements --workspace acme [--date 2026-11-24]
    python -m pipelines.bank_statements --workspace acme --emit bank/inbox/2026-11-24.xml

Steps:

1. **fetch**: :func:`dunning.usecases.reconcile.run.fetch_inbox` stages each new file of ``bank.inbox``
   (``file://`` or ``sftp://``) in ``bank/received/`` and archives the original at the bank's side;
   staged files a crashed run left behind are picked up again;
2. **read** each staged file with :func:`camt.read` and count statements, entries and balance
   checks for the report; a file that is not camt is reported and never stops the others;
3. **reconcile**: :func:`dunning.usecases.reconcile.run.reconcile_inbox` reconciles every staged file
   (through ``reconcile_files``: one transaction per file, keyed on its SHA-256, so the same file
   twice, under any name, changes nothing), then drops the staged copies (refused files go to
   ``bank/refused/``);
4. **report**: a markdown artifact, key ``bank-statements-<workspace folder>``.

The flow keeps no state of its own. Before the reconciliation module existed, the flow read the
inbox in place and only reported; that path remains for a checkout without it (the summary then
says reconciliation is not available).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.events import Event, emit_event

import camt
from dunning.bank.inbox import inbox_transport
from dunning.ports import Transport, walk_files
from dunning.workspace import Workspace
from pipelines.common import (
    artifact_key,
    dunning_task,
    load_workspace,
    markdown_table,
    night_date,
    optional_function,
    result_markdown,
    step_status,
    summary_of,
    workspace_slug,
    workspace_store,
)

#: the event a bank-file drop emits; the ``bank-statements`` deployment is triggered by it
BANK_FILE_ARRIVED = "dunning.bank-file.arrived"
BANK_INBOX_RESOURCE = "dunning.bank-inbox"

RECONCILE_MODULE = "dunning.usecases.reconcile.run"
#: looked up once, when this module is imported: the flow reads and reports files before reconciliation lands
FETCH_INBOX = optional_function(RECONCILE_MODULE, "fetch_inbox")
RECONCILE_INBOX = optional_function(RECONCILE_MODULE, "reconcile_inbox")


def open_bank_inbox(ws: Workspace) -> Transport:
    """The transport of ``bank.inbox`` with the workspace's key, known_hosts and pinned fingerprint."""
    return inbox_transport(ws)


@dunning_task("fetch bank files")
def fetch_bank_files(workspace: str, staging: str) -> list[str]:
    """Local paths of the bank files to read: staged by the reconciliation's inbox, else the inbox's own files."""
    ws = load_workspace(workspace)
    if FETCH_INBOX is not None:
        return [str(path) for path in FETCH_INBOX(ws)]
    # Without reconciliation: read a local inbox in place, download a remote one to ``staging``; move nothing.
    local = ws.transport_dir(ws.config.bank.inbox)
    with open_bank_inbox(ws) as inbox:
        names = sorted(walk_files(inbox))
        if local is not None:
            return [str(local / name) for name in names]
        paths = []
        for name in names:
            target = Path(staging) / name
            inbox.get(name, target)
            paths.append(str(target))
        return paths


@dunning_task("read a camt file")
def read_bank_file(path: str) -> dict[str, Any]:
    """Counts of one camt file (statements, entries, transaction details, balance checks), or why it was refused."""
    name = Path(path).name
    if zipfile.is_zipfile(path):
        return {"file": name, "message": "ZIP archive (unpacked by reconciliation)", "error": None}
    try:
        parsed = camt.read(path)
    except camt.CamtError as exc:
        return {"file": name, "message": None, "error": str(exc)}
    entries = parsed.entries()
    return {
        "file": name,
        "message": parsed.message,
        "statements": len(parsed.statements),
        "entries": len(entries),
        "credits": sum(1 for e in entries if e.credit_debit == "CRDT"),
        "debits": sum(1 for e in entries if e.credit_debit == "DBIT"),
        "transactions": sum(len(e.transactions) for e in entries),
        "problems": sum(len(s.problems) for s in parsed.statements),
        "balances": dict(Counter(s.balance_check.status for s in parsed.statements)),
        "error": None,
    }


@dunning_task("reconcile bank files")
def reconcile(workspace: str, run_date: dt.date) -> dict[str, Any]:
    """``dunning.usecases.reconcile.run.reconcile_inbox``: match, apply, advance cases; idempotent per file."""
    if RECONCILE_INBOX is None:  # the flow does not call this task then; kept for a clear error
        raise RuntimeError(step_status(None, RECONCILE_MODULE, "reconcile_inbox"))
    with workspace_store(workspace) as (ws, store):
        return summary_of(RECONCILE_INBOX(store, ws, as_of=run_date))


def render_summary(report: dict[str, Any]) -> str:
    """The markdown of the bank-statements artifact."""
    files = report["files"]
    parts = [
        f"## Bank files {report['run_date']}: workspace `{report['workspace']}`",
        f"{len(files)} file(s) fetched from the bank inbox.",
    ]
    rows = [
        [
            f["file"],
            f["message"] or "refused",
            f.get("statements", ""),
            f.get("entries", ""),
            f.get("credits", ""),
            f.get("transactions", ""),
            f.get("problems", ""),
            ", ".join(f"{k} {v}" for k, v in sorted(f.get("balances", {}).items())),
        ]
        for f in files
    ]
    headers = ["file", "message", "statements", "entries", "credits", "tx details", "problems", "balance checks"]
    parts.append(markdown_table(headers, rows))
    refused = [f for f in files if f["error"]]
    if refused:
        parts.append("### Refused\n\n" + "\n".join(f"- {f['error']}" for f in refused))
    reconciliation = report["reconciliation"]
    parts.append(f"### Reconciliation\n\n{reconciliation['status']}")
    if reconciliation.get("result"):
        parts.append(result_markdown(reconciliation["result"]))
    return "\n\n".join(parts)


@flow(name="bank-statements", log_prints=False)
def bank_statements(workspace: str, date: str | None = None) -> dict[str, Any]:
    """Fetch the new files of the bank inbox, read them, reconcile them (when reconciliation exists), report.

    ``date``: the day the payments are applied on (YYYY-MM-DD; default today in the creditor's zone).
    """
    ws = load_workspace(workspace)
    root = str(ws.root)
    run_date = night_date(date, ws.config.creditor.timezone)
    staging = tempfile.mkdtemp(prefix="dunning-bank-")
    try:
        paths = fetch_bank_files(root, staging)
        files = [future.result() for future in read_bank_file.map(paths)] if paths else []
        available = RECONCILE_INBOX if FETCH_INBOX is not None else None
        reconciliation: dict[str, Any] = {"status": step_status(available, RECONCILE_MODULE, "reconcile_inbox")}
        if available is not None and paths:
            reconciliation["result"] = reconcile(root, run_date)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report = {"workspace": root, "run_date": run_date.isoformat(), "files": files, "reconciliation": reconciliation}
    create_markdown_artifact(
        markdown=render_summary(report),
        key=artifact_key("bank-statements", ws),
        description=f"Bank files {run_date.isoformat()}",
    )
    return report


def emit_bank_file_arrived(path: str | Path, workspace: str | Path | None = None) -> Event | None:
    """Tell Prefect a bank file landed, so the ``bank-statements`` deployment runs now.

    Call it from whatever drops the file (an SFTP fetch script, an inotify hook). The payload
    holds the file name, size and SHA-256, and the workspace folder; no personal data. Returns the
    event, or None when no Prefect API is configured (the 15-minute schedule then picks the file up).
    """
    file = Path(path)
    data = file.read_bytes()
    resource_id = BANK_INBOX_RESOURCE
    payload: dict[str, Any] = {"file_name": file.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if workspace is not None:
        ws = load_workspace(workspace)
        resource_id = f"{BANK_INBOX_RESOURCE}.{workspace_slug(ws)}"
        payload["workspace"] = str(ws.root)
    return emit_event(
        event=BANK_FILE_ARRIVED,
        resource={"prefect.resource.id": resource_id, "prefect.resource.name": "dunning bank inbox"},
        payload=payload,
    )


def main(argv: list[str] | None = None) -> None:
    """``python -m pipelines.bank_statements --workspace DIR [--date D | --emit FILE]``."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.bank_statements", description=bank_statements.description
    )
    parser.add_argument("--workspace", "-w", required=True, help="the workspace folder")
    parser.add_argument("--date", help="the day payments are applied on (YYYY-MM-DD; default today)")
    parser.add_argument("--emit", metavar="FILE", help="only emit the bank-file-arrived event for FILE")
    args = parser.parse_args(argv)
    if args.emit:
        event = emit_bank_file_arrived(args.emit, args.workspace)
        print(json.dumps({"emitted": event is not None, "event": BANK_FILE_ARRIVED}))
        return
    print(json.dumps(bank_statements(workspace=args.workspace, date=args.date), indent=2, default=str))


if __name__ == "__main__":
    main()
