"""A ledger snapshot that lags the bank never undoes a payment reconciled here."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from dunning.store.schema import invoices
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.reconcile.run import reconcile_files
from tests.usecases.reconcile.camt_build import Payment, write_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench


def _snapshot(bench: Bench, path: Path, change: dict[str, str] | None = None) -> Path:
    """The example ledger again (the ERP has not booked the bank payments yet), optionally with changes."""
    source = bench.root / "examples" / "open-items.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if change and row["invoice"] in change:
            row["open_amount"] = change[row["invoice"]]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_lagging_ledger_keeps_paid_and_partial_payments(bench: Bench, tmp_path: Path) -> None:
    # Case 2 (Marie Dubois) owes 66.94 on one invoice and pays it in full; case 8 pays 50 of 150.00.
    camt = write_camt(
        tmp_path,
        "pay.xml",
        "054",
        [Payment("66.94", ref=bench.reference(2)), Payment("50.00", ref=bench.reference(8))],
        day=BANK_DAY,
    )
    reconcile_files(bench.store, bench.workspace, [camt], as_of=BANK_DAY)
    assert bench.case(2).status == "closed"
    assert bench.case(8).open_amount == Decimal("100.00")

    # The next ledger drop still lists both invoices as they were: nothing is undone.
    import_ledger(bench.store, _snapshot(bench, tmp_path / "lagging.csv"), as_of=date(2026, 10, 28))
    assert bench.case(2).status == "closed"
    assert bench.case(8).open_amount == Decimal("100.00")

    # When the ERP books the partial payment, its figure changes and becomes the open amount.
    invoice_8 = next(iter(bench.invoices_of(8)))
    import_ledger(
        bench.store, _snapshot(bench, tmp_path / "booked.csv", {invoice_8: "100.00"}), as_of=date(2026, 10, 29)
    )
    assert bench.case(8).open_amount == Decimal("100.00")
    # And a creditor who changes a paid invoice's figure reopens it (a correction, not a lag).
    invoice_2 = next(iter(bench.invoices_of(2)))
    import_ledger(
        bench.store, _snapshot(bench, tmp_path / "corrected.csv", {invoice_2: "80.00"}), as_of=date(2026, 10, 30)
    )
    with bench.store.begin() as conn:
        row = conn.execute(select(invoices).where(invoices.c.external_id == invoice_2)).one()
    assert (row.status, row.open_amount) == ("open", Decimal("80.00"))
    assert row.case_id != 2  # the paid case stays closed; the correction opens a new case for the debtor
