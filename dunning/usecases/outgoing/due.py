"""The planned actions due on a channel, with what their message needs: letters, emails and SMS alike.

A letter, an email and an SMS start the same way: the planned actions of the channel due on or
before the run date, each with its case (amounts, reference), its debtor (name, language,
contacts, address), the case's open invoices and the document rendered for it (a letter's PDF an
email may attach). :func:`load_due_actions` reads them as :class:`DueAction` records.

* **Total due**: the open items (credit notes are open items with a negative amount, so they are
  already deducted) plus the fees and interest as charged, less what bank payments covered of them
  (costs are paid first).
* **What a message claims** on the day it goes out (:meth:`DueAction.claim_on`): only the invoices
  overdue that day, credit notes deducted, plus those costs; an invoice not yet due is never claimed
  (:mod:`dunning.domain.planning.claim`), so letters, emails and SMS ask for the same amount.
* **Language**: the debtor's, else the creditor's; a language the templates do not know falls back
  to the creditor's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from dunning.channels.email import InvoiceLine
from dunning.channels.render import LANGUAGES
from dunning.channels.tokens import action_id_for
from dunning.domain.money import Money
from dunning.domain.owed import Owed
from dunning.domain.planning.claim import is_overdue
from dunning.store.actions import DueActionRecord, load_due_action_ids, load_planned_actions
from dunning.store.cases import load_open_invoices
from dunning.store.deliveries import load_document_paths
from dunning.store.payments import CostsPaidRecord, load_costs_paid

__all__ = ["DEFAULT_PAY_DAYS", "DueAction", "due_action_ids", "load_due_actions", "owed_by", "pay_days"]

#: days the debtor is given to pay, counted from the action's date, unless the step says otherwise
DEFAULT_PAY_DAYS = 14


@dataclass(frozen=True, slots=True)
class DueAction:
    """A planned message action with what its message needs (debtor fields are personal data)."""

    action_pk: int
    key: str
    action: str
    channel: str
    due_on: date
    settings: Mapping[str, Any]
    case_id: int
    case_status: str
    currency: str
    reference: str | None
    total_due: Decimal
    debtor_name: str
    language: str
    country: str | None
    email: str | None
    email_invalid: bool
    phone: str | None
    invoices: tuple[InvoiceLine, ...] = ()
    document: str | None = None
    #: the action's ``detail`` as the planner recorded it (rules, figures, earliest legal date)
    detail: Mapping[str, Any] = field(default_factory=dict)
    customer_number: str = ""
    consumer: bool = True
    address_lines: tuple[str, ...] = ()
    #: invoice number → its description (the product or service), for the invoices that have one
    invoice_descriptions: Mapping[str, str] = field(default_factory=dict)
    #: fees and interest as charged, less what bank payments covered of them (part of ``total_due``)
    costs_due: Decimal = Decimal(0)
    #: the flow (name, version) that planned it (empty: unknown, e.g. a preview)
    flow: tuple[str, int] | None = None

    def claim_on(self, day: date) -> tuple[tuple[InvoiceLine, ...], tuple[InvoiceLine, ...], Decimal]:
        """(invoices claimed, invoices not yet due, amount claimed) of a message going out on ``day``.

        Claimed: the invoices overdue on ``day`` and the credit notes; the amount is their balance (never
        below zero) plus the costs due (without the message's own fee). Without invoice lines (a preview),
        the total due as loaded.
        """
        if not self.invoices:
            return (), (), self.total_due
        claimed = tuple(line for line in self.invoices if is_overdue(line.due_date, line.open_amount.amount, day))
        later = tuple(line for line in self.invoices if line not in claimed)
        balance = sum((line.open_amount.amount for line in claimed), Decimal(0))
        return claimed, later, max(balance, Decimal(0)) + self.costs_due

    @property
    def token_id(self) -> str:
        """The short action id that travels in VERP addresses, Message-IDs and SMS client refs."""
        return action_id_for(self.key)

    @property
    def own_fee(self) -> Decimal:
        """The fee this message carries (``detail.fee``, set by the planner), while not booked yet.

        It is booked to the case when the message goes out (:mod:`dunning.usecases.outgoing.fees`),
        so the message itself asks for it: its total includes it, and its text says so.
        """
        if self.detail.get("fee_booked_on"):
            return Decimal(0)
        try:
            fee = Decimal(str(self.detail.get("fee") or 0))
        except ArithmeticError:  # decimal.InvalidOperation: not a number; the planner writes none such
            return Decimal(0)
        return fee if fee.is_finite() and fee > 0 else Decimal(0)

    @property
    def requested_template(self) -> str | None:
        value = self.settings.get("template")
        return str(value) if value else None

    @property
    def pay_days(self) -> int:
        """Days the debtor is given to pay: the step's ``deadline_days``, else :data:`DEFAULT_PAY_DAYS`."""
        return pay_days(self.settings)


def pay_days(settings: Mapping[str, Any]) -> int:
    """The step's ``deadline_days`` when it is a whole number, else :data:`DEFAULT_PAY_DAYS`."""
    days = settings.get("deadline_days")
    return int(days) if isinstance(days, int | str) and str(days).isdigit() else DEFAULT_PAY_DAYS


def owed_by(principal_open: Decimal, fees: Decimal, interest: Decimal, paid: CostsPaidRecord,
            credit: Decimal = Decimal("0.00")) -> Owed:
    """A case's :class:`~dunning.domain.owed.Owed` from its stored figures and what payments covered.

    The one place a total due is put together: letters (:mod:`dunning.usecases.letters.data`),
    emails and SMS (:func:`load_due_actions`) and the case list (:mod:`dunning.usecases.cases.view`).
    """
    return Owed(principal_open=principal_open, fees=fees, interest=interest, principal_paid=paid.principal,
                fees_paid=paid.fees, interest_paid=paid.interest, credit=credit)


def due_action_ids(conn: Connection, channel: str, run_date: date) -> list[int]:
    """Ids of the planned actions on ``channel`` due on or before ``run_date``, oldest first."""
    return load_due_action_ids(conn, channel, run_date)


def load_due_actions(conn: Connection, action_ids: Sequence[int], creditor_language: str) -> list[DueAction]:
    """The actions ``action_ids`` (still planned) with their case, debtor, open invoices and document."""
    records = load_planned_actions(conn, action_ids)
    case_ids = sorted({record.case_id for record in records})
    costs_paid = load_costs_paid(conn, case_ids)
    lines: dict[int, list[InvoiceLine]] = {}
    descriptions: dict[int, dict[str, str]] = {}
    for invoice in load_open_invoices(conn, case_ids):
        lines.setdefault(invoice.case_id, []).append(
            InvoiceLine(invoice.external_id, invoice.due_date, Money.of(invoice.open_amount, invoice.currency)))
        if invoice.description:
            descriptions.setdefault(invoice.case_id, {})[invoice.external_id] = invoice.description
    documents = load_document_paths(conn, [record.action_id for record in records])
    return [_due_action(record, costs_paid[record.case_id], creditor_language, tuple(lines.get(record.case_id, ())),
                        documents.get(record.action_id), descriptions.get(record.case_id, {}))
            for record in records]


def _due_action(record: DueActionRecord, paid: CostsPaidRecord, creditor_language: str,
                invoices: tuple[InvoiceLine, ...], document: str | None,
                descriptions: Mapping[str, str]) -> DueAction:
    language = (record.language or creditor_language).lower()
    owed = owed_by(record.open_amount, record.fees_amount, record.interest_amount, paid)
    return DueAction(
        action_pk=record.action_id,
        key=record.key,
        action=record.action,
        channel=record.channel,
        due_on=record.due_on,
        settings=record.settings,
        case_id=record.case_id,
        case_status=record.case_status,
        currency=record.currency,
        reference=record.reference,
        # Credit notes are open items with a negative amount, so open_amount is already net of them.
        # The same sum as the letters and the case list (dunning.domain.owed); the messages split it at
        # their sending day into what is claimed and what is not yet due (compose.claim_on).
        total_due=owed.total,
        costs_due=owed.fees_open + owed.interest_open,
        debtor_name=record.debtor_name,
        language=language if language in LANGUAGES else creditor_language,
        country=record.country,
        email=record.email,
        email_invalid=record.email_invalid,
        phone=record.phone,
        invoices=invoices,
        document=document,
        detail=record.detail,
        customer_number=record.customer_number or "",
        consumer=(record.debtor_type or "person") == "person",
        address_lines=tuple(part for part in (
            (record.street or "").strip(), f"{record.postal_code or ''} {record.city or ''}".strip()) if part),
        invoice_descriptions=descriptions,
        flow=(record.flow, record.flow_version or 0) if record.flow else None,
    )
