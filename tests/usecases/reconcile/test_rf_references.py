"""A Belgian creditor's debtors outside Belgium get an ISO 11649 RF reference (their banks may not carry a
Belgian +++ structured communication), and a payment quoting it is matched like an OGM."""

from __future__ import annotations

from sqlalchemy import select
from stdnum import iso11649

from dunning.store.schema import bank_transactions, cases, debtors
from dunning.usecases.reconcile.run import reconcile_files
from tests.usecases.reconcile.camt_build import Payment, write_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench


def _case_of(bench: Bench, debtor: str) -> tuple[int, str, str]:
    with bench.store.begin() as conn:
        row = conn.execute(
            select(cases.c.id, cases.c.reference, debtors.c.country)
            .join(debtors, debtors.c.id == cases.c.debtor_id)
            .where(debtors.c.external_id == debtor)
        ).one()
    return row.id, row.reference, row.country


def test_only_debtors_in_belgium_get_an_ogm_the_others_an_rf_reference_that_reconciles(bench: Bench) -> None:
    assert bench.workspace.config.creditor.reference == "be-ogm"
    with bench.store.begin() as conn:
        rows = conn.execute(
            select(cases.c.reference, debtors.c.country).join(debtors, debtors.c.id == cases.c.debtor_id)
        ).all()
    for reference, country in rows:
        if country == "BE":
            assert reference.isdigit() and len(reference) == 12, (reference, country)
        else:
            assert iso11649.is_valid(reference), (reference, country)
    assert {country for _, country in rows} >= {"BE", "NL", "DE"}

    case_id, reference, country = _case_of(bench, "C1007")  # Pieter de Vries, Amsterdam
    assert country == "NL" and reference.startswith("RF")
    owed = bench.case(case_id).open_amount
    printed = iso11649.format(reference)  # "RF.. .... ...." as the letter prints it and a Dutch bank passes it on
    path = write_camt(bench.root, "rf.xml", "054", [Payment(str(owed), ref=printed, bank_ref="RF-1")], day=BANK_DAY)
    result = reconcile_files(bench.store, bench.workspace, [path], as_of=BANK_DAY)
    assert result.summary()["outcomes"]["matched"]["count"] == 1
    with bench.store.begin() as conn:
        tx = conn.execute(select(bank_transactions).where(bank_transactions.c.amount == owed)).one()
    assert (tx.status, tx.detail["rule"], tx.detail["case"]) == ("matched", "structured_reference", str(case_id))
    assert bench.case(case_id).open_amount == 0
