"""Pacing: the gaps a flow keeps between its steps, the deadlines an escalation waits for, and the
tasks that wait for a person. The planner (:mod:`dunning.domain.planning.planner`) asks a
:class:`Pacing` before it plans each step, so a catch-up (after missed nights, or a first run over an
aged ledger) replays the flow at its own pace instead of bunching it into one night:

* **rhythm**: a step is due no earlier than its distance in the flow from the last step that
  happened (the difference of their nominal days: ``day`` steps by their day, ``after`` steps by the
  previous step's plus ``after``), counted from the day that step **really** happened: a letter,
  email or SMS from the day it went out (its posting date once acknowledged), a task from the day it
  was opened, anything else from the night it was planned. A message not gone out yet holds the
  later steps back; only an ``after: 0`` step may follow it the same night it is planned;
* **deadlines**: every legal notice that went out gives the debtor a deadline, the very date its
  letter, email or SMS prints (:meth:`~dunning.domain.legal.base.LegalPack.payment_deadline`, as
  :func:`dunning.usecases.outgoing.legal.action_deadline` words it): the step's ``deadline_days`` (else
  :data:`DEFAULT_PAY_DAYS`), counted from the first day of the pack's period (the day after an email;
  a Belgian letter from the 3rd working day after posting; a Dutch one from the day after its presumed
  delivery), at least the law's period for the case's first legal notice, never before the day before
  the planner's earliest legal date, nor before the deadline the message printed. An **escalation**
  (:data:`ESCALATIONS`: hand-over, lawyer or bailiff, service block) waits until the latest deadline has
  passed, and while a notice has not gone out it waits for it (its deadline counts from the day it does).
  So does every later **notice that asks for payment** (:func:`asks_payment`: a reminder, final or
  formal notice, whatever its channel; not an SMS or pay-link nudge, a thank-you or a task): under
  Book XIX the next step may only come once the previous notice's period has run, and a letter saying
  "despite our reminder asking payment by 17 October" cannot be posted on the 15th. The flow's own
  step days should leave room for that (``dunning flows check`` warns, see
  :mod:`dunning.domain.legal.spacing`); the planner postpones the step to the day after regardless;
* **tasks**: a task for a person (:data:`TASK_ACTIONS`: ``manual_task``, ``phone_call_task``) stays
  open until a person closes it (``dunning tasks done ID``); with ``wait: true`` (their default) the
  flow waits at its step until then, and the next step counts its days from the day the task was
  opened but never comes before the day it was closed. A task closed as failed (a call nobody
  answered) sets off the step's fallback, like a failed message.

Pure: the dates come from the history and the run date; no clock.

    >>> from dunning.domain.planning.flows import load_flow
    >>> f = load_flow({"name": "f", "version": 1, "steps": [
    ...     {"key": "a", "day": 3, "action": "send_email"},
    ...     {"key": "b", "after": 7, "action": "send_letter"},
    ...     {"key": "c", "day": 28, "action": "send_final_notice", "settings": {"deadline_days": 8}},
    ...     {"key": "d", "day": 40, "action": "hand_over", "settings": {"agency": "x"}}]}, "f.yaml")
    >>> nominal_days(f)
    (3, 10, 28, 40)
    >>> pay_days({"deadline_days": 8}), pay_days({})
    (8, 14)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dunning.domain.legal.base import LegalPack
from dunning.domain.planning.actions import CATALOGUE, Channel, action_channel
from dunning.domain.planning.case_state import HistoryEntry, Outcome
from dunning.domain.planning.flows import ActionCall, Flow, Step

__all__ = [
    "DEFAULT_PAY_DAYS",
    "ESCALATIONS",
    "TASK_ACTIONS",
    "TASK_KINDS",
    "Pacing",
    "Wait",
    "asks_payment",
    "call_settings",
    "nominal_days",
    "notice_deadline",
    "pay_days",
    "printed_deadline",
    "waits_for_person",
]

ONE_DAY = timedelta(days=1)
#: days a notice gives the debtor when its step says no ``deadline_days`` (what its letter prints)
DEFAULT_PAY_DAYS = 14
#: steps that escalate against the debtor: they wait until every deadline given has passed
ESCALATIONS = frozenset({"hand_over", "escalate_to_legal", "block_service"})
#: actions a person carries out and closes (``dunning tasks``), by the kind ``dunning tasks`` shows
TASK_KINDS: Mapping[str, str] = {"manual_task": "manual", "phone_call_task": "call"}
TASK_ACTIONS = frozenset(TASK_KINDS)
#: channels of a message that goes out to the debtor (its day counts, not the day it was planned)
_GOES_OUT = frozenset({Channel.LETTER, Channel.REGISTERED_LETTER, Channel.EMAIL, Channel.SMS})


class Wait(Exception):
    """Raised inside the night walk when the next thing in order is not due tonight.

    ``when``: the day to look again (None: when a person has closed a task).
    """

    def __init__(self, when: date | None, why: str) -> None:
        super().__init__(why)
        self.when = when
        self.why = why


def nominal_days(flow: Flow) -> tuple[int, ...]:
    """Each step's day in the flow's own schedule (``day`` as given; ``after``: the previous one's plus it)."""
    days: list[int] = []
    last = 0
    for step in flow.steps:
        last = step.day if step.day is not None else last + (step.after or 0)
        days.append(last)
    return tuple(days)


def pay_days(settings: Mapping[str, Any]) -> int:
    """The days a notice gives to pay: its ``deadline_days``, else :data:`DEFAULT_PAY_DAYS`."""
    days = settings.get("deadline_days")
    return days if isinstance(days, int) and not isinstance(days, bool) and days > 0 else DEFAULT_PAY_DAYS


def notice_deadline(pack: LegalPack, sent_on: date, channel: Channel, days: int) -> date:
    """The last day to pay that a notice sent on ``sent_on`` gives: ``days`` from the first day of the pack's period.

    Never earlier than the day before the pack's earliest cost date (the legal period of a first notice).
    """
    return pack.period_start(sent_on, channel) + timedelta(days=days - 1)


def printed_deadline(pack: LegalPack, sent_on: date, channel: Channel, days: int, entry: HistoryEntry | None) -> date:
    """The last day to pay that the notice ``entry`` sent on ``sent_on`` prints: the one deadline.

    The same date as the letter, email and SMS say (``action_deadline`` in the use cases): the pack's
    :meth:`~dunning.domain.legal.base.LegalPack.payment_deadline` (at least the law's period for the first
    legal notice), never before the entry's ``deadline_floor``.
    """
    legal_notice = entry is not None and entry.legal_notice
    day = pack.payment_deadline(sent_on, channel, days, legal_notice=legal_notice).day
    floor = entry.deadline_floor if entry is not None else None
    return max(day, floor) if floor is not None else day


def asks_payment(action: str) -> bool:
    """True for an action whose message asks the debtor to pay by a deadline: it waits for the previous one's.

    The catalogue's legal notices (reminder letter or email, registered letter, final notice); an SMS
    or a pay link only restates the running deadline, a thank-you or a task asks nothing.
    """
    spec = CATALOGUE.get(action)
    return spec is not None and spec.legal_notice


def waits_for_person(action: str, settings: Mapping[str, Any]) -> bool:
    """True for a task whose step waits until a person closes it (``wait``, default true)."""
    return action in TASK_ACTIONS and bool(settings.get("wait", True))


def call_settings(flow: Flow, step_key: str, depth: int) -> Mapping[str, Any]:
    """The settings of the call a history entry of ``flow`` ran (empty when the flow does not know it)."""
    call: ActionCall | None
    if step_key == "on_paid":
        call = flow.on_paid
    elif step_key.startswith("on:"):
        handler = flow.on_events.get(step_key.split(":", 2)[1])
        call = handler.call if handler is not None else None
    else:
        step = flow.step(step_key)
        call = step.call if step is not None else None
    chain = call.chain() if call is not None else []
    return chain[depth].settings if depth < len(chain) else {}


def _goes_out(action: str, channel: str | None) -> bool:
    return action not in TASK_ACTIONS and channel is not None and channel in _GOES_OUT


@dataclass(frozen=True, slots=True)
class _Last:
    """The last step that happened: its nominal day, the day it happened (None: not gone out yet)."""

    step_key: str
    nominal: int
    happened: date | None
    planned_on: date
    not_before: date | None = None  # a task: the day a person closed it


class Pacing:
    """One case's pacing while its night is planned (mutable; the planner's helper).

    ``history``: the current cycle's entries (cancelled ones left out); ``failed``: the keys of
    failed attempts and the day each failure became known.
    """

    def __init__(
        self, flow: Flow, pack: LegalPack, day: date, history: list[HistoryEntry], failed: Mapping[str, date]
    ) -> None:
        self.flow = flow
        self.pack = pack
        self.day = day
        self.nominal = nominal_days(flow)
        self.last: _Last | None = None
        # The latest deadline a notice that went out gave (last day to pay, sent on), and the earliest
        # notice not gone out yet (planned on, its deadline were it sent that day).
        self.deadline: tuple[date, date] | None = None
        self.pending: tuple[date, date] | None = None
        for h in history:
            spec = CATALOGUE.get(h.action)
            if spec is None or not spec.legal_notice or h.key in failed:
                continue
            days = pay_days(call_settings(flow, h.step_key, h.fallback_depth)) if h.flow == flow.name else None
            channel = Channel(h.channel or Channel.LETTER)
            sent = h.went_out_on
            if sent is None:
                self._pend(h.on, channel, days or DEFAULT_PAY_DAYS, h)
                continue
            last_day = printed_deadline(pack, sent, channel, days or DEFAULT_PAY_DAYS, h)
            if self.deadline is None or last_day > self.deadline[0]:
                self.deadline = (last_day, sent)

    def _pend(self, planned_on: date, channel: Channel, days: int, entry: HistoryEntry | None = None) -> None:
        estimate = printed_deadline(self.pack, planned_on, channel, days, entry)
        if self.pending is None or (planned_on, estimate) < self.pending:
            self.pending = (planned_on, estimate)

    # ---- the steps -----------------------------------------------------------------------------
    def started(
        self, step: Step, entries: list[HistoryEntry], failed: Mapping[str, date], tonight: ActionCall | None
    ) -> None:
        """Take a step started on an earlier night as the last that happened; raise :class:`Wait` at an open task.

        ``tonight``: the fallback planned for it tonight, if any (the step happens again, from tonight).
        """
        if tonight is not None:
            self.planned(step, tonight)
            return
        nominal = self.nominal[step.index]
        last = max(entries, key=lambda e: (e.fallback_depth, e.on, e.key))
        chain = step.call.chain()
        if failed.get(last.key) is not None:  # failed, no fallback left: tried that night, the step is over
            self.last = _Last(step.key, nominal, last.on, last.on)
            return
        settings = chain[last.fallback_depth].settings if last.fallback_depth < len(chain) else {}
        if last.action in TASK_ACTIONS:
            if last.outcome == Outcome.PLANNED and waits_for_person(last.action, settings):
                raise Wait(
                    None,
                    f"{step.key}: waits for a person to close its {TASK_KINDS[last.action]} task "
                    f"opened {last.on.isoformat()} (dunning tasks)",
                )
            self.last = _Last(step.key, nominal, last.on, last.on, last.outcome_on or last.on)
            return
        happened = last.went_out_on if _goes_out(last.action, last.channel) else last.on
        self.last = _Last(step.key, nominal, happened, last.on)

    def due(self, step: Step, scheduled: date) -> date:
        """The day ``step`` (scheduled by the flow on ``scheduled``) is due, keeping the flow's gap to the last step.

        Raises :class:`Wait` while the last step's message has not gone out (its gap counts from then).
        """
        last = self.last
        if last is None:
            return scheduled
        gap = max(self.nominal[step.index] - last.nominal, 0)
        if last.happened is None:
            if gap == 0 and last.planned_on == self.day:
                return scheduled  # goes out tonight with it
            when = max(last.planned_on + timedelta(days=gap), self.day + ONE_DAY)
            raise Wait(
                when,
                f"{step.key}: waits for {last.step_key} (planned {last.planned_on.isoformat()}) to go "
                f"out: its {gap} day(s) count from the day it does",
            )
        due = max(scheduled, last.happened + timedelta(days=gap))
        if last.not_before is not None:
            due = max(due, last.not_before)
        return due

    def planned(self, step: Step, call: ActionCall) -> None:
        """``call`` of ``step`` was planned tonight; raise :class:`Wait` when it is a task the flow waits for."""
        channel = action_channel(call.action, call.settings)
        happened = None if _goes_out(call.action, channel) else self.day
        self.last = _Last(step.key, self.nominal[step.index], happened, self.day)
        if waits_for_person(call.action, call.settings):
            raise Wait(
                None,
                f"{step.key}: waits for a person to close its {TASK_KINDS[call.action]} task "
                f"opened {self.day.isoformat()} (dunning tasks)",
            )

    # ---- deadlines -----------------------------------------------------------------------------
    def notice_planned(self, call: ActionCall, channel: Channel | None) -> None:
        """A legal notice was planned tonight: an escalation waits for it to go out."""
        self._pend(self.day, channel or Channel.LETTER, pay_days(call.settings))

    def escalation_due(self, step_key: str, action: str, due: date) -> tuple[date, str | None]:
        """The day an escalation or a notice asking payment may happen (after the latest deadline given) and why.

        Raises :class:`Wait` while a notice has not gone out (its deadline counts from the day it does).
        Any other action is due on ``due``.
        """
        if action not in ESCALATIONS and not asks_payment(action):
            return due, None
        if self.pending is not None:
            planned_on, estimate = self.pending
            when = max(estimate + ONE_DAY, due, self.day + ONE_DAY)
            raise Wait(
                when,
                f"{step_key}: {action} waits for the notice planned {planned_on.isoformat()} to go "
                "out and its deadline to pass",
            )
        if self.deadline is None or self.deadline[0] < due:
            return due, None
        last_day, sent = self.deadline
        why = (
            f"deadline: not before the debtor's deadline of {last_day.isoformat()} (notice sent "
            f"{sent.isoformat()}) has passed"
        )
        return last_day + ONE_DAY, why
