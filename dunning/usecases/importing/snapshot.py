"""Import a ledger snapshot into the store.

A ledger file is a **snapshot** of the creditor's open items:

* an invoice in the file and not in the store is added (to the debtor's open case
  for its currency, opened if needed);
* an open invoice whose amount or due date changed is updated, and the change
  recorded on the case;
* a closed invoice that is open again in the file is reopened;
* an open invoice missing from the file is closed as *settled outside*, unless a
  rejected row named it (a broken row never closes an invoice);
* a row with amount 0 says the invoice is settled;
* importing the same file (same content) twice changes nothing;
* a file with no data rows, or one that would close all open cases or more than a share of them
  (``ledger.max_close_share``, 20 % by default), is refused as a whole (:class:`SnapshotRefused`)
  unless the caller allows a mass close: the wrong file, or a broken export, must never settle
  real cases.

All of it happens in one transaction: a crash leaves the store as it was. This module is the
diff between the file and the store; the reads and bulk writes it needs are in
:mod:`dunning.store.ledger`.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from dunning.config import LedgerConfig
from dunning.csvcells import safe_cells
from dunning.domain.references import ReferenceKind, reference_for_case
from dunning.errors import LedgerError
from dunning.ledger import LedgerSnapshot, Mapping, Problem, read_ledger
from dunning.ledger.door import DueDateWindow
from dunning.ports import Progress
from dunning.store import Store
from dunning.store.ledger import (
    DEBTOR_FIELDS,
    DETAILS,
    LedgerImportRecord,
    NewEvent,
    StoredInvoice,
    case_statuses,
    close_cases,
    close_invoices,
    count_open_cases,
    debtor_ids,
    insert_cases,
    insert_debtors,
    insert_events,
    insert_invoices,
    insert_ledger_import,
    is_imported,
    open_case_ids_by_debtor,
    open_cases_by_key,
    open_invoice_totals,
    read_debtors_in_chunks,
    read_invoices_in_chunks,
    set_case_open_amounts,
    set_case_references,
    set_open_invoice_figures,
    update_debtors,
)
from dunning.store.locks import holding_stage_lock

ZERO = Decimal("0.00")
CHUNK = 20_000  # stored rows read at a time
IN_CHUNK = 5_000  # values in one IN (...) list
#: the share of the open cases one snapshot may close before it is refused (``ledger.max_close_share``)
DEFAULT_MAX_CLOSE_SHARE = Decimal("0.20")


class SnapshotRefused(LedgerError):
    """A ledger snapshot that would do mass harm (no data rows, or closing too many open cases).

    Nothing of it is applied; the message names the file and the counts, and how to import it
    anyway (``--allow-mass-close``) when the closures are real.
    """

    def __init__(self, message: str, *, file: str, open_cases: int, would_close: int, rows: int) -> None:
        super().__init__(message)
        self.file = file
        self.open_cases = open_cases
        self.would_close = would_close
        self.rows = rows


def _refuse_mass_close(
    file: Path, open_cases: int, would_close: int, rows: int, max_share: Decimal
) -> SnapshotRefused | None:
    """The refusal for a snapshot that closes all open cases or more than ``max_share`` of them (None: fine)."""
    if open_cases == 0 or would_close == 0:
        return None
    share = Decimal(would_close) / Decimal(open_cases)
    if would_close < open_cases and share <= max_share:
        return None
    what = "all" if would_close == open_cases else f"{share:.0%}"
    return SnapshotRefused(
        f"{file}: refused: importing it would close {would_close} of {open_cases} open cases ({what}; "
        f"the limit is {max_share:.0%}, ledger.max_close_share) as settled outside; {rows} data rows. "
        "Nothing was changed. If those cases really were settled, import it again with --allow-mass-close.",
        file=str(file),
        open_cases=open_cases,
        would_close=would_close,
        rows=rows,
    )


@dataclass(frozen=True)
class ImportResult:
    """What one import did; ``already_imported`` when the same file was seen before."""

    file: str
    sha256: str
    as_of: date
    already_imported: bool
    rows: int
    accepted: int
    rejected: int
    warnings: int
    counts: dict[str, int] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    report: str | None = None
    dialect: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "as_of": self.as_of.isoformat(),
            "already_imported": self.already_imported,
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "warnings": self.warnings,
            **self.counts,
            "report": self.report,
        }


def write_report(problems: tuple[Problem, ...], path: Path) -> None:
    """Write every rejection and warning as CSV (file, line, column, value, reason, severity)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "line", "column", "value", "reason", "severity"])
        for p in problems:
            writer.writerow(safe_cells([p.file, p.line, p.column, p.value, p.reason, p.severity]))


def _ledger_amount(invoice: StoredInvoice) -> Decimal:
    """What the ledger said last time (older stores did not keep it: then the open amount)."""
    return invoice.ledger_amount if invoice.ledger_amount is not None else invoice.open_amount


def _reopens(invoice: StoredInvoice, amount: Decimal) -> bool:
    """A closed invoice listed again opens again, unless the bank paid it and the ledger just lags.

    An invoice we saw paid in a bank file stays paid while the ledger still shows the figure it
    showed before the payment; a different figure means the creditor changed it, and it reopens.
    """
    if invoice.status == "open" or amount == 0:
        return False
    return not (invoice.status == "paid" and _ledger_amount(invoice) == amount)


class _Importer:
    """The diff between one snapshot and the store, applied on one connection.

    The store is read a chunk at a time (by id) and each stored invoice is looked up in
    the snapshot through a hash index, so memory holds the file and one chunk, not the
    store as well. Rows are written in batches as they are produced.
    """

    def __init__(
        self, conn: Connection, snapshot: LedgerSnapshot, as_of: date, reference_kind: str, recorded_at: datetime
    ) -> None:
        self.conn = conn
        self.snapshot = snapshot
        self.as_of = as_of
        self.reference_kind: ReferenceKind = "ogm" if reference_kind == "be-ogm" else "rf"
        self.countries: dict[int, str] = {}  # debtor id → country, of the debtors in the file
        self.recorded_at = recorded_at
        self.source = f"ledger:{snapshot.sha256[:16]}"
        self.events: list[NewEvent] = []  # in the order they happened
        self.counts: dict[str, int] = defaultdict(int)
        self.touched_cases: set[int] = set()
        self.grouped: dict[tuple[int, str], list[Any]] = {}  # [total, invoice, invoice, ...] by (case, kind)

    def event(
        self,
        case_id: int,
        kind: str,
        detail: dict[str, Any],
        invoice_id: int | None = None,
        amount: Decimal | None = None,
    ) -> None:
        self.events.append((case_id, kind, detail, invoice_id, amount))

    # --- debtors --------------------------------------------------------------------------------

    def upsert_debtors(self, firsts: dict[str, list[Any]]) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Add or update the debtors whose first rows are ``firsts``; return their store ids (same order)."""
        external = firsts["debtor_id"]
        index = pd.Index(external, dtype=object)
        ids = np.full(len(external), -1, dtype=np.int64)  # -1: not in the store yet
        wanted = list(zip(*(firsts[f] for f in DEBTOR_FIELDS), strict=True))
        changed = []
        for chunk in read_debtors_in_chunks(self.conn, CHUNK):
            positions = index.get_indexer([r.external_id for r in chunk])
            for current, position in zip(chunk, positions.tolist(), strict=True):
                if position < 0:
                    continue
                ids[position] = current.id
                values = wanted[position]
                stored = current[DETAILS]
                if stored == values:
                    continue
                diff = [f for f, old, new in zip(DEBTOR_FIELDS, stored, values, strict=True) if old != new]
                if diff:
                    # A new email address clears the "bounced" mark; an unchanged one keeps it.
                    keep_flag = current.email_invalid and current.email == values[DEBTOR_FIELDS.index("email")]
                    changed.append((position, current.id, values, diff, keep_flag))
        new_positions = np.flatnonzero(ids < 0).tolist()
        if new_positions:
            insert_debtors(self.conn, ((external[p], wanted[p]) for p in new_positions), self.as_of)
            stored_ids, stored_externals = debtor_ids(self.conn, [external[p] for p in new_positions], IN_CHUNK)
            ids[index.get_indexer(stored_externals)] = stored_ids
            self.counts["debtors_added"] += len(new_positions)
        if changed:
            changed.sort(key=lambda c: c[0])  # file order, as the events are recorded
            update_debtors(self.conn, ((d, values, flag) for _p, d, values, _diff, flag in changed), self.as_of)
            self.counts["debtors_updated"] += len(changed)
            open_case_of = open_case_ids_by_debtor(self.conn)
            for _p, debtor_id, _values, diff, _ in changed:
                for case_id in open_case_of.get(debtor_id, []):
                    self.event(case_id, "debtor_updated", {"fields": diff})
        return ids

    # --- cases ----------------------------------------------------------------------------------

    def kind_for(self, debtor_id: int) -> ReferenceKind:
        """The creditor's kind of reference, except that a Belgian OGM goes only to debtors in Belgium.

        A Dutch, German or French bank may not carry a Belgian structured communication (+++...+++);
        every SEPA bank carries an ISO 11649 RF reference. A debtor without a country lives where the
        creditor does (an OGM creditor is Belgian).
        """
        if self.reference_kind == "rf":
            return "rf"
        return "ogm" if self.countries.get(debtor_id, "") in ("", "BE") else "rf"

    def open_cases(self) -> dict[tuple[int, str], int]:
        return open_cases_by_key(self.conn)

    def create_cases(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """Open a case for each (debtor id, currency), in that order; return all open cases by key."""
        if not keys:
            return self.open_cases()
        insert_cases(self.conn, keys, self.as_of)
        open_case = self.open_cases()
        created = [(key, open_case[key]) for key in keys]
        # The payment reference is derived from the case id, so it is unique and stable for the case's life.
        set_case_references(
            self.conn, ((case_id, reference_for_case(case_id, self.kind_for(debtor)).compact)
                        for (debtor, _c), case_id in created),
        )
        details: dict[str, dict[str, Any]] = {}  # one detail object per currency, shared by the events
        for (_d, c), case_id in created:
            self.event(case_id, "case_opened", details.setdefault(c, {"currency": c}))
        self.counts["cases_opened"] += len(created)
        return open_case

    # --- invoices -------------------------------------------------------------------------------

    def apply(self) -> None:
        table = self.snapshot.table
        column = {name: table[name].tolist() for name in ("invoice_id", "currency", "amount", "due_date")}
        external, amounts, due_dates = column["invoice_id"], column["amount"], column["due_date"]
        supplies = table["regular_supply"].tolist() if "regular_supply" in table else [None] * len(table)
        # Debtors: the first row of each debtor in the file gives its details.
        debtor_codes, _ = pd.factorize(table["debtor_id"], sort=False)
        _, first_rows = np.unique(debtor_codes, return_index=True)
        firsts = {f: table[f].take(first_rows).tolist() for f in ("debtor_id", *DEBTOR_FIELDS)}
        stored_ids = self.upsert_debtors(firsts)
        # A Belgian structured reference only for debtors in Belgium (their banks carry it): others get RF.
        self.countries = {int(i): str(c or "").upper() for i, c in zip(stored_ids.tolist(), firsts["country"],
                                                                       strict=True)}
        debtor_of = stored_ids[debtor_codes]  # store id of each row's debtor
        del firsts

        # One pass over the stored invoices: changes and closures now, reopenings once cases exist.
        index = pd.Index(external, dtype=object)
        listed = np.zeros(len(external), dtype=bool)
        protected = self.snapshot.rejected_invoice_ids
        row_events: list[tuple[int, NewEvent]] = []  # (file position, event): recorded in file order
        reopening: list[tuple[int, StoredInvoice]] = []
        for chunk in read_invoices_in_chunks(self.conn, CHUNK):
            updates: list[tuple[int, int, Decimal, Decimal, date, bool | None]] = []
            closures: list[int] = []
            positions = index.get_indexer([r.external_id for r in chunk]).tolist()
            for current, position in zip(chunk, positions, strict=True):
                if position < 0:
                    if current.status == "open" and current.external_id not in protected:
                        closures.append(self.close_invoice(current))
                    continue
                listed[position] = True
                amount = amounts[position]
                if current.status != "open":
                    if _reopens(current, amount):
                        reopening.append((position, current))
                    continue
                if amount == 0:
                    closures.append(self.close_invoice(current))
                    continue
                change = self._change(current, position, amount, due_dates[position], supplies[position])
                if change is not None:
                    updates.append(change[0])
                    row_events.append((position, change[1]))
            set_open_invoice_figures(self.conn, updates)
            close_invoices(self.conn, closures, "settled_outside", self.as_of)

        nonzero = np.fromiter((amount != 0 for amount in amounts), dtype=bool, count=len(amounts))
        adding = np.flatnonzero(~listed & nonzero)  # file order: new invoices get ids in the order of the file
        del listed, nonzero
        currencies = column["currency"]
        needed = set(zip(debtor_of[adding].tolist(), table["currency"].to_numpy()[adding].tolist(), strict=True))
        needed.update((int(debtor_of[p]), currencies[p]) for p, _ in reopening)
        open_case = self.open_cases()
        if needed - set(open_case):
            open_case = self.create_cases(sorted(needed - set(open_case)))

        reopened = []
        for position, current in reopening:
            case_id = open_case[(int(debtor_of[position]), currencies[position])]
            amount = amounts[position]
            changes = {"open_amount": amount, "due_date": due_dates[position]}
            reopened.append((current.id, case_id, *self._figures(current, supplies[position], changes)))
            detail = {"invoice": external[position], "was": current.status}
            row_events.append((position, (case_id, "invoice_reopened", detail, current.id, amount)))
            self.touched_cases.add(case_id)
            self.counts["invoices_reopened"] += 1
        set_open_invoice_figures(self.conn, reopened)
        row_events.sort(key=lambda e: e[0])
        self.events.extend(e for _, e in row_events)
        del row_events, reopening, reopened

        if len(adding):
            rows = self._new_invoices(adding, debtor_of, open_case)
            self.counts["invoices_added"] += insert_invoices(self.conn, rows)
        self.refresh_cases()

    def _new_invoices(
        self,
        positions: np.ndarray[Any, np.dtype[np.intp]],
        debtor_of: np.ndarray[Any, np.dtype[np.int64]],
        open_case: dict[tuple[int, str], int],
    ) -> Iterator[tuple[Any, ...]]:
        """The invoices to insert (in :data:`~dunning.store.ledger.INVOICE_COLUMNS` order) for the file rows at
        ``positions``."""
        table = self.snapshot.table
        for start in range(0, len(positions), CHUNK):
            rows = positions[start : start + CHUNK]
            part = table.iloc[rows]
            debtor_ids = debtor_of[rows].tolist()
            currencies = part["currency"].tolist()
            externals = part["invoice_id"].tolist()
            amounts = part["amount"].tolist()
            case_ids = [open_case[key] for key in zip(debtor_ids, currencies, strict=True)]
            for case_id, external, amount in zip(case_ids, externals, amounts, strict=True):
                self.group_event(case_id, "invoices_added", external, amount)
            self.touched_cases.update(case_ids)
            yield from zip(
                externals,
                debtor_ids,
                case_ids,
                currencies,
                part["invoice_date"].tolist(),
                part["due_date"].tolist(),
                part["original_amount"].tolist(),
                amounts,
                amounts,
                part["reference"].tolist(),
                part["description"].tolist(),
                repeat("open"),
                part["regular_supply"].tolist(),
            )

    def _change(
        self, current: StoredInvoice, position: int, amount: Decimal, due_date: date, supply: bool | None
    ) -> tuple[tuple[int, int, Decimal, Decimal, date, bool | None], NewEvent] | None:
        """The update and the event for an open invoice the file lists with other figures (None: no change)."""
        changes: dict[str, Any] = {}
        # Only a change of the ledger's own figure counts: the open amount may be lower than the
        # ledger says because a bank payment was applied here that the ledger has not booked yet.
        if _ledger_amount(current) != amount:
            changes["open_amount"] = amount
        if current.due_date != due_date:
            changes["due_date"] = due_date
        if supply is not None and current.regular_supply != supply:
            changes["regular_supply"] = supply  # the flag counts Book XIX due dates: keep it current
        if not changes:
            return None
        update = (current.id, current.case_id, *self._figures(current, supply, changes))
        detail: dict[str, Any] = {"invoice": current.external_id}
        if "open_amount" in changes:
            detail.update(old_amount=str(_ledger_amount(current)), new_amount=str(amount))
        if "due_date" in changes:
            detail.update(old_due_date=current.due_date.isoformat(), new_due_date=due_date.isoformat())
        if "regular_supply" in changes:
            detail.update(regular_supply=changes["regular_supply"])
        self.touched_cases.add(current.case_id)
        self.counts["invoices_changed"] += 1
        return update, (current.case_id, "invoice_changed", detail, current.id, amount)

    @staticmethod
    def _figures(
        current: StoredInvoice, supply: bool | None, changes: dict[str, Any]
    ) -> tuple[Decimal, Decimal, date, bool | None]:
        """(open amount, ledger amount, due date, regular supply) of an invoice after ``changes``."""
        return (
            changes.get("open_amount", current.open_amount),
            changes.get("open_amount", _ledger_amount(current)),
            changes.get("due_date", current.due_date),
            current.regular_supply if supply is None else supply,
        )

    def close_invoice(self, current: StoredInvoice) -> int:
        """Record the closing of an invoice (settled outside dunning); return its id."""
        self.group_event(current.case_id, "invoices_settled_outside", current.external_id, current.open_amount)
        self.touched_cases.add(current.case_id)
        self.counts["invoices_closed"] += 1
        return current.id

    def group_event(self, case_id: int, kind: str, invoice: str, amount: Decimal) -> None:
        """One event per case and kind for what an import does to many invoices at once."""
        group = self.grouped.get((case_id, kind))
        if group is None:
            self.grouped[(case_id, kind)] = [ZERO + amount, invoice]  # [total, invoice, invoice, ...]
        else:
            group[0] += amount
            group.append(invoice)

    def refresh_cases(self) -> None:
        """Recompute the open amount of every touched case; close those with nothing open."""
        if not self.touched_cases:
            return
        touched = sorted(self.touched_cases)
        totals = open_invoice_totals(self.conn, touched, IN_CHUNK)
        set_case_open_amounts(self.conn, ((c, totals.get(c, ZERO)) for c in touched))
        to_close = [c for c in touched if c not in totals]
        if to_close:
            status_of = case_statuses(self.conn, to_close, IN_CHUNK)
            to_close = [c for c in to_close if status_of.get(c) != "closed"]
            close_cases(self.conn, to_close, self.as_of, "settled_outside")
            for case_id in to_close:
                self.event(case_id, "case_closed", {"reason": "settled_outside"})
            self.counts["cases_closed"] += len(to_close)

    def flush_events(self) -> None:
        """Write the events in the order they happened, then one per case and kind for the groups."""
        for (case_id, kind), group in sorted(self.grouped.items(), key=lambda item: item[0]):
            detail = {"invoices": sorted(group[1:]), "count": len(group) - 1}
            self.event(case_id, kind, detail, amount=group[0])
        self.grouped.clear()
        insert_events(self.conn, self.events, self.as_of, self.source, self.recorded_at)
        self.events.clear()


def import_snapshot(
    store: Store,
    snapshot: LedgerSnapshot,
    *,
    as_of: date,
    reference_kind: str = "rf",
    reports_dir: Path | None = None,
    recorded_at: datetime | None = None,
    progress: Progress | None = None,
    max_close_share: Decimal = DEFAULT_MAX_CLOSE_SHARE,
    allow_mass_close: bool = False,
) -> ImportResult:
    """Apply ``snapshot`` to the store as the open items on ``as_of``.

    Raises :class:`SnapshotRefused` (and changes nothing) for a file without data rows, or one
    that would close all open cases or more than ``max_close_share`` of them, unless
    ``allow_mass_close``. The check is made on the import itself, inside its transaction, so it
    counts exactly what the import would do (rejected rows protecting their invoices included).

    ``progress(done, total)`` is told the steps of the import as they end (:data:`IMPORT_STEPS`; the read of
    the file is the first, done by :func:`import_ledger`).
    """
    report_step = progress or _no_progress
    recorded_at = recorded_at or datetime.now(UTC)
    accepted = len(snapshot.table)
    report = None
    if reports_dir is not None and snapshot.problems:
        path = reports_dir / f"import-{as_of.isoformat()}-{snapshot.sha256[:12]}.csv"
        write_report(snapshot.problems, path)
        report = str(path)
    base: dict[str, Any] = {
        "file": str(snapshot.file),
        "sha256": snapshot.sha256,
        "as_of": as_of,
        "rows": snapshot.total_rows,
        "accepted": accepted,
        "rejected": snapshot.rejected,
        "warnings": snapshot.warnings,
        "problems": snapshot.problems,
        "report": report,
        "dialect": snapshot.dialect,
    }
    with store.begin() as conn:
        if is_imported(conn, snapshot.sha256):
            report_step(IMPORT_STEPS, IMPORT_STEPS)
            return ImportResult(already_imported=True, **base)
        open_before = count_open_cases(conn)
        if snapshot.total_rows == 0 and not allow_mass_close:
            raise SnapshotRefused(
                f"{snapshot.file}: refused: the file has a header but no data rows; importing it would close "
                f"all {open_before} open cases as settled outside. Nothing was changed.",
                file=str(snapshot.file),
                open_cases=open_before,
                would_close=open_before,
                rows=0,
            )
        importer = _Importer(conn, snapshot, as_of, reference_kind, recorded_at)
        importer.apply()
        if not allow_mass_close:
            refusal = _refuse_mass_close(
                snapshot.file, open_before, importer.counts["cases_closed"], snapshot.total_rows, max_close_share
            )
            if refusal is not None:
                raise refusal  # leaving the block rolls the whole import back
        report_step(2, IMPORT_STEPS)
        importer.flush_events()
        report_step(3, IMPORT_STEPS)
        counts = {
            key: importer.counts.get(key, 0)
            for key in (
                "debtors_added",
                "debtors_updated",
                "cases_opened",
                "cases_closed",
                "invoices_added",
                "invoices_changed",
                "invoices_reopened",
                "invoices_closed",
            )
        }
        record = LedgerImportRecord(
            sha256=snapshot.sha256,
            file_name=snapshot.file.name,
            as_of=as_of,
            rows=snapshot.total_rows,
            accepted=accepted,
            rejected=snapshot.rejected,
            warnings=snapshot.warnings,
            summary={**counts, "dialect": snapshot.dialect},
            recorded_at=recorded_at,
        )
        insert_ledger_import(conn, record)
    report_step(IMPORT_STEPS, IMPORT_STEPS)
    return ImportResult(already_imported=False, counts=counts, **base)


def ledger_settings(config: LedgerConfig) -> dict[str, Any]:
    """The import's guards as a workspace configures them (``ledger:`` in dunning.yaml), as keyword arguments."""
    window = config.due_date_window
    return {
        "max_close_share": config.max_close_share,
        "due_window": DueDateWindow(past_years=window.past_years, future_years=window.future_years),
    }



#: The steps of an import a progress bar counts: read the file; apply debtors, invoices and cases; record the
#: timeline events; record the import. (The work inside a step is vectorised: it has no per-row loop to count.)
IMPORT_STEPS = 4


def _no_progress(_done: int, _total: int) -> None:
    """Nobody watches."""


@holding_stage_lock("import")
def import_ledger(
    store: Store,
    path: Path,
    *,
    as_of: date,
    mapping: Mapping | None = None,
    reference_kind: str = "rf",
    reports_dir: Path | None = None,
    progress: Progress | None = None,
    max_close_share: Decimal = DEFAULT_MAX_CLOSE_SHARE,
    allow_mass_close: bool = False,
    due_window: DueDateWindow | None = None,
) -> ImportResult:
    """Read a ledger file and import it (see :func:`import_snapshot`); ``progress`` is told each step's end.

    Due dates outside ``due_window`` around ``as_of`` (default: 10 years back, 2 ahead) reject their row.
    """
    (progress or _no_progress)(0, IMPORT_STEPS)
    snapshot = read_ledger(path, mapping, as_of=as_of, due_window=due_window)
    (progress or _no_progress)(1, IMPORT_STEPS)
    return import_snapshot(
        store,
        snapshot,
        as_of=as_of,
        reference_kind=reference_kind,
        reports_dir=reports_dir,
        progress=progress,
        max_close_share=max_close_share,
        allow_mass_close=allow_mass_close,
    )
