"""A big import is read and written a chunk at a time: chunk boundaries must not change what it does.

The same snapshots go into a store with tiny chunks (SQLite and PostgreSQL) and into a reference
SQLite store with the normal sizes; every invoice, case and event must come out the same.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import dunning.store.bulk as bulk
import dunning.usecases.importing.diff as importing
from dunning.store import Store, open_store
from dunning.store.schema import case_events, cases, debtors, invoices
from dunning.usecases.importing.snapshot import import_ledger

HEADER = "debtor_id,name,email,invoice_id,due_date,amount,currency"


def _snapshot(day: int) -> list[str]:
    rows = []
    for n in range(30):
        debtor = f"D{n // 3}"
        email = f"{debtor.lower()}@example.com" if day < 2 or n % 9 else f"new-{debtor.lower()}@example.com"
        amount = f"{100 + n}.50"
        if day >= 2 and n % 4 == 0:
            continue  # gone: closed as settled outside (and on day 3 some come back)
        if day >= 2 and n % 5 == 1:
            amount = f"{200 + n}.00"  # changed
        if day >= 2 and n == 7:
            amount = "0.00"  # settled
        if day == 3 and n % 8 == 0:
            amount = "5.00"
        currency = "USD" if n % 7 == 0 else "EUR"
        rows.append(f"{debtor},Debtor {n // 3},{email},I{n:03d},2026-10-{1 + n % 28:02d},{amount},{currency}")
    if day == 3:
        rows += [f"D{n},Debtor {n},d{n}@example.com,I{n:03d},2026-10-01,{n}.00,EUR" for n in (0, 4, 8, 40, 41)]
    return rows


def _state(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.begin() as conn:
        return {
            "debtors": [tuple(r) for r in conn.execute(select(debtors).order_by(debtors.c.id))],
            "cases": [
                tuple(r)
                for r in conn.execute(
                    select(
                        cases.c.id,
                        cases.c.debtor_id,
                        cases.c.currency,
                        cases.c.status,
                        cases.c.open_amount,
                        cases.c.reference,
                        cases.c.closed_on,
                    ).order_by(cases.c.id)
                )
            ],
            "invoices": [tuple(r) for r in conn.execute(select(invoices).order_by(invoices.c.id))],
            "events": [
                tuple(r)
                for r in conn.execute(
                    select(
                        case_events.c.id,
                        case_events.c.case_id,
                        case_events.c.kind,
                        case_events.c.invoice_id,
                        case_events.c.amount,
                        case_events.c.detail,
                    ).order_by(case_events.c.id)
                )
            ],
        }


def _run(store: Store, tmp_path: Path) -> list[dict[str, int]]:
    counts = []
    for day in (1, 2, 3):
        path = tmp_path / f"day{day}.csv"
        path.write_text("\n".join([HEADER, *_snapshot(day)]) + "\n", encoding="utf-8")
        counts.append(import_ledger(store, path, as_of=date(2026, 11, day)).counts)
    return counts


def test_tiny_chunks_give_the_same_store_as_one_chunk(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = open_store(f"sqlite:///{tmp_path / 'reference.db'}")
    (tmp_path / "ref").mkdir()
    expected_counts = _run(reference, tmp_path / "ref")
    expected = _state(reference)
    reference.dispose()

    monkeypatch.setattr(importing, "CHUNK", 4)
    monkeypatch.setattr(importing, "IN_CHUNK", 3)
    monkeypatch.setattr(bulk, "CHUNK", 5)
    assert _run(store, tmp_path) == expected_counts
    assert _state(store) == expected
    # the scenario does reach every branch across several chunks
    assert expected_counts[0]["invoices_added"] == 30 and expected_counts[0]["cases_opened"] > 10
    day2, day3 = expected_counts[1:]
    assert day2["invoices_closed"] and day2["invoices_changed"] and day2["debtors_updated"] and day2["cases_closed"]
    assert day3["invoices_reopened"] and day3["invoices_added"]
