"""Dispatch asks here whether a plan message goes out on a case that is on hold.

The rule is :func:`dunning.domain.plans.holds.plan_message_held`; this reads the case's holds in
force and records a cancellation (on the action and the case's timeline), so dispatch keeps one line.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from dunning.domain.plans.holds import HeldMessage, plan_message_held
from dunning.store.actions import mark_planned_action
from dunning.store.hold_kinds import active_hold_kinds
from dunning.usecases.outgoing.due import DueAction

__all__ = ["held_plan_message"]


def held_plan_message(conn: Connection, due: DueAction, run_date: date) -> HeldMessage:
    """SEND, WAIT (left planned) or CANCEL (marked cancelled now) for the plan message ``due``."""
    kinds = active_hold_kinds(conn, [due.case_id], run_date).get(due.case_id, frozenset())
    raw = due.detail.get("due_date")
    verdict = plan_message_held(due.action, kinds, due_date=date.fromisoformat(str(raw)) if raw else None,
                                run_date=run_date)
    if verdict == HeldMessage.CANCEL:
        mark_planned_action(conn, due.action_pk, status="cancelled", outcome_on=run_date)
    return verdict
