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

import segno

from dunning.channels.email import Attachment, EmailData
from dunning.channels.sms import SmsData
from dunning.domain.epc import EpcError, EpcPayment, epc_payload
from dunning.domain.money import Money
from dunning.domain.wording import swiss_spelling
from dunning.usecases.outgoing.due import DueAction
from dunning.usecases.outgoing.paylinks import pay_link_for
from dunning.usecases.outgoing.plan_figures import plan_asked as _asks
from dunning.usecases.outgoing.plan_figures import plan_figures as _figures
from dunning.usecases.outgoing.secrets import Secrets
from dunning.workspace import Workspace

__all__ = ["PLAN_TEMPLATE", "plan_email", "plan_sms"]

#: the template kind of every plan message (the wording per kind is inside it)
PLAN_TEMPLATE = "plan"


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
        swiss=swiss_spelling(locale, workspace.config.creditor.address.country),
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
        swiss=swiss_spelling(locale, workspace.config.creditor.address.country),
    )
