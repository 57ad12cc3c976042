"""The plan bot's pure decisions: crediting and un-crediting payments, and which messages a night sends.

The night (:mod:`dunning.usecases.plans.bot`) feeds this module what the bank brought since the plan
was agreed and what the review of the plan (:func:`~dunning.domain.plans.review.review_plan`) found;
it returns the plan as it now stands and the bot's actions, each under a key that is the same on
every night it is due, so a re-run or a caught-up night never does anything twice.

* :func:`credit` — a payment pays the instalment its reference names, then the oldest open ones
  (:func:`~dunning.domain.plans.allocation.allocate_payment`); the parts are returned so the store
  keeps what the payment paid of each instalment.
* :func:`uncredit` — a returned or reversed payment takes exactly its parts back; an instalment it
  had paid is open again (partial or scheduled), a completed plan is active again. Money is
  conserved: the instalments still sum to the plan's total.
* :func:`bot_actions` — one action per review finding plus a thank-you per instalment paid; each
  says whether the debtor is told (a message) and what about.

    >>> from datetime import date
    >>> from decimal import Decimal as D
    >>> from dunning.domain.plans.model import Instalment, CreatedVia, ArrangementStatus
    >>> items = (Instalment(1, date(2027, 1, 1), D("50.00"), "R1"), Instalment(2, date(2027, 2, 1), D("50.00"), "R2"))
    >>> plan = Arrangement("7-1", ("7",), "C", "EUR", D("100.00"), D(0), D(0), items, date(2026, 12, 1), "clerk",
    ...                    CreatedVia.CLI, "1", "BE-consumer", status=ArrangementStatus.ACTIVE)
    >>> paid, parts = credit(plan, Payment("tx1", D("60.00"), "R2"))
    >>> [(p.number, str(p.amount)) for p in parts], str(paid.open)
    ([(2, '50.00'), (1, '10.00')], '40.00')
    >>> str(uncredit(paid, "tx1", {2: D("50.00"), 1: D("10.00")}).open)
    '100.00'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from dunning.domain.plans.allocation import AllocationPart, Payment, allocate_payment
from dunning.domain.plans.model import Arrangement, ArrangementStatus, Instalment, InstalmentStatus, PlanError
from dunning.domain.plans.review import PlanAction

__all__ = ["LETTER_ACTIONS", "MESSAGE_KINDS", "BotAction", "bot_actions", "credit", "uncredit"]

_ZERO = Decimal("0.00")

#: the bot's action names (``actions.action``), by the review's kind; each one tells the debtor
MESSAGE_KINDS = {
    "instalment_reminder": "plan_reminder",
    "grace_reminder": "plan_grace_reminder",
    "missed": "plan_missed",
    "deferred": "plan_deferred",
    "spread": "plan_spread",
    "breach_notice": "plan_breach_notice",
    "breached": "plan_ended",
    "completed": "plan_completed",
    "thanks": "plan_thanks",
}

#: the messages that ask for an instalment: to a debtor without email or phone they go by letter, with the
#: instalment's own amount, reference and EPC QR code (thank-yous and the end of a plan ask for nothing: the
#: flow's own letters take over after a breach)
LETTER_ACTIONS = frozenset({"plan_reminder", "plan_grace_reminder", "plan_missed", "plan_deferred", "plan_spread",
                            "plan_breach_notice"})


def credit(plan: Arrangement, payment: Payment) -> tuple[Arrangement, tuple[AllocationPart, ...]]:
    """``plan`` with ``payment`` credited to its instalments, and what it paid of each."""
    after, allocation = allocate_payment(plan, payment)
    return after, allocation.parts


def _reopened(item: Instalment, amount: Decimal, payment_id: str) -> Instalment:
    paid = item.paid - amount
    if paid < 0:
        raise PlanError(f"instalment {item.number}: cannot take back {amount} of {item.paid} paid")
    payments = tuple(p for p in item.payments if p != payment_id)
    status = item.status
    if status in (InstalmentStatus.PAID, InstalmentStatus.PARTIAL):
        status = InstalmentStatus.PARTIAL if paid > 0 else InstalmentStatus.SCHEDULED
    return replace(item, paid=paid, payments=payments, status=status)


def uncredit(plan: Arrangement, payment_id: str, parts: dict[int, Decimal]) -> Arrangement:
    """``plan`` without what payment ``payment_id`` paid (``parts``: instalment number → amount).

    An instalment deferred after it was paid in part kept only what it had received as its amount:
    the amount taken back moves with its open rest to the instalment that took it over (or the last
    open one), so the instalments still sum to the plan's total.
    """
    items = {i.number: i for i in plan.instalments}
    for number, amount in sorted(parts.items()):
        item = items[number]
        if item.status == InstalmentStatus.DEFERRED:
            heir_number = item.deferred_to or max(i.number for i in items.values())
            heir = items[heir_number]
            items[number] = replace(
                item, amount=item.amount - amount, paid=item.paid - amount,
                payments=tuple(p for p in item.payments if p != payment_id),
            )
            items[heir_number] = replace(heir, amount=heir.amount + amount)
            if heir.status == InstalmentStatus.PAID:
                items[heir_number] = replace(items[heir_number], status=InstalmentStatus.PARTIAL)
            continue
        items[number] = _reopened(item, amount, payment_id)
    changes: dict[str, object] = {}
    if plan.status == ArrangementStatus.COMPLETED and any(i.open > 0 for i in items.values()):
        changes = {"status": ArrangementStatus.ACTIVE, "ended_on": None}
    return plan.with_instalments(tuple(items[i.number] for i in plan.instalments), **changes)


@dataclass(frozen=True, slots=True)
class BotAction:
    """One thing the bot did tonight: ``action`` (a ``plan_*`` name), its key, and whether it is a message.

    ``message`` is False for a miss the policy answered (the deferral or re-spread tells the debtor),
    so the debtor gets one message per event, never two.
    """

    action: str
    key: str
    number: int | None
    reason: str
    message: bool


def bot_actions(before: Arrangement, after: Arrangement, review: tuple[PlanAction, ...]) -> tuple[BotAction, ...]:
    """The night's actions: the review's findings and a thank-you for each instalment paid.

    A thank-you is keyed by its instalment (``plan:<id>:thanks:<n>``), so it goes once however often
    the night runs; none goes on the night the plan completes (the completion thanks for all).
    """
    answered = {a.number for a in review if a.kind in ("deferred", "spread")}
    found: list[BotAction] = []
    for item in review:
        message = not (item.kind == "missed" and item.number in answered)
        found.append(BotAction(MESSAGE_KINDS[item.kind], item.key, item.number, item.explanation, message))
    if after.status != ArrangementStatus.COMPLETED:
        for inst in after.instalments:
            if inst.status == InstalmentStatus.PAID and inst.paid > 0:
                left = after.open
                why = f"instalment {inst.number} paid ({inst.paid}); {left} left to pay"
                found.append(BotAction("plan_thanks", f"plan:{after.plan_id}:thanks:{inst.number}", inst.number,
                                       why, True))
    return tuple(found)
