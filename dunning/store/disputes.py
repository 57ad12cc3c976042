"""Disputes and questions from the pay page in the store: a task for a person, a hold, a timeline event.

No table of their own: a dispute is a ``manual_task`` action (what ``dunning tasks`` lists) whose
idempotency key starts with :data:`KEY_PREFIX`, the debtor's reason and text in its ``detail``; a
dispute that stops dunning adds a ``dispute`` hold whose ``source`` is that key (so closing the task
lifts exactly that hold, no other); the ``dispute_opened`` case event puts it on the timeline, its
``source`` naming a hash of the pay link (never the link), which caps the forms one link may send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from dunning.store.schema import actions, case_events, holds

__all__ = [
    "KEY_PREFIX",
    "OpenDispute",
    "count_link_disputes",
    "insert_dispute",
    "load_open_dispute",
    "release_dispute_hold",
]

#: idempotency keys of dispute tasks: ``dispute:case:<id>:<n>``
KEY_PREFIX = "dispute:"


@dataclass(frozen=True, slots=True)
class OpenDispute:
    """A dispute or question of a case a person has not closed yet."""

    task_id: int
    opened_on: date
    reason: str


def load_open_dispute(conn: Connection, case_id: int) -> OpenDispute | None:
    """The open dispute task of ``case_id`` (the newest, if ever several), else None."""
    row = conn.execute(
        select(actions.c.id, actions.c.due_on, actions.c.detail)
        .where(
            actions.c.case_id == case_id,
            actions.c.status == "planned",
            actions.c.idempotency_key.like(f"{KEY_PREFIX}%"),
        )
        .order_by(actions.c.id.desc())
    ).first()
    if row is None:
        return None
    return OpenDispute(row.id, row.due_on, str((row.detail or {}).get("dispute", {}).get("reason", "")))


def count_link_disputes(conn: Connection, case_id: int, link_source: str) -> int:
    """How many disputes or questions the pay link ``link_source`` names has sent for ``case_id``."""
    query = select(func.count()).where(
        case_events.c.case_id == case_id,
        case_events.c.kind == "dispute_opened",
        case_events.c.source == link_source,
    )
    return int(conn.execute(query).scalar_one())


def insert_dispute(
    conn: Connection,
    *,
    case_id: int,
    on_date: date,
    recorded_at: datetime,
    settings: Mapping[str, Any],
    detail: Mapping[str, Any],
    reason: str,
    hold_reason: str | None,
) -> tuple[int, str]:
    """Open the task (and, with ``hold_reason``, the dispute hold); return the task's id and key."""
    number = conn.execute(
        select(func.count()).where(actions.c.case_id == case_id, actions.c.idempotency_key.like(f"{KEY_PREFIX}%"))
    ).scalar_one()
    key = f"{KEY_PREFIX}case:{case_id}:{int(number) + 1}"
    result = conn.execute(
        insert(actions).values(
            idempotency_key=key,
            case_id=case_id,
            run_date=on_date,
            due_on=on_date,
            action="manual_task",
            channel=None,
            step="dispute",
            status="planned",
            amount=None,
            settings=dict(settings),
            reason=reason,
            recorded_at=recorded_at,
            flow=None,
            flow_version=None,
            cycle=1,
            fallback_depth=0,
            contact=False,
            replaces=None,
            detail=dict(detail),
        )
    )
    inserted = result.inserted_primary_key
    assert inserted is not None
    task_id = int(inserted[0])
    if hold_reason is not None:
        conn.execute(
            insert(holds).values(case_id=case_id, kind="dispute", reason=hold_reason, start=on_date, source=key)
        )
    return task_id, key


def release_dispute_hold(conn: Connection, key: str, on: date) -> bool:
    """Release the hold the dispute task ``key`` placed (if any, and not released yet)."""
    result = conn.execute(
        update(holds).where(holds.c.source == key, holds.c.released_on.is_(None)).values(released_on=on)
    )
    return bool(result.rowcount)
