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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from dunning.domain.references import reference_for_case
from dunning.ledger import LedgerSnapshot, Mapping, Problem, read_ledger
from dunning.store import Store, case_events, cases, debtors, invoices, ledger_imports
from dunning.store.bulk import insert_many, update_many

DEBTOR_FIELDS = (
    "name",
    "debtor_type",
    "language",
    "street",
    "postal_code",
    "city",
    "country",
    "email",
    "phone",
    "iban",
    "segment",
)
ZERO = Decimal("0.00")


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
    """The diff between one snapshot and the store, applied on one connection."""

    def __init__(
        self, conn: Connection, snapshot: LedgerSnapshot, as_of: date, reference_kind: str, recorded_at: datetime
    ) -> None:
        self.conn = conn
        self.snapshot = snapshot
        self.as_of = as_of
        self.reference_kind = "ogm" if reference_kind == "be-ogm" else "rf"
        self.recorded_at = recorded_at
        self.source = f"ledger:{snapshot.sha256[:16]}"
        self.events: list[dict[str, Any]] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.touched_cases: set[int] = set()
        self.closures: list[dict[str, Any]] = []
        self.grouped: dict[tuple[int, str], dict[str, Any]] = {}

    def event(
        self,
        case_id: int,
        kind: str,
        detail: dict[str, Any],
        invoice_id: int | None = None,
        amount: Decimal | None = None,
    ) -> None:
        self.events.append(
            {
                "case_id": case_id,
                "on_date": self.as_of,
                "kind": kind,
                "invoice_id": invoice_id,
                "amount": amount,
                "detail": detail,
                "source": self.source,
                "recorded_at": self.recorded_at,
            }
        )

    # --- debtors --------------------------------------------------------------------------------

    def upsert_debtors(self, first_rows: dict[str, dict[str, Any]]) -> dict[str, int]:
        existing = {r.external_id: r for r in self.conn.execute(select(debtors))}
        new_rows, changed = [], []
        for external_id, row in first_rows.items():
            values = {f: row[f] for f in DEBTOR_FIELDS}
            current = existing.get(external_id)
            if current is None:
                new_rows.append(
                    {
                        "external_id": external_id,
                        **values,
                        "email_invalid": False,
                        "created_on": self.as_of,
                        "updated_on": self.as_of,
                    }
                )
                continue
            diff = [f for f in DEBTOR_FIELDS if getattr(current, f) != values[f]]
            if diff:
                keep_flag = current.email_invalid and current.email == values["email"]
                changed.append((current.id, values, diff, keep_flag))
        ids = {external_id: r.id for external_id, r in existing.items()}
        if new_rows:
            result = self.conn.execute(insert(debtors).returning(debtors.c.id, debtors.c.external_id), new_rows)
            for debtor_id, external_id in result:
                ids[external_id] = debtor_id
            self.counts["debtors_added"] += len(new_rows)
        if changed:
            statement = (
                update(debtors)
                .where(debtors.c.id == bindparam("b_id"))
                .values({f: bindparam("b_" + f) for f in (*DEBTOR_FIELDS, "updated_on", "email_invalid")})
            )
            params = []
            for debtor_id, values, _diff, keep_flag in changed:
                param = {"b_" + f: v for f, v in values.items()}
                # A new email address clears the "bounced" mark; an unchanged one keeps it.
                param.update(b_id=debtor_id, b_updated_on=self.as_of, b_email_invalid=keep_flag)
                params.append(param)
            self.conn.execute(statement, params)
            self.counts["debtors_updated"] += len(changed)
            open_case_of = defaultdict(list)
            for case in self.conn.execute(select(cases.c.id, cases.c.debtor_id).where(cases.c.status != "closed")):
                open_case_of[case.debtor_id].append(case.id)
            for debtor_id, _values, diff, _ in changed:
                for case_id in open_case_of.get(debtor_id, []):
                    self.event(case_id, "debtor_updated", {"fields": diff})
        return ids

    # --- cases ----------------------------------------------------------------------------------

    def open_cases(self) -> dict[tuple[int, str], int]:
        query = select(cases.c.id, cases.c.debtor_id, cases.c.currency).where(cases.c.status != "closed")
        return {(r.debtor_id, r.currency): r.id for r in self.conn.execute(query)}

    def create_cases(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
        if not keys:
            return {}
        rows = [
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
        ]
        result = self.conn.execute(insert(cases).returning(cases.c.id, cases.c.debtor_id, cases.c.currency), rows)
        created = {(d, c): case_id for case_id, d, c in result}
        # The payment reference is derived from the case id, so it is unique and stable for the case's life.
        self.conn.execute(
            update(cases).where(cases.c.id == bindparam("b_id")).values(reference=bindparam("b_reference")),
            [
                {"b_id": case_id, "b_reference": reference_for_case(case_id, self.reference_kind).compact}  # type: ignore[arg-type]
                for case_id in created.values()
            ],
        )
        for (_d, c), case_id in created.items():
            self.event(case_id, "case_opened", {"currency": c})
        self.counts["cases_opened"] += len(created)
        return created

    # --- invoices -------------------------------------------------------------------------------

    def apply(self) -> None:
        table = self.snapshot.table
        first_rows: dict[str, dict[str, Any]] = {}
        names = list(table.columns)
        records = [
            dict(zip(names, values, strict=True)) for values in zip(*(table[n].tolist() for n in names), strict=True)
        ]
        for row in records:
            first_rows.setdefault(row["debtor_id"], row)
        debtor_ids = self.upsert_debtors(first_rows)
        stored = {r.external_id: r for r in self.conn.execute(select(invoices))}
        open_case = self.open_cases()

        needed = {
            (debtor_ids[r["debtor_id"]], r["currency"])
            for r in records
            if (r["invoice_id"] not in stored and r["amount"] != 0)
            or (r["invoice_id"] in stored and _reopens(stored[r["invoice_id"]], r["amount"]))
        }
        open_case.update(self.create_cases(sorted(needed - set(open_case))))

        new_invoices: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        seen: set[str] = set()
        for row in records:
            seen.add(row["invoice_id"])
            debtor_id = debtor_ids[row["debtor_id"]]
            current = stored.get(row["invoice_id"])
            amount = row["amount"]
            if current is None:
                if amount == 0:
                    continue
                case_id = open_case[(debtor_id, row["currency"])]
                new_invoices.append(
                    {
                        "external_id": row["invoice_id"],
                        "debtor_id": debtor_id,
                        "case_id": case_id,
                        "currency": row["currency"],
                        "invoice_date": row["invoice_date"],
                        "due_date": row["due_date"],
                        "original_amount": row["original_amount"],
                        "open_amount": amount,
                        "ledger_amount": amount,
                        "reference": row["reference"],
                        "description": row["description"],
                        "status": "open",
                    }
                )
                self.touched_cases.add(case_id)
                continue
            if current.status == "open":
                if amount == 0:
                    self.close_invoice(current, "settled_outside")
                    continue
                changes = {}
                # Only a change of the ledger's own figure counts: the open amount may be lower than the
                # ledger says because a bank payment was applied here that the ledger has not booked yet.
                if _ledger_amount(current) != amount:
                    changes["open_amount"] = amount
                if current.due_date != row["due_date"]:
                    changes["due_date"] = row["due_date"]
                if changes:
                    updates.append(
                        {
                            "id": current.id,
                            "case_id": current.case_id,
                            "status": "open",
                            "closed_on": None,
                            **self._row_values(current, row, changes),
                        }
                    )
                    detail = {"invoice": row["invoice_id"]}
                    if "open_amount" in changes:
                        detail.update(old_amount=str(_ledger_amount(current)), new_amount=str(amount))
                    if "due_date" in changes:
                        detail.update(
                            old_due_date=current.due_date.isoformat(), new_due_date=row["due_date"].isoformat()
                        )
                    self.event(current.case_id, "invoice_changed", detail, current.id, amount)
                    self.touched_cases.add(current.case_id)
                    self.counts["invoices_changed"] += 1
            elif _reopens(current, amount):
                case_id = open_case[(debtor_id, row["currency"])]
                updates.append(
                    {
                        "id": current.id,
                        "case_id": case_id,
                        "status": "open",
                        "closed_on": None,
                        **self._row_values(current, row, {"open_amount": amount, "due_date": row["due_date"]}),
                    }
                )
                self.event(
                    case_id,
                    "invoice_reopened",
                    {"invoice": row["invoice_id"], "was": current.status},
                    current.id,
                    amount,
                )
                self.touched_cases.add(case_id)
                self.counts["invoices_reopened"] += 1

        if new_invoices:
            insert_many(self.conn, invoices, new_invoices)
            for invoice in new_invoices:
                self.group_event(invoice["case_id"], "invoices_added", invoice["external_id"], invoice["open_amount"])
            self.counts["invoices_added"] += len(new_invoices)
        if updates:
            self.conn.execute(
                update(invoices)
                .where(invoices.c.id == bindparam("b_id"))
                .values(
                    case_id=bindparam("b_case_id"),
                    status=bindparam("b_status"),
                    closed_on=bindparam("b_closed_on"),
                    open_amount=bindparam("b_open_amount"),
                    ledger_amount=bindparam("b_ledger_amount"),
                    due_date=bindparam("b_due_date"),
                ),
                [{"b_" + k: v for k, v in u.items()} for u in updates],
            )

        protected = self.snapshot.rejected_invoice_ids
        for current in stored.values():
            if current.status == "open" and current.external_id not in seen and current.external_id not in protected:
                self.close_invoice(current, "settled_outside")
        self.flush_closures()
        self.refresh_cases()

    @staticmethod
    def _row_values(current: Any, row: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        return {
            "open_amount": changes.get("open_amount", current.open_amount),
            "ledger_amount": changes.get("open_amount", _ledger_amount(current)),
            "due_date": changes.get("due_date", current.due_date),
        }

    def close_invoice(self, current: Any, status: str) -> None:
        self.closures.append({"b_id": current.id, "b_status": status, "b_closed_on": self.as_of})
        self.group_event(current.case_id, "invoices_settled_outside", current.external_id, current.open_amount)
        self.touched_cases.add(current.case_id)
        self.counts["invoices_closed"] += 1

    def group_event(self, case_id: int, kind: str, invoice: str, amount: Decimal) -> None:
        """One event per case and kind for what an import does to many invoices at once."""
        group = self.grouped.setdefault((case_id, kind), {"invoices": [], "amount": ZERO})
        group["invoices"].append(invoice)
        group["amount"] += amount

    def flush_closures(self) -> None:
        if self.closures:
            self.conn.execute(
                update(invoices)
                .where(invoices.c.id == bindparam("b_id"))
                .values(status=bindparam("b_status"), closed_on=bindparam("b_closed_on")),
                self.closures,
            )
            self.closures.clear()

    def refresh_cases(self) -> None:
        """Recompute the open amount of every touched case; close those with nothing open."""
        if not self.touched_cases:
            return
        totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
        has_open: set[int] = set()
        touched = sorted(self.touched_cases)
        for chunk_start in range(0, len(touched), 5000):
            chunk = touched[chunk_start : chunk_start + 5000]
            query = select(invoices.c.case_id, invoices.c.open_amount).where(
                invoices.c.case_id.in_(chunk), invoices.c.status == "open"
            )
            for case_id, amount in self.conn.execute(query):
                totals[case_id] += amount
                has_open.add(case_id)
        update_many(self.conn, cases, "id", [{"id": c, "open_amount": totals[c]} for c in touched])
        to_close = [c for c in touched if c not in has_open]
        if to_close:
            status_of = dict(
                self.conn.execute(select(cases.c.id, cases.c.status).where(cases.c.id.in_(to_close))).all()
            )
            to_close = [c for c in to_close if status_of.get(c) != "closed"]
            self.conn.execute(
                update(cases)
                .where(cases.c.id == bindparam("b_id"))
                .values(status="closed", closed_on=self.as_of, close_reason="settled_outside", next_action_on=None),
                [{"b_id": c} for c in to_close],
            )
            for case_id in to_close:
                self.event(case_id, "case_closed", {"reason": "settled_outside"})
            self.counts["cases_closed"] += len(to_close)

    def flush_events(self) -> None:
        for (case_id, kind), group in sorted(self.grouped.items()):
            detail = {"invoices": sorted(group["invoices"]), "count": len(group["invoices"])}
            self.event(case_id, kind, detail, amount=group["amount"])
        insert_many(self.conn, case_events, self.events)


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
