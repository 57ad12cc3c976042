"""The claim's stamp (:mod:`dunning.store.claim_stamp`) on SQLite and PostgreSQL: the same while nothing
changes, different after a change to any column of any row the claim is built from (the case, its debtor,
invoices, actions, events and allocations), and revoked with the case's links. On PostgreSQL the server
computes it (md5 of the rows as text): each assertion fails if a table or a row were left out of it.
Every change is made in a transaction rolled back, so the module's other tests see the letters unchanged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Connection, insert, select, update

from dunning.store.claim_stamp import load_claim_stamp
from dunning.store.schema import (
    actions,
    allocations,
    bank_transactions,
    case_events,
    cases,
    debtors,
    holds,
    invoices,
    page_visits,
    paylink_revocations,
)
from tests.web.helpers import Letters

AT = datetime(2026, 11, 5, 18, 0, tzinfo=UTC)


@contextmanager
def rolled_back(letters: Letters) -> Iterator[Connection]:
    with letters.store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


def stamp(conn: Connection, case_id: int) -> str:
    found = load_claim_stamp(conn, case_id)
    assert found is not None and not found.revoked
    return found.stamp


def _debtor(conn: Connection, case_id: int) -> None:
    debtor = conn.execute(select(cases.c.debtor_id).where(cases.c.id == case_id)).scalar_one()
    conn.execute(update(debtors).where(debtors.c.id == debtor).values(language="fr"))


def _invoice_amount(conn: Connection, case_id: int) -> None:
    first = conn.execute(select(invoices.c.id).where(invoices.c.case_id == case_id).limit(1)).scalar_one()
    conn.execute(
        update(invoices).where(invoices.c.id == first).values(open_amount=invoices.c.open_amount - Decimal("1.00"))
    )


def _action_status(conn: Connection, case_id: int) -> None:
    first = conn.execute(select(actions.c.id).where(actions.c.case_id == case_id).limit(1)).scalar_one()
    conn.execute(update(actions).where(actions.c.id == first).values(status="cancelled"))


def _event(conn: Connection, case_id: int) -> None:
    conn.execute(
        insert(case_events).values(
            case_id=case_id, on_date=date(2026, 11, 5), kind="note", detail={}, source="test", recorded_at=AT
        )
    )


def _allocation(conn: Connection, case_id: int) -> None:
    transaction = conn.execute(insert(bank_transactions).values(**_bank_row()).returning(bank_transactions.c.id))
    conn.execute(
        insert(allocations).values(
            transaction_id=transaction.scalar_one(),
            case_id=case_id,
            kind="principal",
            amount=Decimal("1.00"),
            rule="test",
            reversed=False,
        )
    )


def _bank_row() -> dict[str, object]:
    return {
        "key": "stamp-test",
        "amount": Decimal("1.00"),
        "currency": "EUR",
        "credit_debit": "CRDT",
        "status": "matched",
        "detail": {},
    }


CHANGES: dict[str, Callable[[Connection, int], None]] = {
    "debtor": _debtor,
    "invoice": _invoice_amount,
    "action": _action_status,
    "event": _event,
    "allocation": _allocation,
    "case": lambda conn, case_id: conn.execute(update(cases).where(cases.c.id == case_id).values(status="closed")),
    "hold": lambda conn, case_id: conn.execute(insert(holds).values(
        case_id=case_id, kind="manual", reason="test", start=date(2026, 11, 5), source=f"manual:stamp-{case_id}")),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_stamp_changes_with_any_row_the_claim_is_built_from(letters: Letters, change: str) -> None:
    case_id = letters.sent[0].case_id
    with rolled_back(letters) as conn:
        before = stamp(conn, case_id)
        assert stamp(conn, case_id) == before  # the same rows, the same stamp (rows in a set order)
        CHANGES[change](conn, case_id)
        assert stamp(conn, case_id) != before
    other = letters.sent[1].case_id
    with rolled_back(letters) as conn:  # another case's change is not this case's
        before = stamp(conn, case_id)
        CHANGES[change](conn, other)
        assert stamp(conn, case_id) == before


def _paid(conn: Connection, case_id: int) -> None:
    conn.execute(
        insert(case_events).values(
            case_id=case_id, on_date=date(2026, 11, 5), kind="payment_received", amount=Decimal("1.00"), detail={},
            source="test", recorded_at=AT,
        )
    )


def test_a_payment_on_another_case_of_the_same_debtor_changes_the_stamp(letters: Letters) -> None:
    """The page's plan offer proposes a due day from the days the debtor paid, on any of its cases."""
    case_id, other, stranger = (letter.case_id for letter in letters.sent[:3])
    with rolled_back(letters) as conn:
        debtor = conn.execute(select(cases.c.debtor_id).where(cases.c.id == case_id)).scalar_one()
        assert conn.execute(select(cases.c.debtor_id).where(cases.c.id == stranger)).scalar_one() != debtor
        conn.execute(update(cases).where(cases.c.id == other).values(debtor_id=debtor))  # the debtor's second case
        before = stamp(conn, case_id)
        _paid(conn, stranger)  # another debtor's payment: not this page's
        assert stamp(conn, case_id) == before
        conn.execute(update(case_events).where(case_events.c.case_id == other).values(kind="note"))
        assert stamp(conn, case_id) == before  # the other case's events are not this case's rows
        _paid(conn, other)
        assert stamp(conn, case_id) != before


def test_a_revoked_case_and_an_unknown_one(letters: Letters) -> None:
    case_id = letters.sent[0].case_id
    with rolled_back(letters) as conn:
        conn.execute(
            insert(paylink_revocations).values(
                case_id=case_id, revoked_on=date(2026, 11, 5), reason="test", by="test", recorded_at=AT
            )
        )
        found = load_claim_stamp(conn, case_id)
        assert found is not None and found.revoked
        assert load_claim_stamp(conn, 10**9) is None


def test_on_postgresql_the_stamps_statement_records_the_visit_of_a_case_not_revoked(letters: Letters) -> None:
    case_id = letters.sent[0].case_id
    on_postgresql = letters.store.dialect == "postgresql"

    def count(conn: Connection) -> int:
        return len(conn.execute(select(page_visits.c.id).where(page_visits.c.case_id == case_id)).all())

    with rolled_back(letters) as conn:
        before = count(conn)
        found = load_claim_stamp(conn, case_id, ("q", AT))
        assert found is not None and found.visited is on_postgresql  # elsewhere the caller records it
        assert count(conn) == before + on_postgresql
        again = load_claim_stamp(conn, case_id)
        assert again is not None and again.stamp == found.stamp  # a visit is not part of the claim
        conn.execute(
            insert(paylink_revocations).values(
                case_id=case_id, revoked_on=date(2026, 11, 5), reason="test", by="test", recorded_at=AT
            )
        )
        visits = count(conn)
        revoked = load_claim_stamp(conn, case_id, ("q", AT))
        assert revoked is not None and revoked.revoked and not revoked.visited and count(conn) == visits
