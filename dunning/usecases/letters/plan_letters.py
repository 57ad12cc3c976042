"""The plan bot's letters: a debtor without email or phone gets the instalment's reminder on paper.

The night records a plan message (:data:`dunning.domain.plans.bot.LETTER_ACTIONS`) on the ``letter``
channel when the debtor has neither a usable email address nor a phone number but a postal address.
It is rendered and put in a print batch like every letter; what it prints comes from the action's
``detail`` as the night recorded it, read as the email reads it
(:func:`dunning.usecases.outgoing.plan_figures.plan_ask`): the instalment it asks for, its amount
(the letter's total and the payment part's amount), its own reference (the payment part, the info
block and the EPC QR code carry it, so a banking app pays exactly that instalment and reconciliation
credits it to it), its due date, and what is left of the plan.

The case's flow is paused by the plan (its ``plan_active`` hold), which never stops the bot's
letters; another hold does as it does for the emails (:mod:`dunning.domain.plans.holds`). No interest
is brought up to the letter's date: the plan froze what is owed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from dunning.domain.plans.bot import LETTER_ACTIONS
from dunning.letters import Debtor, LegalMentions, LetterData, LetterKind, PlanNotice
from dunning.usecases.outgoing.due import DueAction
from dunning.usecases.outgoing.paylinks import pay_link_for
from dunning.usecases.outgoing.plan_figures import plan_ask
from dunning.usecases.outgoing.secrets import Secrets
from dunning.workspace import Workspace

__all__ = ["LETTER_ACTIONS", "PlanLetterError", "is_plan_letter", "plan_letter_data"]


class PlanLetterError(ValueError):
    """The action's detail does not say which instalment the letter asks for."""


def is_plan_letter(action: str) -> bool:
    return action in LETTER_ACTIONS


def plan_letter_data(due: DueAction, *, debtor: Debtor, creditor: Any, workspace: Workspace, secrets: Secrets,
                     letter_date: date, brand: str) -> LetterData:
    """The letter of the plan action ``due`` (its detail as the night recorded it); PlanLetterError if it lacks one."""
    ask = plan_ask(due)
    if ask.amount is None or ask.reference is None or ask.pay_by is None or ask.number is None:
        raise PlanLetterError(f"plan letter {due.action}: the action does not name the instalment it asks for")
    figures = ask.figures
    open_total = figures["open_total"]
    arrears = figures["arrears"]
    notice = PlanNotice(
        notice=due.action, number=int(ask.number), due=ask.pay_by,
        open_total=open_total.amount if open_total is not None else ask.amount.amount,
        about=figures["number"] if figures["number"] != ask.number else None,
        arrears=arrears.amount if arrears is not None else Decimal("0.00"),
    )
    return LetterData(
        letter_id=str(due.action_pk), kind=LetterKind.PLAN_INSTALMENT, letter_date=letter_date, creditor=creditor,
        debtor=debtor, case_number=str(due.case_id), total=ask.amount.amount, reference=ask.reference,
        currency=ask.amount.currency, legal=LegalMentions(), pay_link=pay_link_for(due, workspace, secrets,
                                                                                    letter_date),
        brand=brand, plan_notice=notice,
    )
