"""The plan bot's judgement for one night: reminders, misses, the policy's answer, breach, completion.

:func:`review_plan` looks at an active plan on ``today`` and returns the plan as it now stands and
the actions to take, each with an idempotency key (the same key on every night it is due, so a
re-run or a missed night never sends twice):

* ``instalment_reminder`` — ``reminder_days_before`` days before a due date (status ``reminded``);
* ``grace_reminder`` — after the due date, within the grace days, while money is open;
* ``missed`` — past the grace days with money open; then the policy's answer: ``deferred`` (its open
  rest becomes a new instalment after the last, while deferrals are left) or ``spread`` (what is left
  goes over more, smaller instalments, within the policy's term); ``remind``: nothing more;
* ``breach_notice`` / ``breached`` — when the breach rule (bounded by the law) holds: with a notice
  period, the notice first and the breach once it has passed unpaid; the plan ends, the flow resumes;
* ``completed`` — everything paid (or waived).

Money never moves in or out here: the instalments sum to the plan's total before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from dunning.domain.plans.model import Arrangement, ArrangementStatus, Instalment, InstalmentStatus
from dunning.domain.plans.policy import BoundedPolicy, OnMissed
from dunning.domain.plans.references import MAX_INSTALMENTS, instalment_reference
from dunning.domain.plans.schedule import add_months, split_amount

__all__ = ["BreachState", "PlanAction", "PlanReview", "assess_breach", "defer", "review_plan", "spread"]


@dataclass(frozen=True, slots=True)
class PlanAction:
    kind: str
    key: str  # plan id + kind + instalment: the same on every night it is due
    number: int | None
    explanation: str


@dataclass(frozen=True, slots=True)
class PlanReview:
    plan: Arrangement
    actions: tuple[PlanAction, ...]


@dataclass(frozen=True, slots=True)
class BreachState:
    """Whether the breach rule holds, and the figures it looked at."""

    holds: bool
    missed_in_a_row: int
    arrears: Decimal
    threshold: Decimal  # the arrears that allow a breach
    explanation: str


def _action(plan: Arrangement, kind: str, number: int | None, why: str) -> PlanAction:
    suffix = f":{number}" if number is not None else ""
    return PlanAction(kind, f"plan:{plan.plan_id}:{kind}{suffix}", number, why)


def _replace_instalment(plan: Arrangement, item: Instalment, *added: Instalment, **changes: object) -> Arrangement:
    instalments = tuple(item if i.number == item.number else i for i in plan.instalments) + added
    return plan.with_instalments(instalments, **changes)


def defer(plan: Arrangement, number: int) -> Arrangement:
    """Move the open rest of instalment ``number`` to a new instalment a month after the last."""
    item = plan.instalment(number)
    new_number = len(plan.instalments) + 1
    added = Instalment(
        new_number,
        add_months(plan.last_due, 1, plan.day_of_month),
        item.open,
        instalment_reference(plan.case_reference, new_number, plan.ogm_prefix),
    )
    moved = replace(item, amount=item.paid + item.waived, status=InstalmentStatus.DEFERRED, deferred_to=new_number)
    return _replace_instalment(plan, moved, added, deferrals_used=plan.deferrals_used + 1)


def spread(plan: Arrangement, number: int, bounded: BoundedPolicy) -> Arrangement | None:
    """Spread the open rest of ``number`` and the later untouched instalments over more, smaller ones.

    The later instalments keep their numbers and references with smaller amounts; new ones follow
    monthly, as many as the policy's term, its least instalment and the two-digit numbering allow.
    None when not even one more instalment fits (the miss then stands).
    """
    policy = bounded.policy
    item = plan.instalment(number)
    later = [
        i
        for i in plan.instalments
        if i.due_date > item.due_date
        and i.paid == 0
        and i.waived == 0
        and i.status in (InstalmentStatus.SCHEDULED, InstalmentStatus.REMINDED)
    ]
    rest = item.open + sum((i.amount for i in later), Decimal(0))
    latest = add_months(plan.first_due, policy.max_term_months, plan.day_of_month)
    best: int | None = None
    for extra in range(1, MAX_INSTALMENTS - len(plan.instalments) + 1):
        if add_months(plan.last_due, extra, plan.day_of_month) > latest:
            break
        amounts = split_amount(rest, len(later) + extra)
        if min(amounts) < policy.min_instalment:
            break
        best = extra
    if best is None:
        return None
    amounts = split_amount(rest, len(later) + best)
    changed = {i.number: replace(i, amount=a) for i, a in zip(later, amounts, strict=False)}
    changed[number] = replace(item, amount=item.paid + item.waived, status=InstalmentStatus.DEFERRED)
    base = len(plan.instalments)
    added = tuple(
        Instalment(
            base + k,
            add_months(plan.last_due, k, plan.day_of_month),
            amounts[len(later) + k - 1],
            instalment_reference(plan.case_reference, base + k, plan.ogm_prefix),
        )
        for k in range(1, best + 1)
    )
    return plan.with_instalments(tuple(changed.get(i.number, i) for i in plan.instalments) + added)


def assess_breach(plan: Arrangement, bounded: BoundedPolicy) -> BreachState:
    """Does the breach rule hold: enough consecutive missed instalments and enough arrears?"""
    rule = bounded.breach
    run = longest = 0
    for item in sorted(plan.instalments, key=lambda i: (i.due_date, i.number)):
        if item.status == InstalmentStatus.MISSED and item.open > 0:
            run += 1
            longest = max(longest, run)
        elif item.status in (InstalmentStatus.PAID, InstalmentStatus.WAIVED, InstalmentStatus.MISSED):
            run = 0  # a paid instalment breaks the run; deferred ones and those not yet due do not count
    arrears = sum((i.open for i in plan.instalments if i.status == InstalmentStatus.MISSED), Decimal("0.00"))
    threshold = (plan.total * rule.arrears_percent / 100).quantize(Decimal("0.01"))
    holds = longest >= rule.missed_in_a_row and arrears >= threshold and arrears > 0
    why = (
        f"{longest} instalment(s) missed in a row (rule: {rule.missed_in_a_row}), arrears {arrears} "
        f"(rule: {rule.arrears_percent} % of {plan.total} = {threshold})"
    )
    return BreachState(holds, longest, arrears, threshold, why)


def review_plan(plan: Arrangement, bounded: BoundedPolicy, today: date, *, judge_misses: bool = True,
                resumed_on: date | None = None) -> PlanReview:
    """The plan on ``today`` and what to do (see the module docstring). Only active plans change.

    ``judge_misses=False`` (the case is on a hold that suspends the judgement: a dispute, a payment
    waiting for a person's review; :func:`dunning.domain.plans.holds.judges_misses`): no instalment is
    declared missed, none deferred or re-spread, no breach notice and no breach; reminders, credits and
    completion go on. ``resumed_on``: the day such a hold ended; an instalment that fell due before it
    gets its grace days again from that day (the debtor could not be in default while it stood).
    """
    if plan.status != ArrangementStatus.ACTIVE:
        return PlanReview(plan, ())
    policy = bounded.policy
    actions: list[PlanAction] = []
    if plan.open == 0:
        done = replace(plan, status=ArrangementStatus.COMPLETED, ended_on=today)
        return PlanReview(done, (_action(plan, "completed", None, f"all {len(plan.instalments)} instalments paid"),))
    handled: set[int] = set()
    while True:
        pending = [i for i in plan.open_instalments() if i.number not in handled]
        if not pending:
            break
        item = pending[0]
        handled.add(item.number)
        counted_from = max(item.due_date, resumed_on) if resumed_on is not None else item.due_date
        grace_end = counted_from + timedelta(days=policy.grace_days)
        if today < item.due_date:
            remind_from = item.due_date - timedelta(days=policy.reminder_days_before)
            if item.status == InstalmentStatus.SCHEDULED and today >= remind_from:
                plan = _replace_instalment(plan, replace(item, status=InstalmentStatus.REMINDED))
                actions.append(
                    _action(plan, "instalment_reminder", item.number, f"{item.open} due on {item.due_date.isoformat()}")
                )
            continue
        if today <= grace_end:
            actions.append(
                _action(
                    plan,
                    "grace_reminder",
                    item.number,
                    f"{item.open} was due on {item.due_date.isoformat()}; grace until {grace_end.isoformat()}",
                )
            )
            continue
        if not judge_misses:
            continue
        if item.status != InstalmentStatus.MISSED:
            item = replace(item, status=InstalmentStatus.MISSED)
            plan = _replace_instalment(plan, item)
            actions.append(
                _action(plan, "missed", item.number, f"{item.open} open after the grace days ({grace_end.isoformat()})")
            )
        plan, answer = _answer(plan, item, bounded)
        if answer is not None:
            actions.append(answer)
    if not judge_misses:
        return PlanReview(plan, tuple(actions))
    return _judge_breach(plan, bounded, today, actions)


def _answer(plan: Arrangement, item: Instalment, bounded: BoundedPolicy) -> tuple[Arrangement, PlanAction | None]:
    policy = bounded.policy
    if policy.on_missed == OnMissed.DEFER and plan.deferrals_used < policy.deferrals:
        moved = defer(plan, item.number)
        new = moved.instalments[-1]
        why = f"{item.open} moved to instalment {new.number}, due {new.due_date.isoformat()}"
        return moved, _action(plan, "deferred", item.number, why)
    if policy.on_missed == OnMissed.SPREAD:
        spread_plan = spread(plan, item.number, bounded)
        if spread_plan is not None:
            left = spread_plan.open_instalments()
            why = f"{spread_plan.open} left spread over {len(left)} instalments of at most {max(i.open for i in left)}"
            return spread_plan, _action(plan, "spread", item.number, why)
    return plan, None


def _judge_breach(plan: Arrangement, bounded: BoundedPolicy, today: date, actions: list[PlanAction]) -> PlanReview:
    state = assess_breach(plan, bounded)
    notice_days = bounded.breach.notice_days
    if not state.holds:
        if plan.breach_notice_on is not None:
            plan = replace(plan, breach_notice_on=None)  # the debtor caught up after the notice
        return PlanReview(plan, tuple(actions))
    if notice_days and plan.breach_notice_on is None:
        plan = replace(plan, breach_notice_on=today)
        ends = today + timedelta(days=notice_days)
        actions.append(
            _action(
                plan,
                "breach_notice",
                None,
                f"{state.explanation}; the plan ends unless {state.arrears} is paid by {ends.isoformat()}",
            )
        )
        return PlanReview(plan, tuple(actions))
    if (
        notice_days
        and plan.breach_notice_on is not None
        and today < plan.breach_notice_on + timedelta(days=notice_days)
    ):
        return PlanReview(plan, tuple(actions))
    plan = replace(plan, status=ArrangementStatus.BREACHED, ended_on=today)
    actions.append(_action(plan, "breached", None, f"{state.explanation}; {plan.open} still owed"))
    return PlanReview(plan, tuple(actions))
