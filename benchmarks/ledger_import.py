"""Benchmark: importing a large ledger export (budget: 1,000,000 rows in under 60 s on 2 cores).

Writes a German-style export (semicolons, decimal comma, dd.mm.yyyy, cp1252) with ROWS rows for
ROWS/3 debtors, imports it into a fresh SQLite store, then imports a second snapshot with 10 % of
the invoices gone and 5 % changed. Prints seconds, rows/s and peak memory, beside a baseline measured
in the same run: pandas.read_csv of the same file with no validation at all.

    .venv/bin/python benchmarks/ledger_import.py --rows 1000000
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from dunning.ledger import read_ledger
from dunning.store import open_store
from dunning.usecases.importing import import_snapshot

HEADER = "Kundennr;Name;Rechnungsnummer;Rechnungsdatum;Fälligkeitsdatum;Offener Betrag;Land;E-Mail;Telefon;PLZ;Ort"


def write_export(path: Path, rows: int, seed: int, drop: float = 0.0, change: float = 0.0) -> None:
    rng = random.Random(seed)
    start = date(2026, 6, 1)
    with path.open("w", encoding="cp1252", newline="") as handle:
        handle.write(HEADER + "\r\n")
        for i in range(rows):
            pick = rng.random()
            if pick < drop:
                continue
            debtor = i // 3
            due = start + timedelta(days=i % 150)
            cents = 1000 + (i * 7919) % 500000
            if pick < drop + change:
                cents += 100
            amount = f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"
            handle.write(
                f"K{debtor:07d};Kunde Müller {debtor};R{i:09d};{(due - timedelta(days=30)):%d.%m.%Y};"
                f"{due:%d.%m.%Y};{amount};DE;kunde{debtor}@example.de;+49301{debtor % 10**6:06d};10115;Berlin\r\n"
            )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first, second = folder / "day1.csv", folder / "day2.csv"
        write_export(first, args.rows, seed=1)
        write_export(second, args.rows, seed=2, drop=0.10, change=0.05)
        size = first.stat().st_size / 1e6

        t0 = time.perf_counter()
        baseline = pd.read_csv(first, sep=";", encoding="cp1252", dtype=str)
        baseline_s = time.perf_counter() - t0
        del baseline

        store = open_store(f"sqlite:///{folder / 'state.db'}")
        t0 = time.perf_counter()
        snapshot = read_ledger(first)
        read_s = time.perf_counter() - t0
        result = import_snapshot(store, snapshot, as_of=date(2026, 11, 2))
        first_s = time.perf_counter() - t0
        del snapshot
        t0 = time.perf_counter()
        again = import_snapshot(store, read_ledger(second), as_of=date(2026, 11, 9))
        second_s = time.perf_counter() - t0

    print(f"rows: {args.rows:,}  file: {size:.0f} MB  debtors: {result.counts['debtors_added']:,}")
    print(f"{'step':<44}{'seconds':>9}{'rows/s':>12}")
    print(f"{'baseline: pandas.read_csv, no validation':<44}{baseline_s:>9.1f}{args.rows / baseline_s:>12,.0f}")
    print(f"{'read + validate (read_ledger)':<44}{read_s:>9.1f}{args.rows / read_s:>12,.0f}")
    print(f"{'first import, total (budget < 60 s at 1M)':<44}{first_s:>9.1f}{args.rows / first_s:>12,.0f}")
    print(f"{'second snapshot (10 % gone, 5 % changed)':<44}{second_s:>9.1f}{args.rows / second_s:>12,.0f}")
    print(f"closed {again.counts['invoices_closed']:,}, changed {again.counts['invoices_changed']:,}")
    print(f"ratio first import / baseline read: {first_s / baseline_s:.1f}x   peak memory: {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
