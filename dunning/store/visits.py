"""Pay-page visits: recorded by the web server when a genuine link opens the page, read by the timeline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, func, insert, select

from dunning.store.bulk import in_chunks
from dunning.store.schema import case_events, page_visits

__all__ = [
    "PAYMENT_EVENTS",
    "VisitRecord",
    "insert_visit",
    "load_case_visits",
    "load_payment_days",
    "load_visits_since",
]

#: case events that book a payment (bank, or the creditor's ledger settling invoices): a visit they follow
#: needs no follow-up
PAYMENT_EVENTS = ("payment_received", "invoices_settled_outside")


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """One opening of the pay page: when and by which medium (letter_qr, letter_text, email, sms)."""

    id: int
    case_id: int
    visited_at: datetime
    medium: str


def insert_visit(conn: Connection, case_id: int, medium: str, visited_at: datetime) -> None:
    """Record that the pay page of ``case_id`` was opened at ``visited_at`` through a link by ``medium``."""
    conn.execute(insert(page_visits).values(case_id=case_id, medium=medium, visited_at=visited_at))


def load_case_visits(conn: Connection, case_id: int) -> list[VisitRecord]:
    """The visits of one case, oldest first."""
    rows = conn.execute(
        select(page_visits.c.id, page_visits.c.case_id, page_visits.c.visited_at, page_visits.c.medium)
        .where(page_visits.c.case_id == case_id)
        .order_by(page_visits.c.id)
    )
    return [VisitRecord(row.id, row.case_id, row.visited_at, row.medium) for row in rows]


def load_visits_since(conn: Connection, since: datetime) -> list[VisitRecord]:
    """Every visit from ``since`` on, of every case, oldest first (the night's ``visit_without_payment``)."""
    rows = conn.execute(
        select(page_visits.c.id, page_visits.c.case_id, page_visits.c.visited_at, page_visits.c.medium)
        .where(page_visits.c.visited_at >= since)
        .order_by(page_visits.c.id)
    )
    return [VisitRecord(row.id, row.case_id, row.visited_at, row.medium) for row in rows]


def load_payment_days(conn: Connection, case_ids: Iterable[int]) -> dict[int, date]:
    """The day the last payment was booked for each of ``case_ids`` (:data:`PAYMENT_EVENTS`); others left out."""
    days: dict[int, date] = {}
    for chunk in in_chunks(sorted(set(case_ids))):
        query = (
            select(case_events.c.case_id, func.max(case_events.c.on_date))
            .where(case_events.c.case_id.in_(chunk), case_events.c.kind.in_(PAYMENT_EVENTS))
            .group_by(case_events.c.case_id)
        )
        days.update({case_id: day for case_id, day in conn.execute(query) if day is not None})
    return days
