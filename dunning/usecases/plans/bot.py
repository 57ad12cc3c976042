"""The plan bot's night: credit what the bank paid, review each active plan, tell the debtor, end plans.

:func:`run_plan_bot` runs inside the nightly run's transaction (``dunning run`` and the Prefect
flow call :func:`~dunning.usecases.planning.night.run_night`, which calls it first), so a plan that
breaks tonight lifts its hold before the flow is planned and the flow resumes the same night.

For each plan, in this order:

1. **Credits.** Every payment reconciliation applied to the plan's case since the plan was agreed
   and not yet credited is credited to the instalments
   (:func:`dunning.domain.plans.bot.credit`: the instalment its reference names, then the oldest
   open ones); what it paid of each instalment is kept in ``plan_credits``. A payment returned or
   reversed since takes exactly those credits back (:func:`~dunning.domain.plans.bot.uncredit`).
   Each credit and each reversal is a ``plan_credited`` / ``plan_credit_reversed`` event on the case.
2. **Review** (:func:`~dunning.domain.plans.review.review_plan`) with the policy bounded by the
   debtor's rule pack: reminders before due dates (a letter is posted earlier by the days the pack
   gives the post: :func:`~dunning.domain.plans.policy.letter_lead_days`), grace reminders, misses
   and the policy's answer (deferral, re-spread), the notice before a breach and the breach,
   completion. Under a dispute or a payment in review no miss and no breach is decided
   (:func:`dunning.domain.plans.holds.judges_misses`); an instalment that fell due meanwhile gets its
   grace days again from the day the hold ended.
3. **Actions.** Each finding, and a thank-you per instalment paid, is recorded as an action
   ``plan_*`` under a key that is the same every night it is due (a re-run adds nothing). Those that
   tell the debtor go out by email when the debtor has a usable address, else by SMS, else those
   that ask for an instalment by letter (:mod:`dunning.usecases.letters.plan_letters`: rendered
   and batched for the print house like every letter), else they are recorded as not sent (the
   timeline says why). Dispatch and the letters send them exactly once
   (:mod:`dunning.usecases.messaging.dispatch`), even while the case's flow is paused by the plan.
4. **Effects.** A breached plan lifts its ``plan_active`` hold (the flow resumes where it paused
   with what is still owed; fees it charged before are in its history and never charged again); a
   completed plan lifts its hold and closes the case if reconciliation has not already.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from dunning.domain.legal import select_pack
from dunning.domain.legal.base import DebtorType
from dunning.domain.plans.allocation import Payment, owed_components
from dunning.domain.plans.bot import LETTER_ACTIONS, BotAction, bot_actions, credit, uncredit
from dunning.domain.plans.holds import SUSPENDS_JUDGEMENT, judges_misses
from dunning.domain.plans.model import Arrangement, ArrangementStatus, Instalment, InstalmentStatus, PlanError
from dunning.domain.plans.policy import PlanPolicy, bounded_policy, letter_lead_days
from dunning.domain.plans.review import review_plan
from dunning.store import Store
from dunning.store.actions import NewActionRecord, insert_actions
from dunning.store.cases import NewCaseEvent, insert_case_events
from dunning.store.hold_kinds import active_hold_kinds, last_hold_end
from dunning.store.plan_credits import (
    PlanContact,
    close_case_for_plan,
    insert_credits,
    load_credits,
    load_last_plan_actions,
    load_plan_contact,
    load_plan_payments,
    mark_credits_reversed,
    plan_row_id,
    release_plan_hold,
    restore_plan_hold,
)
from dunning.store.plans import StoredPlan, load_plans, save_plan
from dunning.store.schema import actions
from dunning.usecases.plans.create import plan_rows

__all__ = ["PLAN_ACTIONS", "BotResult", "plan_listing", "run_plan_bot"]

#: the bot's message actions: dispatch sends them while the flow is paused, and after a plan closed its case
PLAN_ACTIONS = frozenset(
    {
        "plan_reminder",
        "plan_grace_reminder",
        "plan_missed",
        "plan_deferred",
        "plan_spread",
        "plan_breach_notice",
        "plan_ended",
        "plan_completed",
        "plan_thanks",
    }
)
#: plan actions that may still go out once the case is closed (they thank or close)
AFTER_CLOSE = frozenset({"plan_completed", "plan_thanks"})
#: bot actions are outside the flow's cycles (the planner never counts them as flow steps)
BOT_CYCLE = 0
#: the cycle of a case's flow (the night reads every case in its first): the completion stands for its on_paid
FLOW_CYCLE = 1


@dataclass
class BotResult:
    """What the bot did tonight (counts only, no personal data)."""

    plans: int = 0
    credited: int = 0
    reversed: int = 0
    actions: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"plans": self.plans, "payments_credited": self.credited, "payments_reversed": self.reversed,
                "actions": dict(sorted(self.actions.items()))}


def _named(reference: str | None, plan: Arrangement) -> int | None:
    """The instalment whose own reference the payment carried, if any."""
    wanted = "".join(ch for ch in (reference or "") if ch.isalnum()).upper()
    return next((i.number for i in plan.instalments if wanted and i.reference.upper() == wanted), None)


def _channel(contact: PlanContact, action: str) -> str | None:
    """Email when the address is usable, else SMS, else a letter for a message that asks for an instalment."""
    if contact.email:
        return "email"
    if contact.phone:
        return "sms"
    if contact.postal and action in LETTER_ACTIONS:
        return "letter"
    return None


def _sync_credits(conn: Connection, stored: StoredPlan, run_date: date, recorded_at: datetime,
                  result: BotResult) -> tuple[Arrangement, list[NewCaseEvent]]:
    plan = stored.plan
    row_id = plan_row_id(conn, plan.plan_id)
    credits = load_credits(conn, row_id)
    credited = {c.transaction_id for c in credits}
    live = {c.transaction_id for c in credits if c.reversed_on is None}
    events: list[NewCaseEvent] = []
    source = f"plan:{plan.plan_id}"
    for payment in load_plan_payments(conn, stored.case_id, plan.plan_id):
        if payment.reversed and payment.transaction_id in live:
            parts = {c.number: c.amount for c in credits if c.transaction_id == payment.transaction_id
                     and c.reversed_on is None}
            plan = uncredit(plan, payment.key, parts)
            mark_credits_reversed(conn, row_id, payment.transaction_id, run_date)
            result.reversed += 1
            events.append(NewCaseEvent(stored.case_id, run_date, "plan_credit_reversed", {
                "plan": plan.plan_id, "transaction": payment.key,
                "reason": "payment returned or reversed: credits taken back from instalment(s) "
                          + ", ".join(f"{n} ({a})" for n, a in sorted(parts.items())),
            }, source, recorded_at, amount=sum(parts.values(), Decimal(0))))
            continue
        if payment.reversed or payment.transaction_id in credited or plan.status != ArrangementStatus.ACTIVE:
            continue
        reference = "".join(ch for ch in (payment.reference or "") if ch.isalnum()) or None
        plan, parts_made = credit(plan, Payment(payment.key, payment.amount, reference))
        if not parts_made:
            continue
        insert_credits(conn, row_id, payment.transaction_id, [(p.number, p.amount) for p in parts_made], run_date)
        result.credited += 1
        named = _named(payment.reference, plan)
        events.append(NewCaseEvent(stored.case_id, run_date, "plan_credited", {
            "plan": plan.plan_id, "transaction": payment.key,
            "reason": (f"paid with the reference of instalment {named}: " if named
                       else "paid to the oldest open instalment(s): ") + ", ".join(
                f"instalment {p.number} {p.amount} ({plan.instalment(p.number).status.value})" for p in parts_made),
        }, source, recorded_at, amount=sum((p.amount for p in parts_made), Decimal(0))))
    return plan, events


def _detail(plan: Arrangement, action: BotAction, notice_days: int) -> dict[str, Any]:
    """What the message of ``action`` says: the instalment's own amount, reference and dates, what is left.

    ``next_*``: the instalment the debtor pays next (the one that took over a deferred instalment,
    else the oldest open one); ``arrears``: what the missed instalments leave open.
    """
    detail: dict[str, Any] = {"plan": plan.plan_id, "kind": action.action, "open_total": str(plan.open),
                              "paid_total": str(plan.paid), "currency": plan.currency,
                              "arrears": str(sum((i.open for i in plan.instalments
                                                  if i.status == InstalmentStatus.MISSED), Decimal("0.00")))}
    after: Instalment | None = None
    if action.number is not None:
        item = plan.instalment(action.number)
        amount = item.paid if action.action == "plan_thanks" else item.open
        detail.update({"number": item.number, "amount": str(amount), "reference": item.reference,
                       "due_date": item.due_date.isoformat()})
        if item.deferred_to is not None:
            after = plan.instalment(item.deferred_to)
    if after is None:
        waiting = plan.open_instalments()
        after = waiting[0] if waiting else None
    if after is not None:
        detail.update({"next_number": after.number, "next_amount": str(after.open),
                       "next_reference": after.reference, "next_due": after.due_date.isoformat()})
    if action.action == "plan_breach_notice" and plan.breach_notice_on is not None:
        detail["pay_arrears_by"] = (plan.breach_notice_on + timedelta(days=notice_days)).isoformat()
    return detail


def _record(conn: Connection, stored: StoredPlan, plan: Arrangement, found: tuple[BotAction, ...],
            contact: PlanContact, notice_days: int, run_date: date, recorded_at: datetime,
            result: BotResult) -> list[NewCaseEvent]:
    keys = [a.key for a in found]
    known = set(conn.execute(select(actions.c.idempotency_key).where(actions.c.idempotency_key.in_(keys))).scalars()) \
        if keys else set()
    new: list[NewActionRecord] = []
    events: list[NewCaseEvent] = []
    for action in found:
        if action.key in known:
            continue
        reason = action.reason
        sent_by = _channel(contact, action.action) if action.message else None
        status = "planned" if sent_by else "done"
        if action.message and sent_by is None:
            reason += ("; not sent: the debtor has no email address or phone number"
                       + (" (a thank-you or the end of a plan is not posted)" if contact.postal
                          else " and no postal address"))
        detail = _detail(plan, action, notice_days)
        step, flow, version, cycle = "", "", 0, BOT_CYCLE
        if action.action == "plan_completed" and contact.flow:
            # The completion thanks the debtor in place of the flow's own thank-you (``on_paid``): recorded
            # as that step of the case's flow, so the planner does not thank a second time.
            step, flow, version, cycle = "on_paid", contact.flow, contact.flow_version or 0, FLOW_CYCLE
        new.append(NewActionRecord(
            idempotency_key=action.key, case_id=stored.case_id, run_date=run_date, due_on=run_date,
            action=action.action, channel=sent_by, step=step, status=status, amount=None, settings={},
            reason=f"payment plan {plan.plan_id}: {reason}", recorded_at=recorded_at, flow=flow,
            flow_version=version, cycle=cycle, fallback_depth=0, contact=bool(sent_by), replaces=None, detail=detail,
        ))
        result.actions[action.action] = result.actions.get(action.action, 0) + 1
    insert_actions(conn, new)
    return events


def _effects(conn: Connection, stored: StoredPlan, before: Arrangement, plan: Arrangement, order: tuple[str, ...],
             run_date: date, recorded_at: datetime) -> list[NewCaseEvent]:
    events: list[NewCaseEvent] = []
    source = f"plan:{plan.plan_id}"
    if before.status == ArrangementStatus.COMPLETED and plan.status == ArrangementStatus.ACTIVE:
        restore_plan_hold(conn, stored.case_id, plan.plan_id)  # a payment of it was undone: the plan runs again
        events.append(NewCaseEvent(stored.case_id, run_date, "plan_reopened", {
            "plan": plan.plan_id,
            "reason": f"a payment was returned or reversed: {plan.open} open again; the flow stays paused",
        }, source, recorded_at, amount=plan.open))
        return events
    if before.status == plan.status or plan.status not in (ArrangementStatus.BREACHED, ArrangementStatus.COMPLETED):
        return events
    release_plan_hold(conn, stored.case_id, plan.plan_id, run_date)
    if plan.status == ArrangementStatus.BREACHED:
        # what the plan's payments paid of each part, in the order of the pack's plan law (§ 497(3) BGB: costs,
        # principal, interest for German consumers), and so what of each part the plan leaves owed
        left = owed_components(plan, order)
        events.append(NewCaseEvent(stored.case_id, run_date, "plan_breached", {
            "plan": plan.plan_id,
            "owed": {"costs": str(left.costs), "principal": str(left.principal), "interest": str(left.interest)},
            "reason": f"plan ended for breach with {plan.open} unpaid (by the order {', '.join(order)}: costs "
                      f"{left.costs}, principal {left.principal}, interest {left.interest}); the hold is lifted and "
                      "the flow resumes where it paused with what the case still owes",
        }, source, recorded_at, amount=plan.open))
    else:
        closed = close_case_for_plan(conn, stored.case_id, run_date, recorded_at)
        events.append(NewCaseEvent(stored.case_id, run_date, "plan_completed", {
            "plan": plan.plan_id,
            "reason": f"all instalments paid ({plan.paid})" + ("; case closed" if closed else ""),
        }, source, recorded_at, amount=plan.paid))
    return events


def run_plan_bot(conn: Connection, run_date: date, policy: PlanPolicy, *, recorded_at: datetime) -> BotResult:
    """Credit, review, record and apply every active plan's night (see the module docstring)."""
    result = BotResult()
    events: list[NewCaseEvent] = []
    for stored in load_plans(conn):
        if stored.plan.status not in (ArrangementStatus.ACTIVE, ArrangementStatus.COMPLETED):
            continue
        result.plans += 1
        before = stored.plan
        plan, credit_events = _sync_credits(conn, stored, run_date, recorded_at, result)
        events.extend(credit_events)
        contact = load_plan_contact(conn, stored.case_id)
        pack = select_pack(contact.country or plan.pack.split("-")[0],
                           DebtorType.BUSINESS if contact.debtor_type == "company" else DebtorType.CONSUMER)
        bounded = bounded_policy(policy, pack, term=max(len(plan.instalments) - 1, 1))
        if _channel(contact, "plan_reminder") == "letter":  # posted earlier, so it is in hand as an email would be
            bounded = replace(bounded, policy=replace(
                bounded.policy, reminder_days_before=bounded.policy.reminder_days_before + letter_lead_days(pack)))
        holds = active_hold_kinds(conn, [stored.case_id], run_date).get(stored.case_id, frozenset())
        review = review_plan(plan, bounded, run_date, judge_misses=judges_misses(holds),
                             resumed_on=last_hold_end(conn, stored.case_id, SUSPENDS_JUDGEMENT, run_date))
        found = bot_actions(plan, review.plan, review.actions)
        after = review.plan
        if after != before:
            save_plan(conn, after)
        events.extend(_record(conn, stored, after, found, contact, bounded.breach.notice_days, run_date,
                              recorded_at, result))
        events.extend(_effects(conn, stored, before, after, bounded.allocation, run_date, recorded_at))
    insert_case_events(conn, events)
    return result


def plan_listing(store: Store, *, status: str | None = None) -> list[dict[str, Any]]:
    """``dunning plans``: one row per plan (:func:`~dunning.usecases.plans.create.plan_rows`) with the bot's
    latest action on it (what it did last, the day, and whether it went out)."""
    if status is not None and status not in {s.value for s in ArrangementStatus}:
        raise PlanError(f"status {status!r} is not one of {', '.join(s.value for s in ArrangementStatus)}")
    with store.begin() as conn:
        stored = load_plans(conn, status=status)
        last = load_last_plan_actions(conn, PLAN_ACTIONS | {"plan_missed"})
    rows = plan_rows(stored)
    for row in rows:
        action = last.get(row["plan"])
        row["last_action"] = None if action is None else f"{action[0]} {action[1].isoformat()} ({action[2]})"
    return rows
