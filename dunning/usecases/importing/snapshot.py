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
* importing the same file (same content) twice changes nothing.

All of it happens in one transaction: a crash leaves the store as it was.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, insert, select

from dunning.domain.references import reference_for_case
from dunning.ledger import LedgerSnapshot, Mapping, Problem, read_ledger
from dunning.store import Store
from dunning.store.bulk import insert_many, update_many
from dunning.store.schema import case_events, cases, debtors, invoices, ledger_imports

DEBTOR_FIELDS = tuple("name debtor_type language street postal_code city country email phone iban segment".split())  # noqa: SIM905
ZERO = Decimal("0.00")
CHUNK = 20_000  # stored rows read at a time
INVOICE_COLUMNS = tuple(  # the columns of a new invoice, in the order _new_invoices gives them
    """external_id debtor_id case_id currency invoice_date due_date original_amount open_amount ledger_amount
    reference description status regular_supply""".split()  # noqa: SIM905
)
IN_CHUNK = 5_000  # values in one IN (...) list


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
            writer.writerow([p.file, p.line, p.column, p.value, p.reason, p.severity])


def _ledger_amount(invoice: Any) -> Decimal:
    """What the ledger said last time (older stores did not keep it: then the open amount)."""
    amount: Decimal = invoice.ledger_amount if invoice.ledger_amount is not None else invoice.open_amount
    return amount


def _reopens(invoice: Any, amount: Decimal) -> bool:
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
        self.reference_kind = "ogm" if reference_kind == "be-ogm" else "rf"
        self.recorded_at = recorded_at
        self.source = f"ledger:{snapshot.sha256[:16]}"
        # (case_id, kind, detail, invoice_id, amount), in the order they happened
        self.events: list[tuple[int, str, dict[str, Any], int | None, Decimal | None]] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.touched_cases: set[int] = set()
        self.grouped: dict[tuple[int, str], list[Any]] = {}

    def event(
        self,
        case_id: int,
        kind: str,
        detail: dict[str, Any],
        invoice_id: int | None = None,
        amount: Decimal | None = None,
    ) -> None:
        self.events.append((case_id, kind, detail, invoice_id, amount))

    def _chunks(self, table: Table, columns: list[Any]) -> Iterator[Sequence[Any]]:
        """All rows of ``table`` (the named columns), ``CHUNK`` at a time in id order."""
        last = None
        while True:
            query = select(*columns).order_by(table.c.id).limit(CHUNK)
            if last is not None:
                query = query.where(table.c.id > last)
            rows = self.conn.execute(query).all()
            if not rows:
                return
            yield rows
            last = rows[-1].id

    # --- debtors --------------------------------------------------------------------------------

    def upsert_debtors(self, firsts: dict[str, list[Any]]) -> np.ndarray:
        """Add or update the debtors whose first rows are ``firsts``; return their store ids (same order)."""
        external = firsts["debtor_id"]
        index = pd.Index(external, dtype=object)
        ids = np.full(len(external), -1, dtype=np.int64)  # -1: not in the store yet
        wanted = list(zip(*(firsts[f] for f in DEBTOR_FIELDS), strict=True))
        changed = []
        columns = [debtors.c.id, debtors.c.external_id, debtors.c.email_invalid, *(debtors.c[f] for f in DEBTOR_FIELDS)]
        for chunk in self._chunks(debtors, columns):
            positions = index.get_indexer([r.external_id for r in chunk])
            for current, position in zip(chunk, positions.tolist(), strict=True):
                if position < 0:
                    continue
                ids[position] = current.id
                values = wanted[position]
                if tuple(current[3:]) == values:
                    continue
                diff = [f for f, old, new in zip(DEBTOR_FIELDS, current[3:], values, strict=True) if old != new]
                if diff:
                    # A new email address clears the "bounced" mark; an unchanged one keeps it.
                    keep_flag = current.email_invalid and current.email == values[DEBTOR_FIELDS.index("email")]
                    changed.append((position, current.id, values, diff, keep_flag))
        new_positions = np.flatnonzero(ids < 0).tolist()
        if new_positions:
            insert_many(
                self.conn,
                debtors,
                (
                    {
                        "external_id": external[p],
                        **dict(zip(DEBTOR_FIELDS, wanted[p], strict=True)),
                        "email_invalid": False,
                        "created_on": self.as_of,
                        "updated_on": self.as_of,
                    }
                    for p in new_positions
                ),
            )
            added = [external[p] for p in new_positions]
            for start in range(0, len(added), IN_CHUNK):
                query = select(debtors.c.id, debtors.c.external_id).where(
                    debtors.c.external_id.in_(added[start : start + IN_CHUNK])
                )
                rows = self.conn.execute(query).all()
                ids[index.get_indexer([r.external_id for r in rows])] = [r.id for r in rows]
            self.counts["debtors_added"] += len(new_positions)
        if changed:
            changed.sort(key=lambda c: c[0])  # file order, as the events are recorded
            update_many(
                self.conn,
                debtors,
                "id",
                (
                    {
                        **dict(zip(DEBTOR_FIELDS, values, strict=True)),
                        "updated_on": self.as_of,
                        "email_invalid": keep_flag,
                        "id": debtor_id,
                    }
                    for _p, debtor_id, values, _diff, keep_flag in changed
                ),
            )
            self.counts["debtors_updated"] += len(changed)
            open_case_of = defaultdict(list)
            for case in self.conn.execute(select(cases.c.id, cases.c.debtor_id).where(cases.c.status != "closed")):
                open_case_of[case.debtor_id].append(case.id)
            for _p, debtor_id, _values, diff, _ in changed:
                for case_id in open_case_of.get(debtor_id, []):
                    self.event(case_id, "debtor_updated", {"fields": diff})
        return ids

    # --- cases ----------------------------------------------------------------------------------

    def open_cases(self) -> dict[tuple[int, str], int]:
        query = select(cases.c.id, cases.c.debtor_id, cases.c.currency).where(cases.c.status != "closed")
        return {(r.debtor_id, r.currency): r.id for r in self.conn.execute(query)}

    def create_cases(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """Open a case for each (debtor id, currency), in that order; return all open cases by key."""
        if not keys:
            return self.open_cases()
        insert_many(
            self.conn,
            cases,
            (
                {
                    "debtor_id": d,
                    "currency": c,
                    "status": "open",
                    "stage": "new",
                    "opened_on": self.as_of,
                    "open_amount": ZERO,
                    "fees_amount": ZERO,
                    "interest_amount": ZERO,
                    "credit_amount": ZERO,
                }
                for d, c in keys
            ),
        )
        open_case = self.open_cases()
        created = [(key, open_case[key]) for key in keys]
        # The payment reference is derived from the case id, so it is unique and stable for the case's life.
        update_many(
            self.conn,
            cases,
            "id",
            (
                {"reference": reference_for_case(case_id, self.reference_kind).compact, "id": case_id}  # type: ignore[arg-type]
                for _key, case_id in created
            ),
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
        debtor_of = self.upsert_debtors(firsts)[debtor_codes]  # store id of each row's debtor
        del firsts

        # One pass over the stored invoices: changes and closures now, reopenings once cases exist.
        index = pd.Index(external, dtype=object)
        listed = np.zeros(len(external), dtype=bool)
        protected = self.snapshot.rejected_invoice_ids
        row_events: list[tuple[int, tuple[Any, ...]]] = []  # (file position, event): recorded in file order
        reopening: list[tuple[int, Any]] = []
        columns = [
            invoices.c.id,
            invoices.c.external_id,
            invoices.c.case_id,
            invoices.c.status,
            invoices.c.open_amount,
            invoices.c.ledger_amount,
            invoices.c.due_date,
            invoices.c.regular_supply,
        ]
        for chunk in self._chunks(invoices, columns):
            updates: list[dict[str, Any]] = []
            closures: list[dict[str, Any]] = []
            positions = index.get_indexer([r.external_id for r in chunk]).tolist()
            for current, position in zip(chunk, positions, strict=True):
                if position < 0:
                    if current.status == "open" and current.external_id not in protected:
                        closures.append(self.close_invoice(current, "settled_outside"))
                    continue
                listed[position] = True
                amount = amounts[position]
                if current.status != "open":
                    if _reopens(current, amount):
                        reopening.append((position, current))
                    continue
                if amount == 0:
                    closures.append(self.close_invoice(current, "settled_outside"))
                    continue
                change = self._change(current, position, amount, due_dates[position], supplies[position])
                if change is not None:
                    updates.append(change[0])
                    row_events.append((position, change[1]))
            update_many(self.conn, invoices, "id", updates)
            update_many(self.conn, invoices, "id", closures)

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
            reopened.append(
                {
                    "id": current.id,
                    "case_id": case_id,
                    "status": "open",
                    "closed_on": None,
                    **self._row_values(current, supplies[position], changes),
                }
            )
            detail = {"invoice": external[position], "was": current.status}
            row_events.append((position, (case_id, "invoice_reopened", detail, current.id, amount)))
            self.touched_cases.add(case_id)
            self.counts["invoices_reopened"] += 1
        update_many(self.conn, invoices, "id", reopened)
        row_events.sort(key=lambda e: e[0])
        self.events.extend(e for _, e in row_events)
        del row_events, reopening, reopened

        if len(adding):
            rows = self._new_invoices(adding, debtor_of, open_case)
            self.counts["invoices_added"] += insert_many(self.conn, invoices, rows, INVOICE_COLUMNS)
        self.refresh_cases()

    def _new_invoices(
        self, positions: np.ndarray, debtor_of: np.ndarray, open_case: dict[tuple[int, str], int]
    ) -> Iterator[tuple[Any, ...]]:
        """The invoices to insert (in :data:`INVOICE_COLUMNS` order) for the file rows at ``positions``."""
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
        self, current: Any, position: int, amount: Decimal, due_date: date, supply: bool | None
    ) -> tuple[dict[str, Any], tuple[Any, ...]] | None:
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
        update = {
            "id": current.id,
            "case_id": current.case_id,
            "status": "open",
            "closed_on": None,
            **self._row_values(current, supply, changes),
        }
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
    def _row_values(current: Any, supply: bool | None, changes: dict[str, Any]) -> dict[str, Any]:
        return {
            "open_amount": changes.get("open_amount", current.open_amount),
            "ledger_amount": changes.get("open_amount", _ledger_amount(current)),
            "due_date": changes.get("due_date", current.due_date),
            "regular_supply": current.regular_supply if supply is None else supply,
        }

    def close_invoice(self, current: Any, status: str) -> dict[str, Any]:
        """Record the closing of an invoice; return its update row."""
        self.group_event(current.case_id, "invoices_settled_outside", current.external_id, current.open_amount)
        self.touched_cases.add(current.case_id)
        self.counts["invoices_closed"] += 1
        return {"status": status, "closed_on": self.as_of, "id": current.id}

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
        totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
        has_open: set[int] = set()
        touched = sorted(self.touched_cases)
        for chunk_start in range(0, len(touched), IN_CHUNK):
            chunk = touched[chunk_start : chunk_start + IN_CHUNK]
            query = select(invoices.c.case_id, invoices.c.open_amount).where(
                invoices.c.case_id.in_(chunk), invoices.c.status == "open"
            )
            for case_id, amount in self.conn.execute(query):
                totals[case_id] += amount
                has_open.add(case_id)
        update_many(self.conn, cases, "id", ({"id": c, "open_amount": totals[c]} for c in touched))
        to_close = [c for c in touched if c not in has_open]
        if to_close:
            status_of: dict[int, str] = {}
            for chunk_start in range(0, len(to_close), IN_CHUNK):
                query = select(cases.c.id, cases.c.status).where(
                    cases.c.id.in_(to_close[chunk_start : chunk_start + IN_CHUNK])
                )
                status_of.update((r.id, r.status) for r in self.conn.execute(query))
            to_close = [c for c in to_close if status_of.get(c) != "closed"]
            update_many(
                self.conn,
                cases,
                "id",
                (
                    {
                        "status": "closed",
                        "closed_on": self.as_of,
                        "close_reason": "settled_outside",
                        "next_action_on": None,
                        "id": c,
                    }
                    for c in to_close
                ),
            )
            for case_id in to_close:
                self.event(case_id, "case_closed", {"reason": "settled_outside"})
            self.counts["cases_closed"] += len(to_close)

    def flush_events(self) -> None:
        """Write the events in the order they happened, then one per case and kind for the groups."""
        for (case_id, kind), group in sorted(self.grouped.items(), key=lambda item: item[0]):
            detail = {"invoices": sorted(group[1:]), "count": len(group) - 1}
            self.event(case_id, kind, detail, amount=group[0])
        self.grouped.clear()
        names = ("case_id", "on_date", "kind", "invoice_id", "amount", "detail", "source", "recorded_at")
        rows = (
            (case_id, self.as_of, kind, invoice_id, amount, detail, self.source, self.recorded_at)
            for case_id, kind, detail, invoice_id, amount in self.events
        )
        insert_many(self.conn, case_events, rows, names)
        self.events.clear()


def import_snapshot(
    store: Store,
    snapshot: LedgerSnapshot,
    *,
    as_of: date,
    reference_kind: str = "rf",
    reports_dir: Path | None = None,
    recorded_at: datetime | None = None,
) -> ImportResult:
    """Apply ``snapshot`` to the store as the open items on ``as_of``."""
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
        previous = conn.execute(select(ledger_imports.c.id).where(ledger_imports.c.sha256 == snapshot.sha256)).first()
        if previous is not None:
            return ImportResult(already_imported=True, **base)
        importer = _Importer(conn, snapshot, as_of, reference_kind, recorded_at)
        importer.apply()
        importer.flush_events()
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
        conn.execute(
            insert(ledger_imports).values(
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
        )
    return ImportResult(already_imported=False, counts=counts, **base)


def import_ledger(
    store: Store,
    path: Path,
    *,
    as_of: date,
    mapping: Mapping | None = None,
    reference_kind: str = "rf",
    reports_dir: Path | None = None,
) -> ImportResult:
    """Read a ledger file and import it (see :func:`import_snapshot`)."""
    snapshot = read_ledger(path, mapping)
    return import_snapshot(store, snapshot, as_of=as_of, reference_kind=reference_kind, reports_dir=reports_dir)
