"""The diff between one ledger snapshot and the store, applied on one connection (:class:`Importer`).

:func:`~dunning.usecases.importing.snapshot.import_snapshot` opens the transaction, checks the file
may be applied (not refused, not imported before) and drives an :class:`Importer`: it adds or
updates the debtors, adds, changes, reopens and closes invoices, opens and closes cases and
records one event per change (grouped per case and kind where many invoices change at once).
The store is read ``CHUNK`` rows at a time; ``IN_CHUNK`` bounds an ``IN (...)`` list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from dunning.domain.references import ReferenceKind, reference_for_case
from dunning.ledger import LedgerSnapshot
from dunning.store.ledger import (
    DEBTOR_FIELDS,
    DETAILS,
    NewEvent,
    StoredInvoice,
    case_statuses,
    close_cases,
    close_invoices,
    debtor_ids,
    insert_cases,
    insert_debtors,
    insert_events,
    insert_invoices,
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

ZERO = Decimal("0.00")
CHUNK = 20_000  # stored rows read at a time
IN_CHUNK = 5_000  # values in one IN (...) list


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


class Importer:
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
            self.conn,
            (
                (case_id, reference_for_case(case_id, self.kind_for(debtor)).compact)
                for (debtor, _c), case_id in created
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
        stored_ids = self.upsert_debtors(firsts)
        # A Belgian structured reference only for debtors in Belgium (their banks carry it): others get RF.
        self.countries = {
            int(i): str(c or "").upper() for i, c in zip(stored_ids.tolist(), firsts["country"], strict=True)
        }
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
