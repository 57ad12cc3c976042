"""Tasks for a person in the store: the open task actions (a manual review, a phone call) and closing one.

A task is an action of a task kind (``manual_task``, ``phone_call_task``: the planner's
:data:`~dunning.domain.planning.pacing.TASK_ACTIONS`) that the night records as ``planned``, i.e. open.
Nothing but :func:`close_task` moves it on, to ``done`` or ``failed`` (a call nobody answered: the
step's fallback follows), with who closed it, when and why in its ``detail``; the use case adds the
``task_done`` event to the case's timeline in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, select, update

from dunning.store.schema import actions, cases, debtors

__all__ = ["TaskRecord", "close_task", "load_task", "load_tasks", "update_task_detail"]


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task action with its case and debtor (the debtor's name is personal data)."""

    id: int
    key: str
    action: str
    step: str | None
    status: str  # planned (open) | done | failed
    opened_on: date  # the night the flow opened it
    outcome_on: date | None  # the day a person closed it
    settings: Mapping[str, Any]
    detail: Mapping[str, Any]
    case_id: int
    case_status: str
    debtor_name: str
    customer_number: str


_COLUMNS = (
    actions.c.id,
    actions.c.idempotency_key,
    actions.c.action,
    actions.c.step,
    actions.c.status,
    actions.c.due_on,
    actions.c.outcome_on,
    actions.c.settings,
    actions.c.detail,
    actions.c.case_id,
    cases.c.status.label("case_status"),
    debtors.c.name,
    debtors.c.external_id,
)


def _record(row: Any) -> TaskRecord:
    return TaskRecord(
        id=row.id,
        key=row.idempotency_key,
        action=row.action,
        step=row.step,
        status=row.status,
        opened_on=row.due_on,
        outcome_on=row.outcome_on,
        settings=dict(row.settings or {}),
        detail=dict(row.detail or {}),
        case_id=row.case_id,
        case_status=row.case_status,
        debtor_name=row.name,
        customer_number=row.external_id,
    )


def load_tasks(
    conn: Connection,
    task_actions: Sequence[str],
    *,
    case_id: int | None = None,
    open_only: bool = True,
) -> list[TaskRecord]:
    """Actions of ``task_actions``, oldest first; only open ones (``planned``) of cases not closed unless told."""
    query = (
        select(*_COLUMNS)
        .join(cases, cases.c.id == actions.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(actions.c.action.in_(list(task_actions)))
        .order_by(actions.c.due_on, actions.c.id)
    )
    if open_only:
        query = query.where(actions.c.status == "planned", cases.c.status != "closed")
    if case_id is not None:
        query = query.where(actions.c.case_id == case_id)
    return [_record(row) for row in conn.execute(query)]


def load_task(conn: Connection, task_id: int, task_actions: Sequence[str]) -> TaskRecord | None:
    """The task ``task_id`` (None when there is no action of a task kind with that id)."""
    query = (
        select(*_COLUMNS)
        .join(cases, cases.c.id == actions.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(actions.c.id == task_id, actions.c.action.in_(list(task_actions)))
    )
    row = conn.execute(query).first()
    return None if row is None else _record(row)


def close_task(conn: Connection, task_id: int, *, status: str, on_date: date, detail: Mapping[str, Any]) -> bool:
    """Close the open task ``task_id`` as ``status`` (done, failed) on ``on_date`` with ``detail``.

    False when it was no longer open (closed meanwhile by someone else): nothing is changed then.
    """
    result = conn.execute(
        update(actions)
        .where(actions.c.id == task_id, actions.c.status == "planned")
        .values(status=status, outcome_on=on_date, detail=dict(detail))
    )
    return bool(result.rowcount)


def update_task_detail(conn: Connection, task_id: int, detail: Mapping[str, Any]) -> None:
    """Replace the ``detail`` of task ``task_id`` (a closed dispute's hold lifted later)."""
    conn.execute(update(actions).where(actions.c.id == task_id).values(detail=dict(detail)))
