"""A debtor's dispute or question from the pay page: a task for a person, and for a dispute a hold.

Reasons, and what each does (the Belgian "stop button" of Book XIX: a debtor who disputes the claim
or asks for time gets no further amicable steps until a person has looked at it):

* ``already_paid``, ``wrong_amount``, ``not_mine``: a **dispute**. The case is put on hold
  (``dispute``) from today: the night plans nothing for it until a person closes the task.
* ``need_time``: asking for time is asking for a payment arrangement, which the stop button also
  covers: a **dispute** too (hold), so no reminder crosses the person's answer.
* ``other``: a **question**. A task opens so a person answers it, but nothing stops: a question does
  not contest the claim, and holding on every question would let anyone pause dunning for free.

Either way the case gets a ``dispute_opened`` event (timeline, and a flow's ``events:`` may follow it
up) and one task in ``dunning tasks`` (kind manual, queue ``disputes``). While one is open the page
says so and takes no second one; one pay link sends at most :data:`MAX_PER_LINK` in all. The
debtor's text is personal data: kept on the task and the event for the person, never logged.
A person closes the task with ``dunning tasks done ID --note ...``; by default that lifts the hold
(``--keep-hold`` leaves it: the person decided to stop dunning for now), see
:func:`dunning.usecases.planning.tasks.finish_task`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from dunning.errors import InputError
from dunning.store import Store
from dunning.store.cases import insert_case_event
from dunning.store.disputes import count_link_disputes, insert_dispute, load_open_dispute

__all__ = [
    "DISPUTE_REASONS",
    "MAX_PER_LINK",
    "MAX_TEXT",
    "REASONS",
    "DisputeRefused",
    "DisputeResult",
    "current_dispute",
    "link_source",
    "open_dispute",
]

#: the reasons the form offers, in its order
REASONS = ("already_paid", "wrong_amount", "not_mine", "need_time", "other")
#: the reasons that put the case on hold (the others are questions)
DISPUTE_REASONS = frozenset({"already_paid", "wrong_amount", "not_mine", "need_time"})
#: the longest text the form takes (characters)
MAX_TEXT = 1000
#: disputes and questions one pay link may send in all (a link is forwarded, a form is resent)
MAX_PER_LINK = 3
_TITLES = {
    "already_paid": "Dispute: says already paid",
    "wrong_amount": "Dispute: says the amount is wrong",
    "not_mine": "Dispute: says not their invoice",
    "need_time": "Asks for time to pay",
    "other": "Question from the debtor",
}


class DisputeRefused(InputError):
    """A form the page cannot take: ``why`` is ``reason``, ``text``, ``open`` (one is open) or ``limit``."""

    def __init__(self, why: str, opened_on: date | None = None) -> None:
        super().__init__(f"dispute refused: {why}")
        self.why = why
        self.opened_on = opened_on


@dataclass(frozen=True, slots=True)
class DisputeResult:
    task_id: int
    reason: str
    held: bool  # the case is on hold until a person closes the task
    opened_on: date


def link_source(token: str) -> str:
    """The event source naming a pay link: a hash, so the link itself is never stored."""
    return "paypage:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


def open_dispute(
    store: Store, case_id: int, token: str, reason: str, text: str, *, on_date: date, recorded_at: datetime
) -> DisputeResult:
    """Record the debtor's dispute or question of ``case_id`` sent through the pay link ``token``.

    Raises :class:`DisputeRefused` for an unknown reason, a text too long (or empty for ``other``:
    a question needs words), a dispute already open for the case, or a link over its limit.
    """
    if reason not in REASONS:
        raise DisputeRefused("reason")
    text = text.strip()
    if len(text) > MAX_TEXT or (reason == "other" and not text):
        raise DisputeRefused("text")
    held = reason in DISPUTE_REASONS
    source = link_source(token)
    with store.begin() as conn:
        current = load_open_dispute(conn, case_id)
        if current is not None:
            raise DisputeRefused("open", current.opened_on)
        if count_link_disputes(conn, case_id, source) >= MAX_PER_LINK:
            raise DisputeRefused("limit")
        title = _TITLES[reason]
        task_id, _key = insert_dispute(
            conn,
            case_id=case_id,
            on_date=on_date,
            recorded_at=recorded_at,
            settings={"title": title, "queue": "disputes", "priority": "high", "due_days": 5, "wait": False},
            detail={"dispute": {"reason": reason, "text": text, "held": held}},
            reason=f"{'dispute' if held else 'question'} sent from the pay page",
            hold_reason=f"dispute from the pay page: {reason.replace('_', ' ')}" if held else None,
        )
        insert_case_event(
            conn,
            case_id=case_id,
            on_date=on_date,
            kind="dispute_opened",
            detail={
                "task": task_id,
                "reason": reason.replace("_", " "),
                "kind": "dispute" if held else "question",
                "text": text,
                "held": held,
            },
            source=source,
            recorded_at=recorded_at,
        )
    return DisputeResult(task_id, reason, held, on_date)



def current_dispute(store: Store, case_id: int) -> DisputeResult | None:
    """The dispute or question of ``case_id`` waiting for a person (what the page acknowledges), if any."""
    with store.begin() as conn:
        found = load_open_dispute(conn, case_id)
    if found is None:
        return None
    return DisputeResult(found.task_id, found.reason, found.reason in DISPUTE_REASONS, found.opened_on)
