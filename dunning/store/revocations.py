"""Pay-link revocations: which cases' links are revoked, why and by whom (migration 0015_revoke)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, delete, insert, select

from dunning.store.cases import NewCaseEvent, insert_case_events
from dunning.store.schema import paylink_revocations

__all__ = ["RevocationRecord", "delete_revocation", "insert_revocation", "load_revocation", "revoke_case_links"]


@dataclass(frozen=True, slots=True)
class RevocationRecord:
    """A case's links revoked on ``revoked_on`` by ``by`` because of ``reason``."""

    case_id: int
    revoked_on: date
    reason: str
    by: str
    recorded_at: datetime


def load_revocation(conn: Connection, case_id: int) -> RevocationRecord | None:
    """The revocation of ``case_id``'s links, if any (a primary-key lookup: cheap on every page request)."""
    row = conn.execute(select(paylink_revocations).where(paylink_revocations.c.case_id == case_id)).first()
    return None if row is None else RevocationRecord(row.case_id, row.revoked_on, row.reason, row.by, row.recorded_at)


def insert_revocation(conn: Connection, case_id: int, *, on: date, reason: str, by: str, at: datetime) -> bool:
    """Revoke ``case_id``'s links; False (and nothing changed) if they already are."""
    if load_revocation(conn, case_id) is not None:
        return False
    conn.execute(insert(paylink_revocations).values(
        case_id=case_id, revoked_on=on, reason=reason[:200], by=by[:120], recorded_at=at))
    return True


def delete_revocation(conn: Connection, case_id: int) -> bool:
    """Restore ``case_id``'s links; False if they were not revoked."""
    return conn.execute(delete(paylink_revocations).where(paylink_revocations.c.case_id == case_id)).rowcount > 0


def revoke_case_links(conn: Connection, case_id: int, *, reason: str, by: str, on: date, at: datetime,
                      source: str) -> bool:
    """Revoke ``case_id``'s links and say so on its timeline (``paylinks_revoked``); False if already revoked."""
    if not insert_revocation(conn, case_id, on=on, reason=reason, by=by, at=at):
        return False
    insert_case_events(conn, [NewCaseEvent(case_id, on, "paylinks_revoked", {"by": by, "reason": reason}, source, at)])
    return True
