"""Pay-page visits: recorded by the web server when a genuine link opens the page, read by the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from dunning.store.schema import page_visits

__all__ = ["VisitRecord", "insert_visit", "load_case_visits"]


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
