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

All of it happens in one transaction: a crash leaves the store as it was. This module checks the
file and drives the import (:func:`import_snapshot`, :func:`import_ledger`); the diff between the
file and the store is :mod:`dunning.usecases.importing.diff`, the reads and bulk writes it needs
are in :mod:`dunning.store.ledger`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from dunning.config import LedgerConfig
from dunning.csvcells import safe_cells
from dunning.errors import LedgerError
from dunning.ledger import LedgerSnapshot, Mapping, Problem, read_ledger
from dunning.ledger.door import DueDateWindow
from dunning.ports import Progress
from dunning.store import Store
from dunning.store.ledger import (
    LedgerImportRecord,
    count_open_cases,
    insert_ledger_import,
    is_imported,
)
from dunning.store.locks import holding_stage_lock
from dunning.usecases.importing.diff import Importer

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
        importer = Importer(conn, snapshot, as_of, reference_kind, recorded_at)
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
