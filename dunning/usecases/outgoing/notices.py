"""Which reminder a message is, from what its debtor actually received: shared by letters and messages.

A letter's kind follows the debtor's history (:func:`dunning.domain.planning.notice_kind.notice_kind`, see
:mod:`dunning.usecases.letters.data`); an email or SMS must say the same thing, or a business's first email
(step ``b2b_reminder``) or a final-notice email to a debtor whose reminder bounced would speak of "our earlier
reminder" that never reached them. So the messages choose their wording with the same rule, over the same
reminders (:func:`dunning.store.reminders.load_reminders`):

* earlier reminders count when they went out (sent or delivered; not failed, bounced, returned or
  cancelled) in the case's cycle, on or before the message's day, after an invoice it claims fell due;
* templates that are no reminder (an account statement, a thank-you, a plan offer, a pay link) never count;
* a final-notice step (``send_final_notice``, a ``final_notice`` or ``formal_notice`` template) is a final
  notice once the debtor was reminded, else a first reminder; the step's ``kind`` setting forces one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from dunning.domain.planning.actions import CATALOGUE
from dunning.domain.planning.notice_kind import FINAL_TEMPLATES, NoticeKind, notice_kind
from dunning.store.reminders import ReminderRecord

__all__ = ["NOTICE_ACTIONS", "NOT_REMINDER_TEMPLATES", "history_notice_kind", "reminded_on"]

#: actions whose sending is a reminder the debtor received (the legal notices of the catalogue)
NOTICE_ACTIONS = tuple(name for name, spec in CATALOGUE.items() if spec.legal_notice)
#: templates of those actions that are no reminder (the letters' statement, thank-you and plan offer kinds)
NOT_REMINDER_TEMPLATES = frozenset({"statement", "thank_you", "plan_offer", "pay_link"})


def reminded_on(action_pk: int, reminders: Sequence[ReminderRecord]) -> list[date]:
    """The days the case's other reminders of this action's cycle went out (see the module docstring)."""
    own = next((r for r in reminders if r.action_id == action_pk), None)
    cycle = own.cycle if own is not None else max((r.cycle for r in reminders), default=1)
    return [
        r.went_out_on
        for r in reminders
        if r.action_id != action_pk
        and r.cycle == cycle
        and r.went_out_on is not None
        and (r.template or "") not in NOT_REMINDER_TEMPLATES
    ]


def history_notice_kind(
    *,
    action_pk: int,
    action: str,
    settings: Mapping[str, Any],
    on: date,
    reminders: Sequence[ReminderRecord],
    claimed_due: Iterable[date],
) -> NoticeKind:
    """The kind of the reminder ``action_pk`` going out on ``on``, from the case's ``reminders``."""
    template = str(settings.get("template") or "")
    final = action == "send_final_notice" or template in FINAL_TEMPLATES
    forced = settings.get("kind")
    return notice_kind(final=final, on=on, reminded_on=reminded_on(action_pk, reminders),
                       claimed_due=claimed_due, forced=str(forced) if forced else None)
