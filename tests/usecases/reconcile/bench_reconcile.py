"""Benchmark (run on demand, not collected by pytest): reconcile a 10 000-transaction camt.053.

    python -m tests.usecases.reconcile.bench_reconcile [--debtors 20000] [--transactions 10000] [--database URL]

Builds a workspace with ``--debtors`` cases (one or two invoices each), imports it, writes one
camt.053 with ``--transactions`` credits (structured references, invoice numbers in the text,
partial payments, unknown payers), then times ``reconcile_files`` against a baseline: the pure
matcher alone on the same transactions and cases (``match_payments``), so the ratio shows what
reading the file and the store and writing the results cost on top of matching.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from dunning.bank.read import read_bank_file
from dunning.domain.matching.match import match_payments
from dunning.store import open_store
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.reconcile.booking import load_cases
from dunning.usecases.reconcile.run import match_config, reconcile_files
from dunning.workspace import init_workspace, open_workspace
from tests.usecases.reconcile.camt_build import Payment, build_camt
from tests.usecases.reconcile.conftest import ogm

HEADER = [
    "customer_id", "name", "type", "language", "street", "postal_code", "city", "country", "email", "phone",
    "iban", "segment", "invoice", "invoice_date", "due_date", "original_amount", "open_amount", "currency",
    "description",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=20000)
    parser.add_argument("--transactions", type=int, default=10000)
    parser.add_argument("--database", default=None, help="store URL (default: SQLite in the workspace)")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        init_workspace(root)
        workspace = open_workspace(root, environ={})
        store = open_store(args.database or workspace.database_url)
        ledger = root / "bench.csv"
        amounts: dict[int, list[tuple[str, Decimal]]] = {}
        with ledger.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            number = 0
            for debtor in range(1, args.debtors + 1):
                amounts[debtor] = []
                for _ in range(rng.choice((1, 1, 2))):
                    number += 1
                    amount = Decimal(rng.randint(1000, 200000)) / 100
                    invoice = f"INV-2026-{number:05d}"
                    amounts[debtor].append((invoice, amount))
                    writer.writerow(
                        [f"C{debtor}", f"Debtor {debtor}", "person", "nl", "Straat 1", "1000", "Brussel", "BE",
                         "", "", "", "", invoice, "2026-09-01", "2026-10-01", amount, amount, "EUR", ""]
                    )  # fmt: skip
        started = time.perf_counter()
        import_ledger(store, ledger, as_of=date(2026, 10, 20), reference_kind="be-ogm")
        print(f"import of {args.debtors} debtors: {time.perf_counter() - started:.2f} s")
        references = {}
        with store.begin() as conn:
            for case in load_cases(conn, since=date(2025, 1, 1)).rows.values():
                references[case.debtor_id] = case.reference
        payments = []
        debtors = list(amounts)
        rng.shuffle(debtors)
        for n in range(args.transactions):
            debtor = debtors[n % len(debtors)]
            invoices = amounts[debtor]
            total = sum((a for _, a in invoices), Decimal(0))
            kind = n % 10
            ref = ogm(references[debtor]) if debtor in references else None
            if kind < 4:
                payments.append(Payment(str(total), ref=ref, bank_ref=f"B{n}"))
            elif kind < 6:
                payments.append(Payment(str(invoices[0][1]), text=f"factuur {invoices[0][0]}", bank_ref=f"B{n}"))
            elif kind < 7:
                payments.append(Payment(str((total / 2).quantize(Decimal("0.01"))), ref=ref, bank_ref=f"B{n}"))
            else:
                payments.append(Payment(f"{rng.randint(100, 99999) / 100:.2f}", name=f"Stranger {n}", bank_ref=f"B{n}"))
        xml = build_camt("053", payments, day=date(2026, 10, 27))
        path = root / "big.xml"
        path.write_bytes(xml)
        print(f"camt.053: {args.transactions} transactions, {len(xml) / 1e6:.1f} MB")

        started = time.perf_counter()
        bank_file = read_bank_file(path, as_of=date(2026, 10, 27))
        with store.begin() as conn:
            book = load_cases(conn, since=date(2025, 1, 1))
        result = match_payments(
            [line.tx for line in bank_file.lines], book.refs.values(), config=match_config(workspace)
        )
        baseline = time.perf_counter() - started
        print(f"baseline (read file + load cases + match, nothing written): {baseline:.2f} s; {result.rule_counts()}")

        started = time.perf_counter()
        outcome = reconcile_files(store, workspace, [path], as_of=date(2026, 10, 27))
        elapsed = time.perf_counter() - started
        summary = outcome.summary()
        print(
            f"reconcile_files: {elapsed:.2f} s ({args.transactions / elapsed:.0f} transactions/s), "
            f"{elapsed / baseline:.1f}× the baseline; cases paid {len(summary['cases_paid'])}, "
            f"partly paid {len(summary['cases_partly_paid'])}, review items {summary['review_items']}"
        )
        started = time.perf_counter()
        again = reconcile_files(store, workspace, [path], as_of=date(2026, 10, 27))
        print(f"the same file again: {time.perf_counter() - started:.3f} s ({again.files[0].status})")
        store.dispose()


if __name__ == "__main__":
    main()
