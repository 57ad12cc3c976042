"""Benchmark: importing a large ledger export (budget: 1,000,000 rows in under 60 s on 2 cores).

Writes a German-style export (semicolons, decimal comma, dd.mm.yyyy, cp1252) with ROWS rows for
ROWS/3 debtors, imports it into a fresh SQLite store, then imports a second snapshot with 10 % of
the invoices gone and 5 % changed. Prints seconds, rows/s and peak memory, beside a baseline measured
in the same run: pandas.read_csv of the same file with no validation at all.

    .venv/bin/python benchmarks/ledger_import.py --rows 1000000

Measured 2026-11-24 on the 2-core dev VM (shared with other work, so CPU seconds are the fairer figure;
worker processes included), 1,000,000 rows, 333,334 debtors, 123 MB cp1252 file, SQLite:

    step                              before (s, cpu s)   after (s, cpu s)
    pandas.read_csv baseline          2.2                 2.1
    read + validate (read_ledger)     23.0 / 23.4         13.3 / 13.3
    first import, total               67.2 / 66.3         42.4 / 41.9
    second snapshot                   46.7 / 49.0         31.3 / 32.3
    peak memory (ru_maxrss)           3,208 MB            1,356 MB

"Before" is the code as it was (per-row Python normalisation, the whole store read at once, every
row a dict); "after" validates per distinct value, reads the store a chunk at a time and writes in
batches. Memory still grows with the file: the snapshot holds every good row by design.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from dunning.ledger import read_ledger
from dunning.store import open_store
from dunning.usecases.importing.snapshot import import_snapshot

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


def cpu_s() -> float:
    """CPU seconds so far, worker processes (phone validation) included: fairer than wall time on a busy machine."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


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
        t0, c0 = time.perf_counter(), cpu_s()
        snapshot = read_ledger(first, as_of=date(2026, 11, 2))  # the door checks (due-date window) measured too
        read_s, read_cpu = time.perf_counter() - t0, cpu_s() - c0
        result = import_snapshot(store, snapshot, as_of=date(2026, 11, 2))
        first_s, first_cpu = time.perf_counter() - t0, cpu_s() - c0
        del snapshot
        t0, c0 = time.perf_counter(), cpu_s()
        again = import_snapshot(store, read_ledger(second, as_of=date(2026, 11, 9)), as_of=date(2026, 11, 9))
        second_s, second_cpu = time.perf_counter() - t0, cpu_s() - c0

    print(f"rows: {args.rows:,}  file: {size:.0f} MB  debtors: {result.counts['debtors_added']:,}")

    def line(step: str, seconds: float, cpu: float | None = None) -> None:
        print(f"{step:<44}{seconds:>9.1f}{args.rows / seconds:>12,.0f}" + ("" if cpu is None else f"{cpu:>9.1f}"))

    print(f"{'step':<44}{'seconds':>9}{'rows/s':>12}{'cpu s':>9}")
    line("baseline: pandas.read_csv, no validation", baseline_s)
    line("read + validate (read_ledger)", read_s, read_cpu)
    line("first import, total (budget < 60 s at 1M)", first_s, first_cpu)
    line("second snapshot (10 % gone, 5 % changed)", second_s, second_cpu)
    print(f"closed {again.counts['invoices_closed']:,}, changed {again.counts['invoices_changed']:,}")
    print(f"ratio first import / baseline read: {first_s / baseline_s:.1f}x   peak memory: {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
