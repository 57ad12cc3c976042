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

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from dunning.adapters.files import write_atomic
from dunning.errors import StoreError
from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, debtors, documents, invoices
from dunning.usecases.cases.view import printed_reference
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
        recorded = conn.execute(select(documents.c.id).where(documents.c.path == name).limit(1)).first()
        if name not in taken and recorded is None and not workspace.path(name).exists():
            return name
        number += 1


def _assign_files(store: Store, workspace: Workspace, run_date: date, now: datetime, result: ExportResult) -> None:
    """Cancel or hold back what must not go; record a file for each remaining new export action."""
    query = (
        select(actions.c.id, actions.c.action, actions.c.settings, actions.c.case_id,
               cases.c.status.label("case_status"), documents.c.id.label("document_id"))
        .join(cases, cases.c.id == actions.c.case_id)
        .outerjoin(documents, documents.c.action_id == actions.c.id)
        .where(actions.c.channel == "export", actions.c.status == "planned", actions.c.due_on <= run_date)
        .order_by(actions.c.case_id, actions.c.id)
    )
    with store.begin() as conn:
        groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for row in conn.execute(query):
            result.due += 1
            if row.document_id is not None:
                result.recovered += 1  # a file was chosen before a crash: finished below
                continue
            if row.case_status == "closed":
                conn.execute(update(actions).where(actions.c.id == row.id)
                             .values(status="cancelled", outcome_on=run_date))
                result.cancelled += 1
                continue
            if row.case_status == "on_hold":
                result.waiting += 1
                continue
            settings = dict(row.settings or {})
            recipient = _slug(settings.get(RECIPIENT_SETTING.get(row.action, ""), "default"))
            groups[(row.action, recipient, _format(row.action, settings))].append(row.id)
        taken: set[str] = set()
        records = []
        for (action, recipient, ext), ids in sorted(groups.items()):
            base = f"{EXPORT_DIR}/{run_date.isoformat()}/{action}-{recipient}-{run_date.isoformat()}"
            path = _free_path(conn, workspace, base, ext, taken)
            taken.add(path)
            records += [{"action_id": i, "kind": DOCUMENT_KIND, "path": path, "sha256": UNFINISHED, "pages": None,
                         "recorded_at": now} for i in ids]
        if records:
            try:
                conn.execute(insert(documents), records)
            except IntegrityError:
                raise StoreError("another notifier is writing these exports; run one at a time") from None


# ---- content -----------------------------------------------------------------------------------


def _history(conn: Connection, case_id: int, exclude: int) -> list[dict[str, Any]]:
    entries: list[tuple[date, int, dict[str, Any]]] = []
    query = (select(actions.c.id, actions.c.due_on, actions.c.outcome_on, actions.c.action, actions.c.channel,
                    actions.c.status, actions.c.amount, documents.c.path, documents.c.kind)
             .outerjoin(documents, documents.c.action_id == actions.c.id)
             .where(actions.c.case_id == case_id, actions.c.status.in_(HISTORY_STATUSES), actions.c.id != exclude))
    for r in conn.execute(query):
        entry = {"date": r.due_on.isoformat(), "what": r.action, "channel": r.channel, "status": r.status,
                 "amount": None if r.amount is None else str(r.amount),
                 "document": r.path if r.kind == "letter" else None}
        entries.append((r.due_on, 0, entry))
    for e in conn.execute(select(case_events.c.on_date, case_events.c.kind, case_events.c.amount)
                          .where(case_events.c.case_id == case_id, case_events.c.kind.in_(PAYMENT_EVENTS))):
        entries.append((e.on_date, 1, {"date": e.on_date.isoformat(), "what": e.kind, "channel": None,
                                       "status": None, "amount": None if e.amount is None else str(e.amount),
                                       "document": None}))
    return [entry for _, _, entry in sorted(entries, key=lambda x: (x[0], x[1], x[2]["what"]))]


def _records(conn: Connection, action_ids: list[int]) -> list[dict[str, Any]]:
    """One plain record per exported action: the case, the debtor, invoices, figures, history."""
    query = (
        select(actions.c.id, actions.c.action, actions.c.settings, actions.c.step, actions.c.due_on,
               actions.c.case_id, cases.c.reference, cases.c.currency, cases.c.open_amount, cases.c.fees_amount,
               cases.c.interest_amount, debtors.c.external_id, debtors.c.name, debtors.c.debtor_type,
               debtors.c.language, debtors.c.street, debtors.c.postal_code, debtors.c.city, debtors.c.country,
               debtors.c.email, debtors.c.phone)
        .join(cases, cases.c.id == actions.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(actions.c.id.in_(action_ids))
        .order_by(actions.c.case_id, actions.c.id)
    )
    records = []
    for r in conn.execute(query):
        settings = dict(r.settings or {})
        debtor: dict[str, Any] = {"id": r.external_id, "name": r.name, "street": r.street,
                                  "postal_code": r.postal_code, "city": r.city, "country": r.country}
        record: dict[str, Any] = {"case": r.case_id, "reference": printed_reference(r.reference), "debtor": debtor}
        if r.action != "verify_address":  # an address check needs the address, nothing else
            debtor.update({"type": r.debtor_type, "language": r.language})
            if r.action == "hand_over":  # the agency contacts the debtor
                debtor.update({"email": r.email, "phone": r.phone})
            total = Decimal(r.open_amount) + Decimal(r.fees_amount) + Decimal(r.interest_amount)
            record.update({
                "currency": r.currency, "principal": str(r.open_amount), "fees": str(r.fees_amount),
                "interest": str(r.interest_amount), "total": str(total),
                "invoices": [
                    {"invoice": i.external_id, "invoice_date": i.invoice_date.isoformat() if i.invoice_date else None,
                     "due_date": i.due_date.isoformat(),
                     "original_amount": None if i.original_amount is None else str(i.original_amount),
                     "open_amount": str(i.open_amount)}
                    for i in conn.execute(select(invoices).where(invoices.c.case_id == r.case_id,
                                                                 invoices.c.status == "open")
                                          .order_by(invoices.c.due_date, invoices.c.external_id))
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
            writer.writerow(base)
            continue
        base.update({k: record[k] for k in ("currency", "principal", "fees", "interest", "total")})
        base["instructions"] = "; ".join(f"{k}: {v}" for k, v in record["instructions"].items())
        base["history"] = "; ".join(
            " ".join(str(p) for p in (h["date"], h["what"], h["channel"], h["status"], h["amount"]) if p)
            for h in record.get("history", []))
        for invoice in record["invoices"] or [{}]:
            writer.writerow({**base, **invoice})
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
        rows = list(conn.execute(
            select(actions.c.id, actions.c.action, actions.c.idempotency_key, actions.c.case_id, actions.c.settings)
            .join(documents, documents.c.action_id == actions.c.id)
            .where(documents.c.path == path, documents.c.sha256 == UNFINISHED, actions.c.status == "planned")
            .order_by(actions.c.case_id, actions.c.id)))
        if not rows:
            return
        records = _records(conn, [r.id for r in rows])
    target = workspace.path(path)
    action = rows[0].action
    digest = _sidecar_matches(target)
    if digest is None:
        recipient = str(dict(rows[0].settings or {}).get(RECIPIENT_SETTING.get(action, ""), "default"))
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
        conn.execute(update(documents).where(documents.c.action_id.in_(ids)).values(sha256=digest, recorded_at=now))
        conn.execute(update(actions).where(actions.c.id.in_(ids), actions.c.status == "planned")
                     .values(status="done", outcome_on=run_date))
        conn.execute(insert(case_events), [
            {"case_id": r.case_id, "on_date": run_date, "kind": "export_written", "invoice_id": None, "amount": None,
             "detail": {"ref": r.idempotency_key, "action": r.action, "file": path, "sha256": digest,
                        "reason": f"{r.action.replace('_', ' ')} exported to {path} (SHA-256 {digest[:12]}…)"},
             "source": f"notify:export:{r.action}", "recorded_at": now}
            for r in rows])
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
        paths = sorted(set(conn.execute(
            select(documents.c.path).join(actions, actions.c.id == documents.c.action_id)
            .where(documents.c.kind == DOCUMENT_KIND, documents.c.sha256 == UNFINISHED,
                   actions.c.status == "planned")).scalars()))
    for path in paths:
        _finish(store, workspace, path, run_date, now, result)
    log.info("exports %s: %d due, %d exported in %d files, %d cancelled, %d waiting, %d failed", run_date,
             result.due, result.exported, len(result.files), result.cancelled, result.waiting, result.failed)
    return result
