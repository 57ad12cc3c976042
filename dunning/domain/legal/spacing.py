"""Flow check: a notice asking payment, or an escalation, never scheduled before the previous deadline can pass.

Every reminder, final or formal notice prints a deadline (:meth:`LegalPack.payment_deadline`); under
Book XIX the next step may only come once that period has run, and a letter that says "despite our
reminder asking payment by 17 October" cannot be posted on the 15th. The planner enforces it at run
time (:meth:`dunning.domain.planning.pacing.Pacing.escalation_due` postpones the step to the day after
the printed deadline); this check tells the author of a flow, by the flow's own day numbers, that a
step would be postponed, so that the days in the file are the days that happen:

* the step comes on or before the earliest day the previous notice's deadline can be (posting on
  the best weekday): a warning "comes before ...'s deadline (day N) has passed";
* it comes before the latest such day (weekends and holidays between posting and the start of the
  period): a warning that it may be postponed.

The deadline of a notice step is counted as its letter prints it: ``deadline_days`` (else 14) from
the first day of the pack's period (:meth:`LegalPack.period_offsets`), for the flow's first notice at
least the pack's legal period; over the step's fallbacks the earliest and latest such day.
"""

from __future__ import annotations

from collections.abc import Callable

from dunning.domain.legal.base import LegalPack
from dunning.domain.planning.actions import Channel, action_channel
from dunning.domain.planning.flows import Flow, Problem, Step
from dunning.domain.planning.pacing import ESCALATIONS, asks_payment, nominal_days, pay_days

__all__ = ["check_spacing", "deadline_days"]


def deadline_days(pack: LegalPack, step: Step, day: int, first: bool) -> tuple[int, int] | None:
    """(earliest, latest) flow day of the deadline a notice step on ``day`` prints (None: it asks no payment)."""
    found: list[tuple[int, int]] = []
    for call in step.call.chain():
        if not asks_payment(call.action):
            continue
        channel = action_channel(call.action, call.settings) or Channel.LETTER
        length = max(pay_days(call.settings), pack.waiting_period_days if first else 0)
        least, most = pack.period_offsets(channel)
        found.append((day + least + length - 1, day + most + length - 1))
    if not found:
        return None
    return min(e for e, _ in found), max(latest for _, latest in found)


def check_spacing(flow: Flow, pack: LegalPack, applies: Callable[[Step], bool] = lambda _: True) -> list[Problem]:
    """Warnings for each notice or escalation step of ``flow`` scheduled before the previous deadline can pass.

    ``applies``: whether a step may run for the pack's debtors (its ``when``); other steps are passed over.
    """
    src = flow.source or flow.ref
    problems: list[Problem] = []
    previous: tuple[str, int, int] | None = None  # notice step key, earliest and latest deadline day
    latest_any: tuple[str, int, int] | None = None  # the notice whose deadline may end last
    days = nominal_days(flow)
    for step in flow.steps:
        if not applies(step):
            continue
        day = days[step.index]
        action = step.call.action
        against = latest_any if action in ESCALATIONS else previous if asks_payment(action) else None
        if against is not None:
            key, earliest, latest = against
            where = f"steps[{step.index}] ({step.key})"
            what = f"{step.key} on day {day}"
            if day <= earliest:
                problems.append(
                    Problem(
                        src,
                        where,
                        (
                            f"{flow.name}: {what} comes before {key}'s deadline (day {earliest}) has passed: "
                            f"the planner postpones it to the day after the deadline printed on {key}"
                        ),
                        "warning",
                    )
                )
            elif day <= latest:
                problems.append(
                    Problem(
                        src,
                        where,
                        (
                            f"{flow.name}: {what} may come before {key}'s deadline (day {earliest} to {latest} "
                            "with weekends and holidays): the planner postpones it to the day after"
                        ),
                        "warning",
                    )
                )
        deadline = deadline_days(pack, step, day, first=previous is None)
        if deadline is not None:
            previous = (step.key, *deadline)
            if latest_any is None or deadline[1] >= latest_any[2]:
                latest_any = previous
    return problems
