"""Dispatch asks here whether a plan message goes out on a case that is on hold.

The rule is :func:`dunning.domain.plans.holds.plan_message_held`; this reads the case's holds in
force and records a cancellation (on the action and the case's timeline), so dispatch keeps one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection

from dunning.domain.plans.holds import HeldMessage, plan_message_held
from dunning.store.actions import mark_planned_action
from dunning.store.hold_kinds import active_hold_kinds
from dunning.usecases.outgoing.due import DueAction

__all__ = ["held_plan_action", "held_plan_message"]


def held_plan_message(conn: Connection, due: DueAction, run_date: date) -> HeldMessage:
    """SEND, WAIT (left planned) or CANCEL (marked cancelled now) for the plan message ``due``."""
    return held_plan_action(conn, action_pk=due.action_pk, case_id=due.case_id, action=due.action,
                            detail=due.detail, run_date=run_date)


def held_plan_action(conn: Connection, *, action_pk: int, case_id: int, action: str, detail: Mapping[str, Any],
                     run_date: date) -> HeldMessage:
    """:func:`held_plan_message` for a plan action known by its parts (a letter waiting for its print batch)."""
    kinds = active_hold_kinds(conn, [case_id], run_date).get(case_id, frozenset())
    raw = detail.get("due_date")
    verdict = plan_message_held(action, kinds, due_date=date.fromisoformat(str(raw)) if raw else None,
                                run_date=run_date)
    if verdict == HeldMessage.CANCEL:
        mark_planned_action(conn, action_pk, status="cancelled", outcome_on=run_date)
    return verdict
