"""The nightly flow: newest ledger drop → import → plan the night → dispatch → summary artifact.

Deployment ``nightly`` (``prefect.yaml``) runs it at 02:00 in the creditor's time zone. Run it by
hand with::

    python -m pipelines.nightly --workspace acme [--date 2026-11-24]

Steps, each a Prefect task over one library call (the CLI calls the same functions):

1. **fetch**: the newest file of the workspace's ``ledger/`` folder (CSV, XLSX, Parquet), by
   modification time; no file means no import (the night is still planned). A drop whose content
   was imported before, or that is older than the last import (a file left there while a newer
   snapshot was imported by hand), is skipped and the report says why
   (:func:`dunning.usecases.importing.drops.check_drop`);
2. **import**: :func:`dunning.usecases.importing.snapshot.import_ledger` (the same file twice changes nothing;
   a drop with no data rows or closing more than ``ledger.max_close_share`` of the open cases is refused,
   and the night stops there: nothing is planned on a snapshot a person has to look at);
   then the print house's acknowledgements (:func:`dunning.usecases.letters.acks.record_acknowledgements`),
   so legal periods run from real posting dates and returned letters get their fallback tonight;
3. **plan**: :func:`dunning.usecases.planning.night.run_night` for the night's date (the ``date`` parameter,
   else today where the creditor is); the same date twice plans nothing new;
4. **dispatch**: email and SMS through ``dunning.usecases.messaging.dispatch.dispatch_messages`` when that
   module exists (the summary says when it does not);
5. **letters**: the night's letter actions are rendered in chunks of :data:`LETTER_CHUNK_SIZE`
   (one task run per chunk, each chunk over all cores of the worker, so a retried chunk redoes only
   itself), then :func:`dunning.usecases.letters.send.send_letters` batches them for the print house
   and delivers each batch exactly once (one task: sending never runs twice at the same time);
6. **notify**: :func:`dunning.usecases.notify.run.notify` writes the export files and posts the
   creditor's webhooks (last, so an endpoint that is down never holds back the letters);
7. **pay pages**: :func:`dunning.web.prepared.prepare_pages` makes the pay pages of the links sent in the
   last ``paypage.prepare_days`` days (7; 0: skipped) for the night's date, so the openings that follow a
   mailing read one row each (``dunning links prepare`` does the same by hand);
8. **report**: a markdown artifact (imported rows, rejected rows, new actions per action and per
   channel, dispatch figures), key ``nightly-<workspace folder>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from dunning.errors import DeliveryError, FlowError
from dunning.ledger import load_mapping
from dunning.usecases.importing import snapshot as importing
from dunning.usecases.importing.drops import check_drop
from dunning.usecases.letters.acks import record_acknowledgements
from dunning.usecases.letters.render import render_letters, unrendered_letter_ids
from dunning.usecases.letters.send import send_letters
from dunning.usecases.notify.run import notify
from dunning.usecases.paypage.prepared import sent_links
from dunning.usecases.planning import night
from dunning.usecases.planning.rates import workspace_rates
from dunning.web.prepared import prepare_pages
from dunning.workspace import LEDGER_DROPS
from pipelines.common import (
    artifact_key,
    chunked,
    counts_table,
    dunning_task,
    load_workspace,
    markdown_table,
    night_date,
    optional_function,
    result_markdown,
    step_status,
    summary_of,
    workspace_store,
)

#: where ledger exports are dropped, inside the workspace (``dunning init`` creates it)
LEDGER_FOLDER = LEDGER_DROPS
LEDGER_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet"})
#: letter actions per render task (a few hundred keeps memory flat and a retry small)
LETTER_CHUNK_SIZE = 300

MESSAGING_MODULE = "dunning.usecases.messaging.dispatch"
#: looked up once, when this module is imported: the flow works before the messaging stage lands
DISPATCH_MESSAGES = optional_function(MESSAGING_MODULE, "dispatch_messages")


@dunning_task("find the newest ledger drop")
def newest_ledger_drop(workspace: str) -> str | None:
    """The newest ledger file in the workspace's ``ledger/`` folder (by modification time, then name)."""
    folder = load_workspace(workspace).path(LEDGER_FOLDER)
    if not folder.is_dir():
        return None
    drops = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in LEDGER_SUFFIXES]
    if not drops:
        return None
    return str(max(drops, key=lambda p: (p.stat().st_mtime, p.name)))


@dunning_task("check the ledger drop")
def ledger_drop_skip(workspace: str, path: str) -> dict[str, Any] | None:
    """Why the drop must not be imported (already imported, or older than the last import); None: import it."""
    with workspace_store(workspace) as (_ws, store):
        checked = check_drop(store, Path(path))
    if checked.skip is None:
        return None
    return {"file": path, "sha256": checked.sha256, "already_imported": True, "skipped": checked.skip}


@dunning_task("import the ledger")
def import_ledger_drop(workspace: str, path: str, run_date: dt.date) -> dict[str, Any]:
    """:func:`~dunning.usecases.importing.snapshot.import_ledger` with the workspace's mapping and reference kind."""
    with workspace_store(workspace) as (ws, store):
        mapping_file = ws.config.ledger.mapping
        result = importing.import_ledger(
            store,
            Path(path),
            as_of=run_date,
            mapping=load_mapping(ws.path(mapping_file)) if mapping_file else None,
            reference_kind=ws.config.creditor.reference,
            reports_dir=ws.reports_dir,
            **importing.ledger_settings(ws.config.ledger),
        )
        return result.summary()


@dunning_task("record print-house acknowledgements")
def acknowledgements_before_planning(workspace: str, run_date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """Posting dates and returned letters recorded before the night is planned.

    Legal periods run from the day a letter was really posted, and a returned letter gets its
    fallback tonight rather than tomorrow. A print house that cannot be reached does not stop
    the night: the step says why, and the hourly ``acknowledgements`` flow records them later.
    """
    try:
        with workspace_store(workspace) as (ws, store):
            return record_acknowledgements(store, ws, on_date=run_date, recorded_at=now).summary()
    except DeliveryError as exc:
        return {"status": f"skipped: the print house could not be reached ({exc})"}


@dunning_task("plan the night")
def plan_night(workspace: str, run_date: dt.date) -> dict[str, Any]:
    """:func:`~dunning.usecases.planning.night.run_night` over the workspace's flows; invalid flows stop the night."""
    with workspace_store(workspace) as (ws, store):
        flows, problems = night.load_flows(ws.flows_dir)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise FlowError("\n".join(str(p) for p in errors))
        creditor = ws.config.creditor
        result = night.run_night(
            store,
            flows,
            run_date,
            creditor_country=creditor.address.country,
            creditor_language=creditor.language,
            rates=workspace_rates(ws),
            write_off=ws.config.bank.write_off_tolerance(),
            plan_policy=ws.config.plans.policy(),
        )
        return result.summary()


@dunning_task("dispatch email and SMS")
def dispatch_email_sms(workspace: str, run_date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """``dunning.usecases.messaging.dispatch.dispatch_messages`` (exactly once per action: the use case's job)."""
    if DISPATCH_MESSAGES is None:  # the flow does not call this task then; kept for a clear error
        raise RuntimeError(step_status(None, MESSAGING_MODULE, "dispatch_messages"))
    with workspace_store(workspace) as (ws, store):
        return summary_of(DISPATCH_MESSAGES(store, ws, run_date, now=now))


@dunning_task("creditor webhooks and export files")
def notify_and_export(workspace: str, run_date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """:func:`~dunning.usecases.notify.run.notify`: export files written and webhooks posted, each once."""
    with workspace_store(workspace) as (ws, store):
        return notify(store, ws, run_date, now=now, env=os.environ).summary()


@dunning_task("prepare the pay pages of the links sent lately")
def prepare_pay_pages(workspace: str, run_date: dt.date) -> dict[str, Any]:
    """:func:`~dunning.web.prepared.prepare_pages` for the links of the last ``paypage.prepare_days`` days."""
    with workspace_store(workspace) as (ws, store):
        days = ws.config.paypage.prepare_days
        tokens = sent_links(store, ws, run_date - dt.timedelta(days=days - 1), run_date)
        return prepare_pages(ws, store, run_date, tokens).as_dict()


@dunning_task("list the night's letters")
def letters_to_render(workspace: str, run_date: dt.date) -> list[int]:
    """Ids of the planned letter actions due by ``run_date`` that have no PDF yet."""
    with workspace_store(workspace) as (_ws, store):
        return unrendered_letter_ids(store, run_date)


@dunning_task("render a chunk of letters")
def render_letter_chunk(action_ids: list[int], workspace: str, run_date: dt.date) -> dict[str, Any]:
    """:func:`~dunning.usecases.letters.render.render_letters` for these actions (a re-run renders nothing twice)."""
    with workspace_store(workspace) as (ws, store):
        return render_letters(store, ws, run_date, action_ids=action_ids).summary()


@dunning_task("send letters to the print house")
def send_to_print_house(workspace: str, run_date: dt.date) -> dict[str, Any]:
    """:func:`~dunning.usecases.letters.send.send_letters`: batches, manifests, delivery exactly once."""
    with workspace_store(workspace) as (ws, store):
        return send_letters(store, ws, run_date).summary()


def letters_summary(rendered: list[dict[str, Any]], sent: dict[str, Any]) -> dict[str, Any]:
    """One line of figures for the report: rendered (over all chunks), batches, letters sent, pages."""
    return {
        "rendered": sum(r.get("rendered", 0) for r in rendered),
        "failed": sum(r.get("failed", 0) for r in rendered),
        "batches": sent.get("batches", 0),
        "letters_sent": sent.get("letters_sent", 0),
        "pages": sent.get("pages", 0),
        "problems": [p for r in rendered for p in r.get("problems", [])] + list(sent.get("problems", [])),
    }


def render_summary(report: dict[str, Any]) -> str:
    """The markdown of the nightly artifact."""
    parts = [f"## Nightly run {report['run_date']}: workspace `{report['workspace']}`"]
    ledger = report["ledger"]
    if ledger is None:
        parts.append("### Ledger import\n\nNo ledger drop in `ledger/`: nothing imported.")
    elif ledger.get("skipped"):
        parts.append(f"### Ledger import\n\n`{Path(ledger['file']).name}`: {ledger['skipped']}.")
    else:
        state = "already imported (same content): nothing changed" if ledger["already_imported"] else "imported"
        rows = [
            [key.replace("_", " "), value]
            for key, value in ledger.items()
            if isinstance(value, int) and not isinstance(value, bool)
        ]
        name = Path(ledger["file"]).name
        parts.append(f"### Ledger import\n\n`{name}`: {state}.\n\n" + markdown_table(["what", "count"], rows))
        if ledger.get("report"):
            parts.append(f"Rejections and warnings: `{ledger['report']}`")
    acks = report.get("acknowledgements") or {}
    if "status" in acks:
        parts.append(f"### Print-house acknowledgements\n\n{acks['status']}")
    elif acks.get("files"):
        parts.append(f"### Print-house acknowledgements\n\n{acks['files']} file(s), {acks.get('events', 0)} event(s).")
    plan = report["plan"]
    parts.append(f"### Planned\n\n{plan['cases']} cases seen, **{plan['new_actions']} new actions**.")
    parts.append(counts_table("Per action", plan["by_action"]))
    parts.append(counts_table("Per channel", plan["by_channel"]))
    if plan["errors"]:
        parts.append("### Errors\n\n" + "\n".join(f"- {e}" for e in plan["errors"]))
    dispatch = report["dispatch"]
    parts.append(f"### Email and SMS\n\n{dispatch['status']}")
    if dispatch.get("result"):
        parts.append(result_markdown(dispatch["result"]))
    if report.get("notify"):
        hooks, files = report["notify"]["webhooks"], report["notify"]["exports"]
        parts.append("### Webhooks and exports\n\n" + markdown_table(
            ["webhooks delivered", "failed", "deferred", "export files", "actions exported"],
            [[hooks["delivered"], hooks["failed"], hooks["deferred"], files["files_written"], files["exported"]]]))
    letters = report["letters"]
    parts.append(
        "### Letters\n\n"
        + markdown_table(
            ["rendered", "failed", "print batches", "letters sent", "pages"],
            [[letters["rendered"], letters["failed"], letters["batches"], letters["letters_sent"], letters["pages"]]],
        )
    )
    pages = report.get("pay_pages")
    if pages:
        parts.append("### Pay pages\n\n" + markdown_table(
            ["links sent lately", "pages prepared", "already fresh", "skipped", "seconds"],
            [[pages["links"], pages["prepared"], pages["fresh"], pages["skipped"], pages["seconds"]]]))
    return "\n\n".join(parts)


@flow(name="nightly", log_prints=False)
def nightly(workspace: str, date: str | None = None) -> dict[str, Any]:
    """Import the newest ledger drop, plan the night, dispatch what can be dispatched, report.

    ``workspace``: the workspace folder. ``date``: the night (YYYY-MM-DD); default today in the
    creditor's time zone. Running the same night again imports and plans nothing new.
    """
    ws = load_workspace(workspace)
    root = str(ws.root)
    run_date = night_date(date, ws.config.creditor.timezone)
    drop = newest_ledger_drop(root)
    ledger = None
    if drop:
        ledger = ledger_drop_skip(root, drop) or import_ledger_drop(root, drop, run_date)
    acks = acknowledgements_before_planning(root, run_date, dt.datetime.now(dt.UTC))
    plan = plan_night(root, run_date)
    dispatch: dict[str, Any] = {"status": step_status(DISPATCH_MESSAGES, MESSAGING_MODULE, "dispatch_messages")}
    if DISPATCH_MESSAGES is not None:
        dispatch["result"] = dispatch_email_sms(root, run_date, dt.datetime.now(dt.UTC))
    rendered = [
        render_letter_chunk(chunk, root, run_date)
        for chunk in chunked(letters_to_render(root, run_date), LETTER_CHUNK_SIZE)
    ]
    letters = letters_summary(rendered, send_to_print_house(root, run_date))
    # last: a webhook endpoint that is down or misconfigured must not hold back the letters
    notified = notify_and_export(root, run_date, dt.datetime.now(dt.UTC))
    pages = prepare_pay_pages(root, run_date) if ws.config.paypage.prepare_days else None
    report = {
        "workspace": root,
        "run_date": run_date.isoformat(),
        "ledger": ledger,
        "acknowledgements": acks,
        "plan": plan,
        "dispatch": dispatch,
        "notify": notified,
        "letters": letters,
        "pay_pages": pages,
    }
    create_markdown_artifact(
        markdown=render_summary(report),
        key=artifact_key("nightly", ws),
        description=f"Nightly run {run_date.isoformat()}",
    )
    return report


def main(argv: list[str] | None = None) -> None:
    """``python -m pipelines.nightly --workspace DIR [--date YYYY-MM-DD]``: one night, summary as JSON."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.nightly", description=nightly.description)
    parser.add_argument("--workspace", "-w", required=True, help="the workspace folder")
    parser.add_argument("--date", help="the night to run (YYYY-MM-DD; default today in the creditor's zone)")
    args = parser.parse_args(argv)
    print(json.dumps(nightly(workspace=args.workspace, date=args.date), indent=2, default=str))


if __name__ == "__main__":
    main()
