"""Letter actions in the store: a letter's way through the channel and the costs a letter lists.

Split from :mod:`dunning.store.actions` (which re-exports these names): a letter action moves
``planned`` → ``sent`` | ``failed`` | ``cancelled`` → ``returned``, each change conditional on the status
it expects; the costs a letter lists are the case's fee and interest actions and the fees of messages
that went out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from dunning.store.schema import actions, cases

__all__ = [
    "CostRecord",
    "LastLetterActionRecord",
    "LetterActionRecord",
    "SentLetterRecord",
    "cancel_planned_action",
    "fail_planned_action",
    "load_booked_message_fees",
    "load_charged_costs",
    "load_last_letter_action",
    "load_letter_actions",
    "load_sent_letters_of_open_cases",
    "mark_action_returned",
    "mark_planned_action_sent",
    "mark_planned_actions_sent",
]


# A letter action's way through the channel (planned → sent | failed | cancelled → returned) and the
# costs a letter lists (the case's fee and interest actions, the fees of messages that went out).


@dataclass(frozen=True, slots=True)
class LetterActionRecord:
    """A letter action as the print house knows it: its key, case, status and fee."""

    id: int
    idempotency_key: str
    case_id: int
    status: str
    channel: str | None
    action: str
    template: str | None  # the step's ``settings.template``
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class CostRecord:
    """A cost charged to a case by an action (a fee, interest, or the fee of a message that went out)."""

    case_id: int
    action: str
    amount: Decimal
    due_on: date
    settings: Mapping[str, Any]  # the step's settings: its ``label`` names the cost on a letter
    detail: Mapping[str, Any] = field(default_factory=dict)  # the planner's rules, figures, interest breakdown


@dataclass(frozen=True, slots=True)
class LastLetterActionRecord:
    """The latest letter action of a case: the planner's legal record of it and its planned day."""

    due_on: date
    detail: Mapping[str, Any] | None


def _set_outcome(conn: Connection, action_id: int, status: str, on_date: date, *, only_planned: bool) -> None:
    query = update(actions).where(actions.c.id == action_id)
    if only_planned:
        query = query.where(actions.c.status == "planned")
    conn.execute(query.values(status=status, outcome_on=on_date))


def cancel_planned_action(conn: Connection, action_id: int, on_date: date) -> None:
    """The action will not be carried out (its case closed); nothing happens if it is no longer planned."""
    _set_outcome(conn, action_id, "cancelled", on_date, only_planned=True)


def fail_planned_action(conn: Connection, action_id: int, on_date: date) -> None:
    """The action cannot be carried out; nothing happens if it is no longer planned."""
    _set_outcome(conn, action_id, "failed", on_date, only_planned=True)


def mark_planned_action_sent(conn: Connection, action_id: int, on_date: date) -> None:
    """The action went out; nothing happens if it is no longer planned."""
    _set_outcome(conn, action_id, "sent", on_date, only_planned=True)


def mark_planned_actions_sent(conn: Connection, action_ids: Sequence[int], on_date: date) -> None:
    """These actions went out (one statement per 500); those no longer planned stay as they are."""
    for start in range(0, len(action_ids), 500):
        conn.execute(update(actions).where(actions.c.id.in_(action_ids[start:start + 500]),
                                           actions.c.status == "planned").values(status="sent", outcome_on=on_date))


def mark_action_returned(conn: Connection, action_id: int, on_date: date) -> None:
    """What the action sent came back undelivered (final, whatever the status was)."""
    _set_outcome(conn, action_id, "returned", on_date, only_planned=False)


def load_letter_actions(conn: Connection, action_ids: Sequence[int]) -> dict[int, LetterActionRecord]:
    """These actions by id (unknown ids are left out)."""
    if not action_ids:
        return {}
    query = select(actions.c.id, actions.c.idempotency_key, actions.c.case_id, actions.c.status,
                   actions.c.channel, actions.c.settings, actions.c.action, actions.c.amount
                   ).where(actions.c.id.in_(list(action_ids)))
    found = {}
    for row in conn.execute(query):
        template = (row.settings or {}).get("template")
        found[row.id] = LetterActionRecord(
            id=row.id, idempotency_key=row.idempotency_key, case_id=row.case_id, status=row.status,
            channel=row.channel, action=row.action, template=None if template is None else str(template),
            amount=row.amount)
    return found


def load_charged_costs(conn: Connection, case_ids: Sequence[int]) -> list[CostRecord]:
    """The fee and interest actions done on these cases, oldest first."""
    if not case_ids:
        return []
    query = (
        select(actions.c.case_id, actions.c.action, actions.c.amount, actions.c.settings, actions.c.due_on,
               actions.c.detail)
        .where(actions.c.case_id.in_(list(case_ids)), actions.c.action.in_(("add_fee", "add_interest")),
               actions.c.status == "done", actions.c.amount.is_not(None))
        .order_by(actions.c.due_on, actions.c.id)
    )
    return [CostRecord(row.case_id, row.action, row.amount, row.due_on, row.settings or {}, row.detail or {})
            for row in conn.execute(query)]


def load_booked_message_fees(conn: Connection, case_ids: Sequence[int], *, channels: Sequence[str],
                             went_out: Sequence[str]) -> list[CostRecord]:
    """The fees of messages on ``channels`` that went out and were booked to their case, not taken back since."""
    if not case_ids:
        return []
    query = (
        select(actions.c.case_id, actions.c.action, actions.c.amount, actions.c.settings, actions.c.due_on,
               actions.c.detail)
        .where(actions.c.case_id.in_(list(case_ids)), actions.c.channel.in_(list(channels)),
               actions.c.status.in_(list(went_out)), actions.c.amount.is_not(None))
        .order_by(actions.c.due_on, actions.c.id)
    )
    return [CostRecord(row.case_id, row.action, row.amount, row.due_on, row.settings or {}, row.detail or {})
            for row in conn.execute(query)
            if row.amount and row.amount > 0 and (row.detail or {}).get("fee_booked_on")
            and not (row.detail or {}).get("fee_reversed_on")]


def load_last_letter_action(conn: Connection, case_id: int, channels: Sequence[str]) -> LastLetterActionRecord | None:
    """The case's most recent action on ``channels`` (the latest planned letter), if it has one."""
    row = conn.execute(
        select(actions.c.detail, actions.c.due_on)
        .where(actions.c.case_id == case_id, actions.c.channel.in_(list(channels)))
        .order_by(actions.c.id.desc()).limit(1)
    ).first()
    return None if row is None else LastLetterActionRecord(due_on=row.due_on, detail=row.detail)


@dataclass(frozen=True, slots=True)
class SentLetterRecord:
    """A letter sent on an open case: which action and which template."""

    case_id: int
    action: str
    template: str | None


def load_sent_letters_of_open_cases(conn: Connection, channels: Sequence[str]) -> list[SentLetterRecord]:
    """Every letter sent on a case still open, per case newest first."""
    query = (
        select(actions.c.case_id, actions.c.action, actions.c.settings)
        .join(cases, cases.c.id == actions.c.case_id)
        .where(actions.c.channel.in_(list(channels)), actions.c.status == "sent", cases.c.status == "open")
        .order_by(actions.c.case_id, actions.c.due_on.desc(), actions.c.id.desc())
    )
    return [SentLetterRecord(row.case_id, row.action, (row.settings or {}).get("template"))
            for row in conn.execute(query)]
