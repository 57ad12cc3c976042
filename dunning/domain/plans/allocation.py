"""Where a payment goes inside a plan, and which part of the debt it pays.

:func:`allocate_payment`: a payment carrying an instalment's own reference pays that instalment first;
a payment with the case's reference, with no reference, or larger than its instalment pays the oldest
open instalments in due-date order; what no instalment can take is the surplus (back to the case: an
overpayment). Money is conserved: the parts and the surplus add up to the payment. A payment already
matched (same id) changes nothing, so a re-run of the night is harmless::

    >>> from datetime import date
    >>> from dunning.domain.plans.model import Instalment
    >>> from dunning.domain.plans.schedule import split_amount
    >>> items = tuple(Instalment(n, date(2027, n, 1), a, f"R{n}") for n, a in
    ...               enumerate(split_amount(Decimal("90.00"), 3), start=1))
    >>> result = allocate_instalments(items, Payment("tx1", Decimal("40.00"), "R2"))
    >>> [(p.number, str(p.amount)) for p in result.parts], str(result.surplus)
    ([(2, '30.00'), (1, '10.00')], '0.00')

:func:`paid_components`: which part of the debt (costs, principal, interest) the money paid so far
has paid, in the order of the pack's plan law (German consumers: costs, then principal, then
interest, § 497(3) BGB)::

    >>> owed = Components(Decimal("10.00"), Decimal("100.00"), Decimal("5.00"))
    >>> paid_components(Decimal("50.00"), owed, ("costs", "principal", "interest"))
    Components(costs=Decimal('10.00'), principal=Decimal('40.00'), interest=Decimal('0.00'))
    >>> paid_components(Decimal("50.00"), owed, ("costs", "interest", "principal"))
    Components(costs=Decimal('10.00'), principal=Decimal('35.00'), interest=Decimal('5.00'))
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from dunning.domain.plans.model import Arrangement, ArrangementStatus, Instalment, PlanError, cents

__all__ = [
    "Allocation",
    "AllocationPart",
    "Components",
    "Payment",
    "allocate_instalments",
    "allocate_payment",
    "owed_components",
    "paid_components",
]

_ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Payment:
    """A bank transaction credited to the plan's case: its id, amount and the reference it carried."""

    id: str
    amount: Decimal
    reference: str | None = None

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise PlanError(f"payment {self.id}: amount {self.amount} is not positive")
        cents(self.amount)


@dataclass(frozen=True, slots=True)
class AllocationPart:
    number: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Allocation:
    """What a payment paid: instalment by instalment, and the surplus no instalment took."""

    payment: Payment
    parts: tuple[AllocationPart, ...]
    surplus: Decimal
    note: str = ""

    @property
    def allocated(self) -> Decimal:
        return sum((p.amount for p in self.parts), _ZERO)


@dataclass(frozen=True, slots=True)
class AllocatedInstalments:
    instalments: tuple[Instalment, ...]
    parts: tuple[AllocationPart, ...]
    surplus: Decimal


def _target(instalments: tuple[Instalment, ...], reference: str | None) -> Instalment | None:
    """The instalment a reference names, following deferrals to the instalment that took over."""
    if reference is None:
        return None
    wanted = reference.replace(" ", "").upper()
    by_number = {i.number: i for i in instalments}
    found = next((i for i in instalments if i.reference.upper() == wanted), None)
    seen: set[int] = set()
    while found is not None and found.deferred_to is not None and found.number not in seen:
        seen.add(found.number)
        found = by_number.get(found.deferred_to)
    return found


def allocate_instalments(instalments: tuple[Instalment, ...], payment: Payment) -> AllocatedInstalments:
    """Pay ``instalments`` with ``payment`` (see the module docstring); returns the new instalments."""
    if any(payment.id in i.payments for i in instalments):
        return AllocatedInstalments(instalments, (), _ZERO)  # matched before: a re-run changes nothing
    current = {i.number: i for i in instalments}
    order = [i.number for i in sorted((i for i in instalments if i.is_open), key=lambda i: (i.due_date, i.number))]
    target = _target(instalments, payment.reference)
    if target is not None and target.is_open:
        order.remove(target.number)
        order.insert(0, target.number)
    left = payment.amount
    parts: list[AllocationPart] = []
    for number in order:
        if left <= 0:
            break
        item = current[number]
        take = min(left, item.open)
        current[number] = item.receive(payment.id, take)
        parts.append(AllocationPart(number, take))
        left -= take
    return AllocatedInstalments(tuple(current[i.number] for i in instalments), tuple(parts), left)


def allocate_payment(plan: Arrangement, payment: Payment) -> tuple[Arrangement, Allocation]:
    """``plan`` after ``payment``, and where the payment went.

    Only an active plan takes payments; for any other the whole payment is surplus (the case's
    own matching books it), with the reason in ``note``.
    """
    if plan.status != ArrangementStatus.ACTIVE:
        return plan, Allocation(payment, (), payment.amount, f"plan {plan.plan_id} is {plan.status.value}")
    result = allocate_instalments(plan.instalments, payment)
    if not result.parts:
        return plan, Allocation(payment, (), result.surplus, "already matched" if not result.surplus else "")
    return plan.with_instalments(result.instalments), Allocation(payment, result.parts, result.surplus)


@dataclass(frozen=True, slots=True)
class Components:
    """An amount split into the parts of a debt."""

    costs: Decimal
    principal: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.costs + self.principal + self.interest

    def minus(self, other: Components) -> Components:
        return Components(self.costs - other.costs, self.principal - other.principal, self.interest - other.interest)


def paid_components(paid: Decimal, owed: Components, order: tuple[str, ...]) -> Components:
    """Which parts of ``owed`` a total of ``paid`` has paid, filling them in ``order``."""
    if sorted(order) != ["costs", "interest", "principal"]:
        raise PlanError(f"allocation order {order!r} must name costs, principal and interest once each")
    if paid < 0 or paid > owed.total:
        raise PlanError(f"{paid} paid is not between 0 and the {owed.total} owed")
    left = paid
    parts = {"costs": _ZERO, "principal": _ZERO, "interest": _ZERO}
    for name in order:
        take = min(left, getattr(owed, name))
        parts[name] = take
        left -= take
    return Components(**parts)


def owed_components(plan: Arrangement, order: tuple[str, ...]) -> Components:
    """What the plan's payments left of each part: what the flow resumes with after a breach.

    Waived interest (a kept plan's reward) is owed again when the plan breaks: the interest
    policy ``waived`` drops interest only for a plan that is kept.
    """
    owed = Components(plan.costs, plan.principal, plan.interest)
    collected = Components(plan.costs, plan.principal, plan.total - plan.costs - plan.principal)
    paid = paid_components(plan.paid, collected, order)
    return owed.minus(paid)
