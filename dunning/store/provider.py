"""Online payments in the store: the checkouts the pay page created at the provider, and the events received.

The caller (:mod:`dunning.usecases.paypage.online`, :mod:`dunning.usecases.reconcile.online`) owns
the transaction. ``provider_events`` has one row per (provider, event id): a second insert of the
same event fails on the unique key, which is how two processes receiving one webhook book it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, insert, select, update

from dunning.store.schema import provider_checkouts, provider_events

__all__ = [
    "CheckoutRecord",
    "event_is_known",
    "insert_checkout",
    "insert_event",
    "load_checkout",
    "set_checkout_status",
]


@dataclass(frozen=True, slots=True)
class CheckoutRecord:
    """A checkout created for a case: what it asked, its state, and the transaction that booked it."""

    provider: str
    checkout_id: str
    case_id: int
    amount: Decimal
    currency: str
    status: str
    payment_id: str | None
    transaction_id: int | None
    created_at: datetime


def insert_checkout(
    conn: Connection, *, provider: str, checkout_id: str, case_id: int, amount: Decimal, currency: str,
    created_at: datetime,
) -> None:
    """Record a new checkout (``open``); a checkout already recorded (a double click) is left as it is."""
    if load_checkout(conn, checkout_id) is not None:
        return
    conn.execute(
        insert(provider_checkouts).values(
            provider=provider, checkout_id=checkout_id, case_id=case_id, amount=amount, currency=currency,
            status="open", created_at=created_at,
        )
    )


def load_checkout(conn: Connection, checkout_id: str) -> CheckoutRecord | None:
    row = conn.execute(select(provider_checkouts).where(provider_checkouts.c.checkout_id == checkout_id)).first()
    if row is None:
        return None
    return CheckoutRecord(
        row.provider, row.checkout_id, int(row.case_id), row.amount, row.currency, row.status, row.payment_id,
        None if row.transaction_id is None else int(row.transaction_id), row.created_at,
    )


def set_checkout_status(
    conn: Connection, checkout_id: str, status: str, *, payment_id: str | None = None,
    transaction_id: int | None = None,
) -> None:
    values: dict[str, object] = {"status": status}
    if payment_id is not None:
        values["payment_id"] = payment_id
    if transaction_id is not None:
        values["transaction_id"] = transaction_id
    conn.execute(update(provider_checkouts).where(provider_checkouts.c.checkout_id == checkout_id).values(**values))


def event_is_known(conn: Connection, provider: str, event_id: str) -> bool:
    query = select(provider_events.c.id).where(
        provider_events.c.provider == provider, provider_events.c.event_id == event_id
    )
    return conn.execute(query).first() is not None


def insert_event(
    conn: Connection, *, provider: str, event_id: str, type: str, checkout_id: str | None, outcome: str,
    received_at: datetime,
) -> None:
    """Record a provider event as handled; IntegrityError when another process recorded it first."""
    conn.execute(
        insert(provider_events).values(
            provider=provider, event_id=event_id[:200], type=type[:100], checkout_id=checkout_id,
            outcome=outcome, received_at=received_at,
        )
    )
