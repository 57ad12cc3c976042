"""The reminders of a case: every legal-notice action (letter, email, final notice), whatever its status.

A letter's kind follows what its debtor actually received and when
(:mod:`dunning.domain.planning.notice_kind`); the letter channel reads the case's reminders here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, select

from dunning.store.schema import actions, case_events

__all__ = ["ReminderRecord", "load_reminders"]


@dataclass(frozen=True, slots=True)
class ReminderRecord:
    """One legal-notice action of a case; ``went_out_on``: its posting date, else when it was sent, else None."""

    action_id: int
    case_id: int
    action: str
    template: str | None
    cycle: int
    status: str
    went_out_on: date | None


def load_reminders(
    conn: Connection, case_ids: Sequence[int], notice_actions: Sequence[str], went_out: Sequence[str]
) -> dict[int, list[ReminderRecord]]:
    """Per case, its actions among ``notice_actions`` in the order they were recorded.

    An action whose status is in ``went_out`` is dated by the print house's posting date (a
    ``letter_posted`` event naming its key), else the day it was handed over or accepted
    (``outcome_on``), else its planned day; any other action gets ``went_out_on`` None.
    """
    found: dict[int, list[ReminderRecord]] = {}
    if not case_ids:
        return found
    posted: dict[str, date] = {}
    events = select(case_events.c.on_date, case_events.c.detail).where(
        case_events.c.kind == "letter_posted", case_events.c.case_id.in_(list(case_ids))
    )
    for event in conn.execute(events):
        ref = (event.detail or {}).get("ref")
        if ref and (ref not in posted or event.on_date < posted[ref]):
            posted[ref] = event.on_date
    query = (
        select(
            actions.c.id,
            actions.c.case_id,
            actions.c.action,
            actions.c.settings,
            actions.c.cycle,
            actions.c.status,
            actions.c.outcome_on,
            actions.c.due_on,
            actions.c.idempotency_key,
        )
        .where(actions.c.case_id.in_(list(case_ids)), actions.c.action.in_(list(notice_actions)))
        .order_by(actions.c.id)
    )
    for row in conn.execute(query):
        day: date | None = None
        if row.status in went_out:
            handed = row.outcome_on or row.due_on
            day = max(posted.get(row.idempotency_key, handed), handed)
        template = (row.settings or {}).get("template")
        found.setdefault(row.case_id, []).append(
            ReminderRecord(
                row.id, row.case_id, row.action, str(template) if template else None, row.cycle, row.status, day
            )
        )
    return found
