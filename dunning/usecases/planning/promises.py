"""The night's part in a promise to pay (made on the pay page, :mod:`dunning.usecases.paypage.promise`).

Run by :func:`dunning.usecases.planning.night.run_night` in its transaction, before the flows are
planned, so the planner sees each promise as it stands tonight:

* **kept**: the case was paid in full (reconciliation closed it) while the promise ran: its hold is
  released and the timeline says so; the flow's ``on_paid`` (a thank-you) follows as for any paid case;
* **broken**: the hold's end (the promised day plus the grace days) has come and the case is still
  open: the hold is released that day and a ``promise_broken`` event is recorded. The planner then
  runs the flow's ``events: promise_broken`` handler once (if the flow has one) and the flow resumes
  where it paused; what was charged before stays charged once (the history keeps it). A reminder
  still waiting to go out is cancelled;
* **the reminder**: on the night before the promised day (or, after a missed night, on the day
  itself) a ``send_pay_link`` action on the debtor's preferred channel (email, else SMS, else none)
  with the template ``promise_reminder``, which states the promised day. Its idempotency key names
  the promise, so re-running the night adds nothing; it goes out although the case is on hold.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from dunning.domain.promise import (
    PROMISED,
    PromiseStatus,
    reminder_channel,
    reminder_due,
    settle,
)
from dunning.store.actions import NewActionRecord, existing_action_keys, insert_actions, mark_planned_actions
from dunning.store.promises import (
    PromiseRecord,
    cases_with_open_promises,
    end_promise,
    load_promise_cases,
    load_promises,
)
from dunning.store.schema import actions, cases

__all__ = ["REMINDER_TEMPLATE", "promise_night", "reminder_key"]

REMINDER_TEMPLATE = "promise_reminder"
REMINDER_ACTION = "send_pay_link"


def reminder_key(promise: PromiseRecord) -> str:
    """The reminder's idempotency key: one per promise, whatever night plans it."""
    return f"case:{promise.case_id}|{promise.source}|action:{REMINDER_ACTION}|reminder"


def promise_night(conn: Connection, run_date: date, recorded_at: datetime) -> list[dict[str, Any]]:
    """Settle the open promises as of ``run_date`` and plan their reminders; returns the reminders planned."""
    held = cases_with_open_promises(conn)
    promises = [p for p in load_promises(conn, held) if p.status is PromiseStatus.OPEN and p.made_on <= run_date]
    if not promises:
        return []
    infos = load_promise_cases(conn, sorted({p.case_id for p in promises}))
    closed_on = _closed_on(conn, [p.case_id for p in promises])
    keys = existing_action_keys(conn, [reminder_key(p) for p in promises])
    planned: list[NewActionRecord] = []
    for promise in promises:
        case = infos[promise.case_id]
        status = settle(paid=case.status == "closed", ends=promise.until, day=run_date)
        if status is PromiseStatus.KEPT:
            on = max(min(closed_on.get(promise.case_id) or run_date, run_date), promise.made_on)
            end_promise(conn, promise, status, on, f"paid in full by {on.isoformat()}: promise kept", recorded_at)
            continue
        if status is PromiseStatus.BROKEN:
            reason = (
                f"not paid in full by {promise.promised.isoformat()} (plus {promise.grace_days} days' grace): "
                "promise broken, the flow resumes"
            )
            end_promise(conn, promise, status, promise.until, reason, recorded_at)
            _cancel_reminder(conn, promise, run_date)
            continue
        channel = reminder_channel(has_email=case.has_email, has_phone=case.has_phone)
        key = reminder_key(promise)
        if channel is None or key in keys or not reminder_due(promise.promised, promise.made_on, run_date):
            continue
        planned.append(
            NewActionRecord(
                idempotency_key=key,
                case_id=promise.case_id,
                run_date=run_date,
                due_on=run_date,
                action=REMINDER_ACTION,
                channel=channel,
                step="promise_reminder",
                status="planned",
                amount=None,
                settings={"channel": channel, "template": REMINDER_TEMPLATE, PROMISED: promise.promised.isoformat()},
                reason=f"promise to pay by {promise.promised.isoformat()}: reminder the day before",
                recorded_at=recorded_at,
                flow=case.flow or "",
                flow_version=case.flow_version or 0,
                cycle=1,
                fallback_depth=0,
                contact=True,
                replaces=None,
                detail={"promise": promise.source},
            )
        )
    insert_actions(conn, planned)
    return [
        {
            "case": a.case_id,
            "debtor_id": infos[a.case_id].debtor,
            "action": a.action,
            "channel": a.channel,
            "step": a.step,
            "due_on": a.due_on.isoformat(),
            "amount": None,
            "reason": a.reason,
            "key": a.idempotency_key,
        }
        for a in planned
    ]


def _closed_on(conn: Connection, case_ids: list[int]) -> dict[int, date | None]:
    query = select(cases.c.id, cases.c.closed_on).where(cases.c.id.in_(case_ids))
    return {row.id: row.closed_on for row in conn.execute(query)}


def _cancel_reminder(conn: Connection, promise: PromiseRecord, run_date: date) -> None:
    """A reminder not gone out by the time the promise broke would name a day already past."""
    found = conn.execute(select(actions.c.id).where(actions.c.idempotency_key == reminder_key(promise))).first()
    if found is not None:
        mark_planned_actions(conn, [found.id], "cancelled", run_date)
