"""What a plan bot message says and asks for, read from its action's detail: shared by emails, SMS and letters.

The night records in each plan action's ``detail`` the instalment's number, amount, own reference and
due date, the next instalment and what is left of the plan; nothing is recomputed here, so a re-send
after a crash says the same, and a letter says what the email would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from dunning.domain.money import Money
from dunning.domain.references import InvalidReference, parse_reference
from dunning.usecases.outgoing.due import DueAction

__all__ = ["PlanAsk", "plan_ask", "plan_asked", "plan_figures"]


def _printed(reference: str | None) -> str | None:
    if not reference:
        return None
    try:
        return parse_reference(reference).printed
    except InvalidReference:
        return reference


def plan_figures(due: DueAction) -> dict[str, Any]:
    """The message's figures from the action's detail, as the templates use them."""
    detail = due.detail
    currency = str(detail.get("currency") or due.currency)

    def money(name: str) -> Money | None:
        value = detail.get(name)
        return None if value is None else Money.of(Decimal(str(value)), currency)

    def day(name: str) -> date | None:
        value = detail.get(name)
        return None if value is None else date.fromisoformat(str(value))

    return {
        "plan_kind": str(detail.get("kind") or due.action),
        "number": detail.get("number"),
        "amount": money("amount"),
        "reference": _printed(detail.get("reference")),
        "due_date": day("due_date"),
        "open_total": money("open_total"),
        "paid_total": money("paid_total"),
        "next_number": detail.get("next_number"),
        "next_amount": money("next_amount"),
        "next_reference": _printed(detail.get("next_reference")),
        "next_due": day("next_due"),
        "arrears": money("arrears"),
        "pay_arrears_by": day("pay_arrears_by"),
    }


#: messages about one open instalment: they ask for that instalment; the others ask for the next one
_OWN = ("plan_reminder", "plan_grace_reminder", "plan_missed")


def plan_asked(figures: dict[str, Any]) -> tuple[Money | None, str | None, date | None]:
    """What the message asks to pay: its own instalment, or the next one (after a deferral, a thank-you...)."""
    if figures["plan_kind"] in _OWN:
        return figures["amount"], figures["reference"], figures["due_date"]
    if figures["plan_kind"] == "plan_breach_notice":
        return figures["arrears"], figures["next_reference"], figures["pay_arrears_by"]
    return figures["next_amount"], figures["next_reference"], figures["next_due"]


@dataclass(frozen=True, slots=True)
class PlanAsk:
    """What a plan message asks the debtor to pay: which instalment, how much, with which reference, by when."""

    number: int | None
    amount: Money | None
    reference: str | None  # printed
    pay_by: date | None
    figures: dict[str, Any]


def plan_ask(due: DueAction) -> PlanAsk:
    """What the plan action ``due`` asks for (the letters print the same as the emails and SMS)."""
    figures = plan_figures(due)
    amount, reference, pay_by = plan_asked(figures)
    number = figures["next_number"] if reference == figures["next_reference"] else figures["number"]
    return PlanAsk(number, amount, reference, pay_by, figures)


