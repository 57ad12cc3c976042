"""Pay-page visits that feed a flow: the ``visit_without_payment`` event (pure: no clock, no store).

A flow's ``events:`` block may follow up a visit of the pay page that no payment came after::

    events:
      visit_without_payment: {after_hours: 24, action: send_pay_link, settings: {channel: email}}

The follow-up is due ``after_hours`` after the visit (else ``after`` days), on the night whose date
that moment falls on (the visits are in the creditor's local time), and only when no payment was
booked for the case on or after the visit's day. It is **capped per flow step**: its key names the
step the case is at (``on:visit_without_payment:<step>``, ``start`` before the first), so several
visits during one step give one follow-up, and a visit before that step started belonged to the
step before. Its fallbacks work as a step's do (a bounce plans the next one).

    >>> from dunning.domain.planning.flows import load_flow
    >>> from dunning.domain.planning.case_state import Visit
    >>> f = load_flow({"name": "f", "version": 1, "steps": [{"key": "a", "day": 3, "action": "send_email"}],
    ...     "events": {"visit_without_payment": {"after_hours": 24, "action": "send_pay_link"}}}, "f.yaml")
    >>> found = visit_follow_up(f, {}, (Visit(datetime(2026, 11, 5, 21, 0)),), None)
    >>> found.step_key, found.due
    ('on:visit_without_payment:start', datetime.date(2026, 11, 6))
    >>> visit_follow_up(f, {}, (Visit(datetime(2026, 11, 5, 21, 0)),), date(2026, 11, 5)) is None
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dunning.domain.planning.case_state import HistoryEntry, Visit
from dunning.domain.planning.flows import VISIT_WITHOUT_PAYMENT, EventHandler, Flow

__all__ = ["VisitFollowUp", "visit_follow_up"]


@dataclass(frozen=True, slots=True)
class VisitFollowUp:
    """The follow-up of the current step: to plan (``visit`` set) or already planned (``visit`` None)."""

    step_key: str
    handler: EventHandler
    visit: Visit | None = None
    due: date | None = None

    @property
    def reason(self) -> str:
        when = f"{self.visit.at:%Y-%m-%d %H:%M}" if self.visit else "?"
        return f"pay page visited {when} without a payment since"


def visit_follow_up(
    flow: Flow,
    by_step: Mapping[str, Sequence[HistoryEntry]],
    visits: Sequence[Visit],
    last_payment_on: date | None,
) -> VisitFollowUp | None:
    """The visit follow-up the case's current step has or may get; None when there is none to consider."""
    handler = flow.on_events.get(VISIT_WITHOUT_PAYMENT)
    if handler is None or not visits:
        return None
    started = [s for s in flow.steps if s.key in by_step]
    current = started[-1].key if started else "start"
    since = min(e.on for e in by_step[current]) if started else None
    step_key = f"on:{VISIT_WITHOUT_PAYMENT}:{current}"
    if by_step.get(step_key):
        return VisitFollowUp(step_key, handler)
    for visit in sorted(visits, key=lambda v: v.at):
        day = visit.at.date()
        if (since is not None and day < since) or (last_payment_on is not None and last_payment_on >= day):
            continue  # a visit of an earlier step, or one a payment came after
        return VisitFollowUp(step_key, handler, visit, _due(handler, visit.at))
    return None


def _due(handler: EventHandler, at: datetime) -> date:
    if handler.after_hours is not None:
        return (at + timedelta(hours=handler.after_hours)).date()
    return at.date() + timedelta(days=handler.after)
