"""Which kind of reminder a debtor gets: from what this debtor actually received and when.

The wording of a reminder ("Reminder…" or "Second reminder… despite our earlier reminder", or a
final notice "despite our reminders") must be true for the debtor reading it, so the kind is
chosen from the case's history, never from the name of the flow step that planned it:

* a **first reminder** when no earlier reminder of this cycle went out before this one, or when the
  earlier ones were all sent before any invoice it claims had fallen due (they were about other
  debts): a business's first letter is a first reminder even when the step is ``b2b_reminder``, and
  a final-notice step that reaches a debtor who was never reminded (the reminder bounced, missed
  nights) is a first reminder too, since "despite our reminders" would be false;
* a **final notice** when the step is one (``send_final_notice``, a ``final_notice`` or
  ``formal_notice`` template: it gives formal notice with its deadline) and the debtor was reminded
  before;
* a **reminder** (the second-reminder wording) otherwise.

A flow can force the kind with the step setting ``kind`` (``first_reminder``, ``second_reminder``
or ``final_notice``); ``dunning flows check`` validates it with the other settings. ::

    >>> from datetime import date
    >>> claims = [date(2026, 9, 1)]                       # due dates of the invoices claimed
    >>> notice_kind(final=False, on=date(2026, 10, 1), reminded_on=[], claimed_due=claims)
    <NoticeKind.FIRST_REMINDER: 'first_reminder'>
    >>> notice_kind(final=False, on=date(2026, 10, 20), reminded_on=[date(2026, 10, 1)], claimed_due=claims)
    <NoticeKind.SECOND_REMINDER: 'second_reminder'>
    >>> notice_kind(final=True, on=date(2026, 10, 20), reminded_on=[], claimed_due=claims)
    <NoticeKind.FIRST_REMINDER: 'first_reminder'>
    >>> notice_kind(final=True, on=date(2026, 10, 20), reminded_on=[date(2026, 10, 1)], claimed_due=claims)
    <NoticeKind.FINAL_NOTICE: 'final_notice'>

An earlier reminder about other invoices (all claimed ones fell due after it) does not count, and
a forced kind wins::

    >>> notice_kind(final=False, on=date(2026, 12, 1), reminded_on=[date(2026, 10, 1)],
    ...             claimed_due=[date(2026, 11, 1)])
    <NoticeKind.FIRST_REMINDER: 'first_reminder'>
    >>> notice_kind(final=False, on=date(2026, 10, 1), reminded_on=[], claimed_due=claims, forced="final_notice")
    <NoticeKind.FINAL_NOTICE: 'final_notice'>
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

__all__ = ["FINAL_TEMPLATES", "NoticeKind", "notice_kind"]


class NoticeKind(StrEnum):
    """The reminder kinds (their values are the letter kinds and template names of the same name)."""

    FIRST_REMINDER = "first_reminder"
    SECOND_REMINDER = "second_reminder"
    FINAL_NOTICE = "final_notice"


#: step templates that ask for the final notice (formal notice of default with a last deadline)
FINAL_TEMPLATES = frozenset({"final_notice", "formal_notice"})


def notice_kind(
    *,
    final: bool,
    on: date,
    reminded_on: Iterable[date],
    claimed_due: Iterable[date],
    forced: str | None = None,
) -> NoticeKind:
    """The kind of the reminder sent on ``on``.

    ``final``: the step asks for a final notice; ``reminded_on``: the days earlier reminders of this
    cycle went out (letters, emails and notices that reached the debtor, not this one); ``claimed_due``:
    the due dates of the invoices this reminder claims (empty: every earlier reminder counts);
    ``forced``: the step's ``kind`` setting, which wins.
    """
    if forced:
        return NoticeKind(forced)
    due_dates = sorted(claimed_due)
    oldest = due_dates[0] if due_dates else None
    reminded = any(day <= on and (oldest is None or oldest < day) for day in reminded_on)
    if not reminded:
        return NoticeKind.FIRST_REMINDER
    return NoticeKind.FINAL_NOTICE if final else NoticeKind.SECOND_REMINDER
