"""Tasks for a person: what waits for one (``dunning tasks``) and a person closing one (``dunning tasks done``).

The night opens a task when a flow step (or a fallback) is a ``manual_task`` (a decision: hand
over or go to court, find the debtor's address) or a ``phone_call_task`` (a call to make). The
machine never closes one: it stays open until a person does, and a step with ``wait: true`` (the
default for tasks) holds its flow there until then (:mod:`dunning.domain.planning.pacing`). Closing
records who, when and a note on the task and in the case's timeline; closed as failed (a call
nobody answered), the step's fallback follows on the next night.

A task the debtor opened from the pay page (a dispute or a question, :mod:`dunning.usecases.paypage.dispute`)
shows the debtor's reason and text; closing a dispute lifts its hold (dunning resumes at the next
night) unless the person says ``keep_hold`` (``--keep-hold``: dunning stays stopped; ``dunning tasks
resume ID`` lifts it later).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from dunning.domain.planning.pacing import TASK_ACTIONS, TASK_KINDS, waits_for_person
from dunning.errors import InputError, NotFound
from dunning.store import Store
from dunning.store.cases import insert_case_event
from dunning.store.disputes import KEY_PREFIX, release_dispute_hold
from dunning.store.tasks import TaskRecord, close_task, load_task, load_tasks, update_task_detail

__all__ = ["KINDS", "Task", "TaskError", "finish_task", "list_tasks", "resume_after_dispute"]

#: the kinds of task ``dunning tasks --kind`` filters on
KINDS = tuple(sorted(set(TASK_KINDS.values())))
_ACTIONS = tuple(sorted(TASK_ACTIONS))


class TaskError(InputError):
    """A task that cannot be closed as asked (already closed, or closed before it was opened)."""


@dataclass(frozen=True)
class Task:
    """One task for a person, open or closed."""

    id: int
    case_id: int
    debtor: str  # the debtor's name (personal data: shown to the person, never logged)
    customer_number: str
    kind: str  # manual | call
    action: str
    step: str
    title: str
    queue: str
    priority: str
    since: date
    due: date
    waits: bool  # the flow waits at this step until the task is closed
    status: str  # open | done | failed
    closed_on: date | None = None
    closed_by: str | None = None
    note: str | None = None
    dispute: str | None = None  # the debtor's reason, for a task opened from the pay page
    message: str | None = None  # the debtor's own words (personal data: shown, never logged)
    hold: str | None = None  # a dispute's hold: on, lifted or kept

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case": self.case_id,
            "debtor": self.debtor,
            "customer_number": self.customer_number,
            "kind": self.kind,
            "action": self.action,
            "step": self.step,
            "title": self.title,
            "queue": self.queue,
            "priority": self.priority,
            "since": self.since.isoformat(),
            "due": self.due.isoformat(),
            "waits": self.waits,
            "status": self.status,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "closed_by": self.closed_by,
            "note": self.note,
            "dispute": self.dispute,
            "message": self.message,
            "hold": self.hold,
        }


def _task(record: TaskRecord) -> Task:
    settings = record.settings
    closed = record.detail.get("closed") or {}
    due_days = settings.get("due_days")
    dispute = record.detail.get("dispute") or {}
    title = (
        settings.get("title")
        or settings.get("script")
        or ("call the debtor" if record.action == "phone_call_task" else record.action.replace("_", " "))
    )
    return Task(
        id=record.id,
        case_id=record.case_id,
        debtor=record.debtor_name,
        customer_number=record.customer_number,
        kind=TASK_KINDS[record.action],
        action=record.action,
        step=record.step or "",
        title=str(title),
        queue=str(settings.get("queue") or ""),
        priority=str(settings.get("priority") or "normal"),
        since=record.opened_on,
        due=record.opened_on + timedelta(days=due_days if isinstance(due_days, int) else 5),
        waits=waits_for_person(record.action, settings),
        status="open" if record.status == "planned" else record.status,
        closed_on=record.outcome_on if record.status != "planned" else None,
        closed_by=closed.get("by"),
        note=closed.get("note"),
        dispute=dispute.get("reason"),
        message=dispute.get("text"),
        hold=(closed.get("hold") or "on") if dispute.get("held") else None,
    )


def list_tasks(
    store: Store, *, kind: str | None = None, case_id: int | None = None, include_closed: bool = False
) -> list[Task]:
    """The tasks waiting for a person, oldest first (with ``include_closed``: every task, and those of closed cases)."""
    actions = _ACTIONS if kind is None else tuple(a for a in _ACTIONS if TASK_KINDS[a] == kind)
    with store.begin() as conn:
        records = load_tasks(conn, actions, case_id=case_id, open_only=not include_closed)
    return [_task(r) for r in records]


def finish_task(
    store: Store,
    task_id: int,
    *,
    note: str,
    by: str,
    on_date: date,
    recorded_at: datetime,
    failed: bool = False,
    keep_hold: bool = False,
) -> Task:
    """A person closes task ``task_id`` on ``on_date``: done, or ``failed`` (the step's fallback follows).

    A dispute's task lifts its hold as it closes (dunning resumes at the next night), unless
    ``keep_hold``: the person decided dunning stays stopped for this case.

    Raises :class:`~dunning.errors.NotFound` for an unknown id and :class:`TaskError` for a task
    already closed or a date before it was opened. The flow moves on at the next night's run.
    """
    status = "failed" if failed else "done"
    with store.begin() as conn:
        record = load_task(conn, task_id, _ACTIONS)
        if record is None:
            raise NotFound(f"no task {task_id} (see dunning tasks)")
        if record.status != "planned":
            closed = record.detail.get("closed") or {}
            raise TaskError(
                f"task {task_id} is already closed ({record.status}"
                + (f" on {record.outcome_on.isoformat()}" if record.outcome_on else "")
                + (f" by {closed['by']}" if closed.get("by") else "")
                + ")"
            )
        if on_date < record.opened_on:
            raise TaskError(
                f"task {task_id} was opened on {record.opened_on.isoformat()}: it cannot be closed on "
                f"{on_date.isoformat()}"
            )
        held = record.key.startswith(KEY_PREFIX) and bool((record.detail.get("dispute") or {}).get("held"))
        if keep_hold and not held:
            raise TaskError(f"task {task_id} is not a dispute from the pay page: it holds nothing to keep")
        closed = {"by": by, "on": on_date.isoformat(), "at": recorded_at.isoformat(), "note": note, "outcome": status}
        if held:
            closed["hold"] = "kept" if keep_hold else "lifted"
            if not keep_hold:
                release_dispute_hold(conn, record.key, on_date)
        if not close_task(conn, task_id, status=status, on_date=on_date, detail={**record.detail, "closed": closed}):
            raise TaskError(f"task {task_id} was closed by someone else meanwhile")
        insert_case_event(
            conn,
            case_id=record.case_id,
            on_date=on_date,
            kind="task_done",
            detail={
                "task": task_id,
                "kind": TASK_KINDS[record.action],
                "step": record.step or "",
                "by": by,
                "note": note,
                "outcome": status,
                **({"hold": closed["hold"]} if held else {}),
            },
            source=f"task:{task_id}",
            recorded_at=recorded_at,
        )
        record = load_task(conn, task_id, _ACTIONS)
    assert record is not None
    return _task(record)


def resume_after_dispute(store: Store, task_id: int, *, by: str, on_date: date, recorded_at: datetime) -> Task:
    """Lift the hold a dispute task closed with ``keep_hold`` left: dunning resumes at the next night."""
    with store.begin() as conn:
        record = load_task(conn, task_id, _ACTIONS)
        if record is None or not record.key.startswith(KEY_PREFIX):
            raise NotFound(f"no dispute task {task_id} (see dunning tasks --all)")
        if record.status == "planned":
            raise TaskError(f"task {task_id} is still open: close it with dunning tasks done {task_id} --note ...")
        closed = dict(record.detail.get("closed") or {})
        if closed.get("hold") != "kept" or not release_dispute_hold(conn, record.key, on_date):
            raise TaskError(f"task {task_id} holds nothing any more")
        closed["hold"] = "lifted"
        closed["lifted"] = {"by": by, "on": on_date.isoformat()}
        update_task_detail(conn, task_id, {**record.detail, "closed": closed})
        insert_case_event(
            conn,
            case_id=record.case_id,
            on_date=on_date,
            kind="dispute_hold_lifted",
            detail={"task": task_id, "by": by},
            source=f"task:{task_id}",
            recorded_at=recorded_at,
        )
        record = load_task(conn, task_id, _ACTIONS)
    assert record is not None
    return _task(record)
