"""Export files for third parties: hand-over to an agency, a file for a lawyer or bailiff, address checks.

::

    result = write_exports(store, workspace, date(2026, 11, 24), now=datetime.now(UTC))
    result.summary()   # files written, actions exported, cancelled, waiting

**What.** Planned actions on the ``export`` channel due on or before the run date: ``hand_over``
(settings ``agency``, ``format`` csv|json, ``include_documents``), ``escalate_to_legal`` (``to``,
``note``; always with history: the lawyer needs the reminders as evidence) and ``verify_address``
(``provider``; only the case, the debtor's name and postal address: an address-check provider needs
nothing more). A case closed meanwhile cancels its export; a case on hold waits.

**Where.** One file per night, action and recipient:
``output/exports/<night>/<action>-<recipient>-<night>.<csv|json>``, beside it ``<file>.sha256``
(``sha256sum`` format, written last: a file without a matching sidecar is not finished). Actions
that fall due later the same night go into ``...-<night>-2.csv`` and so on: a written file is never
changed. CSV has one row per open invoice (the case's figures repeated, history as one column);
JSON has one object per case with its invoices and history. Amounts are decimal strings.

**Exactly once.** Each exported action gets a ``documents`` row (kind ``export``, unique per
action) naming its file *before* the file is written, with an empty SHA-256; after the file and
its sidecar are written, one transaction fills in the SHA-256, marks the actions ``done`` and adds
an ``export_written`` event to each case's timeline. A re-run finds nothing planned and writes
nothing. A crash in between leaves actions planned with an unfinished document: the next run
completes that same file (kept as it is when its sidecar matches, else written again from the
store) and records it; it never puts an action into a second file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dunning.csvcells import safe_row
from dunning.domain.paylink import REVOKING_ACTIONS
from dunning.errors import StoreError
from dunning.ports import write_atomic
from dunning.store import Store
from dunning.store.actions import (
    load_action_outcomes,
    load_due_export_actions,
    load_export_subjects,
    mark_planned_actions,
)
from dunning.store.cases import NewCaseEvent, insert_case_events, load_case_events, load_case_invoices
from dunning.store.export_files import (
    confirm_documents,
    document_path_recorded,
    insert_unfinished_documents,
    load_unfinished_document_paths,
    load_unfinished_file_actions,
)
from dunning.store.payments import load_costs_paid
from dunning.store.revocations import revoke_case_links
from dunning.usecases.cases.view import printed_reference
from dunning.usecases.outgoing.due import owed_by
from dunning.workspace import Workspace

__all__ = ["DOCUMENT_KIND", "EXPORT_DIR", "ExportResult", "write_exports"]

log = logging.getLogger(__name__)

EXPORT_DIR = "output/exports"
DOCUMENT_KIND = "export"
UNFINISHED = ""  # documents.sha256 of an export whose file is not confirmed yet
#: the setting that names who receives each kind of export
RECIPIENT_SETTING = {"hand_over": "agency", "escalate_to_legal": "to", "verify_address": "provider"}
#: action outcomes worth showing in an exported history
HISTORY_STATUSES = ("sent", "delivered", "done", "failed", "bounced", "returned")
PAYMENT_EVENTS = ("payment_received", "payment_reversed", "case_paid", "case_reopened")


@dataclass
class ExportResult:
    """What one run wrote (counts and file names; never debtor data)."""

    run_date: date
    due: int = 0
    exported: int = 0
    cancelled: int = 0
    waiting: int = 0
    recovered: int = 0
    failed: int = 0
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"run_date": self.run_date.isoformat(), "due": self.due, "exported": self.exported,
                "files_written": len(self.files), "cancelled": self.cancelled, "waiting": self.waiting,
                "recovered": self.recovered, "failed": self.failed, "files": list(self.files),
                "problems": list(self.problems)}


def _slug(value: object) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(value or "default")).strip("._") or "default"


def _format(action: str, settings: dict[str, Any]) -> str:
    return "json" if action == "hand_over" and settings.get("format") == "json" else "csv"




# ---- choosing files ----------------------------------------------------------------------------


def _free_path(conn: Connection, workspace: Workspace, base: str, ext: str, taken: set[str]) -> str:
    """The first of ``base.ext``, ``base-2.ext``... neither recorded, on disk, nor taken in this run."""
    number = 1
    while True:
        name = f"{base}.{ext}" if number == 1 else f"{base}-{number}.{ext}"
        if name not in taken and not document_path_recorded(conn, name) and not workspace.path(name).exists():
            return name
        number += 1


def _assign_files(store: Store, workspace: Workspace, run_date: date, now: datetime, result: ExportResult) -> None:
    """Cancel or hold back what must not go; record a file for each remaining new export action."""
    with store.begin() as conn:
        groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for row in load_due_export_actions(conn, run_date):
            result.due += 1
            if row.document_id is not None:
                result.recovered += 1  # a file was chosen before a crash: finished below
                continue
            if row.case_status == "closed":
                mark_planned_actions(conn, [row.id], "cancelled", run_date)
                result.cancelled += 1
                continue
            if row.case_status == "on_hold":
                result.waiting += 1
                continue
            settings = row.settings
            recipient = _slug(settings.get(RECIPIENT_SETTING.get(row.action, ""), "default"))
            groups[(row.action, recipient, _format(row.action, settings))].append(row.id)
        taken: set[str] = set()
        for (action, recipient, ext), ids in sorted(groups.items()):
            base = f"{EXPORT_DIR}/{run_date.isoformat()}/{action}-{recipient}-{run_date.isoformat()}"
            path = _free_path(conn, workspace, base, ext, taken)
            taken.add(path)
            try:
                insert_unfinished_documents(conn, ids, kind=DOCUMENT_KIND, path=path, sha256=UNFINISHED,
                                            recorded_at=now)
            except IntegrityError:
                raise StoreError("another notifier is writing these exports; run one at a time") from None


# ---- content -----------------------------------------------------------------------------------


def _history(conn: Connection, case_id: int, exclude: int) -> list[dict[str, Any]]:
    entries: list[tuple[date, int, dict[str, Any]]] = []
    for r in load_action_outcomes(conn, case_id, HISTORY_STATUSES, exclude=exclude):
        entry = {"date": r.due_on.isoformat(), "what": r.action, "channel": r.channel, "status": r.status,
                 "amount": None if r.amount is None else str(r.amount),
                 "document": r.document_path if r.document_kind == "letter" else None}
        entries.append((r.due_on, 0, entry))
    for e in load_case_events(conn, case_id, kinds=PAYMENT_EVENTS):
        entries.append((e.on_date, 1, {"date": e.on_date.isoformat(), "what": e.kind, "channel": None,
                                       "status": None, "amount": None if e.amount is None else str(e.amount),
                                       "document": None}))
    return [entry for _, _, entry in sorted(entries, key=lambda x: (x[0], x[1], x[2]["what"]))]


def _records(conn: Connection, action_ids: list[int]) -> list[dict[str, Any]]:
    """One plain record per exported action: the case, the debtor, invoices, figures, history."""
    records = []
    subjects = load_export_subjects(conn, action_ids)
    paid = load_costs_paid(conn, sorted({r.case_id for r in subjects}))
    for r in subjects:
        settings = r.settings
        debtor: dict[str, Any] = {"id": r.debtor_external_id, "name": r.name, "street": r.street,
                                  "postal_code": r.postal_code, "city": r.city, "country": r.country}
        record: dict[str, Any] = {"case": r.case_id, "reference": printed_reference(r.reference), "debtor": debtor}
        if r.action != "verify_address":  # an address check needs the address, nothing else
            debtor.update({"type": r.debtor_type, "language": r.language})
            if r.action == "hand_over":  # the agency contacts the debtor
                debtor.update({"email": r.email, "phone": r.phone})
            # what is still owed, by kind: the total is the one the letters and `dunning cases` state
            owed = owed_by(Decimal(r.open_amount), Decimal(r.fees_amount), Decimal(r.interest_amount),
                           paid[r.case_id])
            record.update({
                "currency": r.currency, "principal": str(owed.principal_open), "fees": str(owed.fees_open),
                "interest": str(owed.interest_open), "total": str(owed.total),
                "invoices": [
                    {"invoice": i.external_id, "invoice_date": i.invoice_date.isoformat() if i.invoice_date else None,
                     "due_date": i.due_date.isoformat(),
                     "original_amount": None if i.original_amount is None else str(i.original_amount),
                     "open_amount": str(i.open_amount)}
                    for i in load_case_invoices(conn, r.case_id, open_only=True)
                ],
                "instructions": {k: settings[k] for k in ("agency", "to", "note") if settings.get(k) not in (None, "")},
            })
            if r.action == "escalate_to_legal" or settings.get("include_documents", True):
                record["history"] = _history(conn, r.case_id, r.id)
        records.append(record)
    return records


_CASE_COLUMNS = ["case", "reference", "debtor_id", "name", "street", "postal_code", "city", "country"]
_MONEY_COLUMNS = ["currency", "principal", "fees", "interest", "total", "invoice", "invoice_date", "due_date",
                  "original_amount", "open_amount"]


def _csv(action: str, records: list[dict[str, Any]]) -> bytes:
    extra = [] if action == "verify_address" else ["type", "language"] + (["email", "phone"] if action == "hand_over"
                                                                          else [])
    columns = _CASE_COLUMNS + extra
    if action != "verify_address":
        columns += [*_MONEY_COLUMNS, "instructions", "history"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        debtor = record["debtor"]
        base = {"case": record["case"], "reference": record["reference"], "debtor_id": debtor["id"],
                **{k: v for k, v in debtor.items() if k != "id"}}
        if action == "verify_address":
            writer.writerow(safe_row(base))
            continue
        base.update({k: record[k] for k in ("currency", "principal", "fees", "interest", "total")})
        base["instructions"] = "; ".join(f"{k}: {v}" for k, v in record["instructions"].items())
        base["history"] = "; ".join(
            " ".join(str(p) for p in (h["date"], h["what"], h["channel"], h["status"], h["amount"]) if p)
            for h in record.get("history", []))
        for invoice in record["invoices"] or [{}]:
            writer.writerow(safe_row({**base, **invoice}))  # names and addresses come from outside
    return out.getvalue().encode("utf-8")


def _json(action: str, recipient: str, night: str, workspace: Workspace, records: list[dict[str, Any]]) -> bytes:
    creditor = workspace.config.creditor
    document = {"export": action, "recipient": recipient, "night": night,
                "creditor": {"name": creditor.name, "enterprise_number": creditor.enterprise_number},
                "count": len(records), "cases": records}
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# ---- writing and recording ---------------------------------------------------------------------


def _sidecar_matches(path: Path) -> str | None:
    """The file's SHA-256 when it and its sidecar exist and agree (a finished earlier write)."""
    sidecar = path.with_name(path.name + ".sha256")
    if not (path.is_file() and sidecar.is_file()):
        return None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest if sidecar.read_text(encoding="utf-8").split()[:1] == [digest] else None


def _finish(store: Store, workspace: Workspace, path: str, run_date: date, now: datetime,
            result: ExportResult) -> None:
    with store.begin() as conn:
        rows = load_unfinished_file_actions(conn, path, UNFINISHED)
        if not rows:
            return
        records = _records(conn, [r.id for r in rows])
    target = workspace.path(path)
    action = rows[0].action
    digest = _sidecar_matches(target)
    if digest is None:
        recipient = str(rows[0].settings.get(RECIPIENT_SETTING.get(action, ""), "default"))
        data = (_json(action, recipient, target.parent.name, workspace, records) if path.endswith(".json")
                else _csv(action, records))
        digest = hashlib.sha256(data).hexdigest()
        try:
            write_atomic(target, data)
            write_atomic(target.with_name(target.name + ".sha256"), f"{digest}  {target.name}\n".encode())
        except OSError as exc:
            result.failed += len(rows)
            result.problems.append(f"export {path}: cannot write ({exc.strerror or exc}); retried by the next run")
            return
    with store.begin() as conn:
        ids = [r.id for r in rows]
        confirm_documents(conn, ids, digest, now)
        mark_planned_actions(conn, ids, "done", run_date)
        insert_case_events(conn, [
            NewCaseEvent(r.case_id, run_date, "export_written",
                         {"ref": r.idempotency_key, "action": r.action, "file": path, "sha256": digest,
                          "reason": f"{r.action.replace('_', ' ')} exported to {path} (SHA-256 {digest[:12]}…)"},
                         f"notify:export:{r.action}", now)
            for r in rows])
        for r in rows:  # the file is out of the creditor's hands: its pay links go too
            if r.action in REVOKING_ACTIONS:
                revoke_case_links(conn, r.case_id, reason=REVOKING_ACTIONS[r.action], by="dunning", on=run_date,
                                  at=now, source=f"notify:export:{r.action}")
    result.exported += len(rows)
    result.files.append(path)


def write_exports(store: Store, workspace: Workspace, run_date: date, *, now: datetime) -> ExportResult:
    """Write the export files of the planned export actions due by ``run_date``, each action once.

    Returns counts, the files written and problems (a file that cannot be written is reported and
    retried by the next run under the same name; the other files go on).
    """
    result = ExportResult(run_date)
    _assign_files(store, workspace, run_date, now, result)
    with store.begin() as conn:
        paths = load_unfinished_document_paths(conn, DOCUMENT_KIND, UNFINISHED)
    for path in paths:
        _finish(store, workspace, path, run_date, now, result)
    log.info("exports %s: %d due, %d exported in %d files, %d cancelled, %d waiting, %d failed", run_date,
             result.due, result.exported, len(result.files), result.cancelled, result.waiting, result.failed)
    return result
