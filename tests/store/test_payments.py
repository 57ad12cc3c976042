"""The payments store: what reconciliation records comes back as frozen records, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from dunning.store import Store
from dunning.store.payments import (
    NewTransaction,
    StoredTransaction,
    file_is_known,
    find_transaction,
    forget_quarantined_file,
    insert_aliases,
    insert_bank_file,
    insert_transactions,
    known_keys,
    load_ignored_transactions,
    load_quarantined_files,
    record_quarantined_file,
    set_transaction_detail,
    transactions_by_alias,
)
from dunning.store.review import (
    NewReviewItem,
    cancel_open_reviews,
    decide_review_item,
    insert_review_items,
    load_review_items,
)

RECORDED = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)


def _transaction(file_id: int, key: str, amount: str, *, status: str, booked: date) -> NewTransaction:
    return NewTransaction(
        key=key,
        bank_file_id=file_id,
        amount=Decimal(amount),
        currency="EUR",
        credit_debit="CRDT",
        booking_date=booked,
        reference=None,
        remittance=f"payment {key}",
        status=status,
        detail={"file": "2026-11-20.xml"},
    )


def _record_two(store: Store) -> tuple[int, int]:
    with store.begin() as conn:
        file_id = insert_bank_file(
            conn, sha256="a" * 64, file_name="2026-11-20.xml", message="camt.053", recorded_at=RECORDED
        )
        first, second = insert_transactions(
            conn,
            [
                _transaction(file_id, "tx-1", "57.50", status="unmatched", booked=date(2026, 11, 20)),
                _transaction(file_id, "tx-2", "12.00", status="ignored", booked=date(2026, 11, 10)),
            ],
        )
        insert_aliases(conn, [("ref|ABC", first), ("coll|P-1", second)])
    return first, second


def test_recorded_transactions_are_found_by_key_and_by_alias(store: Store) -> None:
    first, second = _record_two(store)
    with store.begin() as conn:
        assert file_is_known(conn, "a" * 64)
        assert not file_is_known(conn, "b" * 64)
        stored, by_alias = known_keys(conn, ["tx-1", "tx-9"], ["ref|ABC", "ref|XYZ"])
        assert stored == {"tx-1"}
        assert by_alias == {"ref|ABC": "tx-1"}
        found = transactions_by_alias(conn, ["coll|P-1"])
        assert [(f.alias, f.transaction) for f in found] == [
            ("coll|P-1", StoredTransaction(second, "tx-2", {"file": "2026-11-20.xml"}))
        ]
        set_transaction_detail(conn, first, {"file": "2026-11-20.xml", "undone_by": "tx-3"})
        assert find_transaction(conn, "tx-1") == StoredTransaction(
            first, "tx-1", {"file": "2026-11-20.xml", "undone_by": "tx-3"}
        )
        assert find_transaction(conn, "tx-9") is None
        ignored = load_ignored_transactions(conn, booked_from=date(2026, 11, 1), booked_before=date(2026, 11, 15))
        assert [(t.id, t.amount, t.booking_date) for t in ignored] == [(second, Decimal("12.00"), date(2026, 11, 10))]


def test_review_items_are_opened_decided_and_cancelled(store: Store) -> None:
    first, second = _record_two(store)
    with store.begin() as conn:
        insert_review_items(
            conn,
            [
                NewReviewItem(first, None, {"rule": "none", "reason": "no reference"}, RECORDED),
                NewReviewItem(second, None, {"rule": "none", "reason": "collective"}, RECORDED),
            ],
        )
        waiting = load_review_items(conn, status="open")
        assert [(r.key, r.amount, r.remittance, r.evidence["reason"]) for r in waiting] == [
            ("tx-1", Decimal("57.50"), "payment tx-1", "no reference"),
            ("tx-2", Decimal("12.00"), "payment tx-2", "collective"),
        ]
        with pytest.raises(dataclasses.FrozenInstanceError):
            waiting[0].status = "accepted"  # type: ignore[misc]
        decide_review_item(conn, waiting[0].id, status="rejected", evidence={**waiting[0].evidence, "decision": {}})
        cancel_open_reviews(conn, second)
        everything = load_review_items(conn)
        assert [(r.status, "decision" in r.evidence) for r in everything] == [("rejected", True), ("cancelled", False)]
        assert load_review_items(conn, status="open") == []


def test_a_quarantined_file_is_recorded_counted_and_gives_way_once_it_reads(store: Store) -> None:
    facts = {"file": "bad.xml", "line": 12, "element": "Document/Ntry/Chrgs/Rcrd", "value": None, "reason": "no Amt"}
    later = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)
    with store.begin() as conn:
        first = record_quarantined_file(conn, sha256="c" * 64, file_name="bad.xml", facts=facts, recorded_at=RECORDED)
        assert (first.times, first.first_refused_at, first.facts["line"]) == (1, RECORDED, 12)
        assert not file_is_known(conn, "c" * 64)  # refused is not booked: it is read again when it comes again
    with store.begin() as conn:
        again = record_quarantined_file(conn, sha256="c" * 64, file_name="bad-2.xml", facts=facts, recorded_at=later)
        assert again.id == first.id and again.times == 2
        assert again.first_refused_at.replace(tzinfo=UTC) == RECORDED
        (listed,) = load_quarantined_files(conn)
        assert (listed.file_name, listed.times, listed.facts["reason"]) == ("bad.xml", 2, "no Amt")
        forget_quarantined_file(conn, "c" * 64)
        assert load_quarantined_files(conn) == []
        insert_bank_file(conn, sha256="c" * 64, file_name="bad.xml", message="camt.053", recorded_at=later)
        assert file_is_known(conn, "c" * 64)
