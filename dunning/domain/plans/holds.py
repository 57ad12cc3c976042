"""Which of the plan bot's messages go out while the case is on hold, and which do not.

A plan pauses the case's flow with its own ``plan_active`` hold; that hold is what the bot works
under, so it never stops the bot's messages. Every other hold does:

* a **hard stop** (insolvency, deceased) ends all contact: every plan message is cancelled, the
  thank-yous too (a thank-you to an estate or a debtor under a court's protection is contact).
* any other hold (a dispute, a manual hold, a promise to pay, a payment waiting for a person's
  review) stops the chasing messages (reminders, miss and deferral notices, the breach notice and
  the end of the plan): they wait, planned, until the hold is lifted. A reminder whose instalment
  has fallen due meanwhile is cancelled instead (it would announce a day that is past; the miss, if
  any, is told by its own message). Thank-yous (``plan_thanks``, ``plan_completed``) still go: they
  answer a payment the debtor made and ask for nothing.

Under a dispute or a payment in review the bot also decides nothing against the debtor
(:func:`judges_misses`): no miss, deferral, re-spread, breach notice or breach until it is lifted; an
instalment that fell due meanwhile then gets its grace days again from the day it ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from dunning.domain.planning.case_state import HARD_STOP_HOLDS, HoldKind

__all__ = ["SUSPENDS_JUDGEMENT", "THANKS", "HeldMessage", "judges_misses", "plan_message_held"]

#: plan messages that thank and ask for nothing
THANKS = frozenset({"plan_thanks", "plan_completed"})
#: reminders announcing an instalment's due date (stale once it is past)
_BEFORE_DUE = frozenset({"plan_reminder"})
#: holds under which the bot declares no miss and no breach: the debt is contested, or a payment that may be
#: the instalment's waits for a person (the debtor is not in default while either stands)
SUSPENDS_JUDGEMENT = frozenset({HoldKind.DISPUTE, HoldKind.PAYMENT_IN_REVIEW})


def judges_misses(holds: Iterable[HoldKind | str]) -> bool:
    """Whether the plan bot may declare misses and breaches tonight under the case's active ``holds``.

    >>> judges_misses(["plan_active"]), judges_misses(["plan_active", "dispute"])
    (True, False)
    """
    return not ({HoldKind(kind) for kind in holds} & SUSPENDS_JUDGEMENT)


class HeldMessage(StrEnum):
    SEND = "send"
    WAIT = "wait"
    CANCEL = "cancel"


def plan_message_held(action: str, holds: Iterable[HoldKind | str], *, due_date: date | None,
                      run_date: date) -> HeldMessage:
    """What becomes of the plan message ``action`` tonight under the case's active ``holds``.

    >>> plan_message_held("plan_reminder", ["plan_active"], due_date=None, run_date=date(2027, 1, 1))
    <HeldMessage.SEND: 'send'>
    >>> plan_message_held("plan_thanks", ["dispute", "plan_active"], due_date=None, run_date=date(2027, 1, 1))
    <HeldMessage.SEND: 'send'>
    >>> plan_message_held("plan_missed", ["dispute"], due_date=None, run_date=date(2027, 1, 1))
    <HeldMessage.WAIT: 'wait'>
    >>> plan_message_held("plan_thanks", ["deceased"], due_date=None, run_date=date(2027, 1, 1))
    <HeldMessage.CANCEL: 'cancel'>
    """
    kinds = {HoldKind(kind) for kind in holds} - {HoldKind.PLAN_ACTIVE}
    if kinds & HARD_STOP_HOLDS:
        return HeldMessage.CANCEL
    if not kinds or action in THANKS:
        return HeldMessage.SEND
    if action in _BEFORE_DUE and due_date is not None and due_date <= run_date:
        return HeldMessage.CANCEL
    return HeldMessage.WAIT
