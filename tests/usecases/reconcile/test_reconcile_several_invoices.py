"""AC-24 end to end: one transfer from a known account, no reference, pays two invoices of one debtor by their sum.

Case 16 of the example ledger (Olivier Renard, account BE61539111878517) owes three invoices:
INV-2026-26024 430.32, INV-2026-26025 231.91 and INV-2026-26026 195.79. A camt.054 credits
427.70 = 231.91 + 195.79 from his account with no reference and no invoice number. On SQLite and
PostgreSQL (the ``store`` fixture behind ``bench``), both invoices end paid, each with its
allocation, and the bank transaction keeps the explanation (which invoices, their sum).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from dunning.store.schema import allocations, bank_transactions, case_events, invoices
from dunning.usecases.reconcile.run import reconcile_files
from tests.usecases.reconcile.camt_build import Payment, write_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench

D = Decimal
RENARD_IBAN = "BE61539111878517"


def test_a_payment_from_a_known_account_pays_the_invoices_its_amount_adds_up_to(bench: Bench) -> None:
    before = bench.case(16)
    assert before.open_amount == D("858.02")  # the three invoices, nothing paid yet
    payment = Payment("427.70", name="O. Renard", iban=RENARD_IBAN, text="Betaling", bank_ref="S-01")
    path = write_camt(bench.root, "sum.xml", "054", [payment], day=BANK_DAY)

    result = reconcile_files(bench.store, bench.workspace, [path], as_of=BANK_DAY)

    (file,) = result.files
    assert file.status == "processed", file
    assert result.summary()["outcomes"]["matched"]["count"] == 1
    status = {number: row.status for number, row in bench.invoices_of(16).items()}
    assert status == {"INV-2026-26024": "open", "INV-2026-26025": "paid", "INV-2026-26026": "paid"}
    case16 = bench.case(16)
    assert (case16.status, case16.open_amount) == ("open", D("430.32"))

    with bench.store.begin() as conn:
        tx = conn.execute(select(bank_transactions).where(bank_transactions.c.amount == D("427.70"))).one()
        paid = conn.execute(
            select(invoices.c.external_id, allocations.c.kind, allocations.c.amount, allocations.c.rule)
            .join(invoices, invoices.c.id == allocations.c.invoice_id)
            .where(allocations.c.transaction_id == tx.id)
        ).all()
        received = conn.execute(
            select(case_events.c.detail).where(case_events.c.case_id == 16, case_events.c.kind == "payment_received")
        ).scalar_one()
    assert sorted(paid) == [
        ("INV-2026-26025", "principal", D("231.91"), "debtor_iban"),
        ("INV-2026-26026", "principal", D("195.79"), "debtor_iban"),
    ]
    assert tx.status == "matched"
    assert (tx.detail["rule"], tx.detail["case"]) == ("debtor_iban", "16")
    notes = [note for _where, _found, note in tx.detail["evidence"]]
    assert "the debtor of case 16 paid from it before" in notes
    explanation = "equals the sum of 2 open invoices of case 16: INV-2026-26025 231.91 + INV-2026-26026 195.79 = 427.70"
    assert explanation in notes
    assert not any("ambiguous" in note for note in notes)
    assert received["rule"] == "debtor_iban" and "INV-2026-26025 231.91 + INV-2026-26026 195.79" in received["reason"]
