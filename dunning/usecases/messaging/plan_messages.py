"""The plan bot's emails and SMS: each names its instalment's own amount and reference.

A bot action (:data:`dunning.usecases.plans.bot.PLAN_ACTIONS`) carries in its ``detail`` what its
message says (instalment number, amount, reference, due date, what is left of the plan), recorded
by the night; nothing is recomputed here, so a re-send after a crash says the same. One template per
channel and language (``email/<lang>/plan.*.j2``, ``sms/<lang>/plan.txt.j2``) words each kind.

The email carries the instalment's own EPC QR code (EPC069-12, made with segno: error correction
M, no boost) as a PNG attachment, with the instalment's amount and reference, so a banking app pays
exactly that instalment and reconciliation credits it to it. The pay link is the case's.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import segno

from dunning.channels.email import Attachment, EmailData
from dunning.channels.sms import SmsData
from dunning.domain.epc import EpcError, EpcPayment, epc_payload
from dunning.domain.money import Money
from dunning.domain.references import InvalidReference, parse_reference
from dunning.usecases.outgoing.due import DueAction
from dunning.usecases.outgoing.paylinks import pay_link_for
from dunning.usecases.outgoing.secrets import Secrets
from dunning.workspace import Workspace

__all__ = ["PLAN_TEMPLATE", "plan_email", "plan_sms"]

#: the template kind of every plan message (the wording per kind is inside it)
PLAN_TEMPLATE = "plan"


def _printed(reference: str | None) -> str | None:
    if not reference:
        return None
    try:
        return parse_reference(reference).printed
    except InvalidReference:
        return reference


def _figures(due: DueAction) -> dict[str, Any]:
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


def _asks(figures: dict[str, Any]) -> tuple[Money | None, str | None, date | None]:
    """What the message asks to pay: its own instalment, or the next one (after a deferral, a thank-you...)."""
    if figures["plan_kind"] in _OWN:
        return figures["amount"], figures["reference"], figures["due_date"]
    if figures["plan_kind"] == "plan_breach_notice":
        return figures["arrears"], figures["next_reference"], figures["pay_arrears_by"]
    return figures["next_amount"], figures["next_reference"], figures["next_due"]


def _qr(workspace: Workspace, amount: Money, reference: str, number: object) -> Attachment | None:
    """The instalment's EPC QR code as a PNG (None outside the euro: EPC QR knows only EUR)."""
    creditor = workspace.config.creditor
    if amount.currency != "EUR":
        return None
    try:
        payload = epc_payload(EpcPayment(name=creditor.name, iban=creditor.iban, amount=amount.amount,
                                         bic=creditor.bic or "", reference=reference))
    except EpcError:
        return None
    buffer = io.BytesIO()
    segno.make(payload, error="m", boost_error=False, micro=False, encoding="utf-8").save(
        buffer, kind="png", scale=6, border=4)
    return Attachment(f"qr-instalment-{number}.png", buffer.getvalue(), "image/png")


def plan_email(due: DueAction, workspace: Workspace, secrets: Secrets, sent_on: date, locale: str) -> EmailData:
    """The email of a plan action sent on ``sent_on``."""
    figures = _figures(due)
    amount, reference, pay_by = _asks(figures)
    asks = figures["plan_kind"] not in ("plan_thanks", "plan_completed")
    attachment = None
    if asks and amount is not None and reference:
        number = figures["next_number"] if reference == figures["next_reference"] else figures["number"]
        attachment = _qr(workspace, amount, reference, number)
    return EmailData(
        action_id=due.token_id,
        idempotency_key=due.key,
        kind=PLAN_TEMPLATE,
        locale=locale,
        to_address=due.email or "",
        debtor_name=due.debtor_name,
        total_due=amount or Money.of(Decimal(0), due.currency),
        pay_by=pay_by or sent_on,
        pay_link=pay_link_for(due, workspace, secrets, sent_on, "email"),
        payment_reference=reference,
        attachment=attachment,
        extra=figures,
    )


def plan_sms(due: DueAction, workspace: Workspace, secrets: Secrets, sent_on: date, locale: str) -> SmsData:
    """The SMS of a plan action sent on ``sent_on`` (amount, reference and date of its instalment)."""
    figures = _figures(due)
    amount, reference, pay_by = _asks(figures)
    return SmsData(
        action_id=due.token_id,
        idempotency_key=due.key,
        kind=PLAN_TEMPLATE,
        locale=locale,
        phone=due.phone or "",
        brand_name=workspace.config.creditor.name,
        total_due=amount or Money.of(Decimal(0), due.currency),
        pay_by=pay_by or sent_on,
        pay_link=None,
        region=(due.country or workspace.config.creditor.address.country).upper(),
        extra={**figures, "pay_reference": reference},
    )
