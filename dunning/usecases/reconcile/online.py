"""Booking a payment an online provider confirmed, through the same allocation as a bank payment.

A paid checkout (:class:`dunning.ports_payments.CheckoutState`, read back from the provider) becomes
one ``bank_transactions`` row of its own: key ``provider:<name>:<checkout id>``, no bank file,
``detail.source`` ``provider``. It goes to the same matcher as a bank line (the case's structured
reference, so rule 1), and what the matcher decides is written by the same
:class:`~dunning.usecases.reconcile.booking.Applier`: allocations (costs first, as the legal order
says), invoices and the case's open amount, a paid case closed (the next night plans its thank-you),
the timeline (``payment_received``, ``case_paid``, ``creditor_notified``), and a refund item when it
left a credit. The transaction key is unique: a payment is booked once, however many events or
processes report it.

The provider later pays the money out to the creditor's bank account in one transfer; that line is
a settlement, recognised by :func:`dunning.usecases.reconcile.settlements.mark_settlements`, never
matched again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection

from dunning.domain.matching.match import BankTransaction, CreditDebit, EntryStatus, match_payments
from dunning.domain.matching.text import structured_ref
from dunning.ports_payments import CheckoutState
from dunning.store.payments import JsonObject, NewTransaction, find_transaction, insert_transactions, record_to_json
from dunning.store.provider import load_checkout, set_checkout_status
from dunning.store.review import NewReviewItem, insert_review_items
from dunning.usecases.reconcile.booking import Applier, CaseChange, load_cases
from dunning.usecases.reconcile.credits import raise_refund_items
from dunning.usecases.reconcile.settings import HISTORY_DAYS, match_config
from dunning.workspace import Workspace

__all__ = ["OnlineBooking", "book_online_payment", "transaction_key"]


@dataclass(frozen=True, slots=True)
class OnlineBooking:
    """What booking a provider's payment did: ``booked``, ``already_booked``, ``review`` or ``unknown``."""

    outcome: str
    case_id: int | None = None
    case_status: str | None = None  # paid | partial | open (the case after the payment)
    amount: Decimal | None = None


def transaction_key(provider: str, checkout_id: str) -> str:
    """The transaction key of a provider's payment: ``provider:stripe:cs_...``."""
    return f"provider:{provider}:{checkout_id}"[:200]


def book_online_payment(
    conn: Connection,
    workspace: Workspace,
    provider: str,
    state: CheckoutState,
    *,
    on_date: date,
    recorded_at: datetime,
) -> OnlineBooking:
    """Book the paid checkout ``state`` once, inside the caller's transaction (see the module docstring).

    A checkout this workspace never created is ``unknown`` (nothing booked: it is another system's on
    the same account); a case that can no longer take a payment sends the money to the review queue.
    """
    checkout = load_checkout(conn, state.id)
    if checkout is None:
        return OnlineBooking("unknown")
    key = transaction_key(provider, state.id)
    if checkout.transaction_id is not None or find_transaction(conn, key) is not None:
        return OnlineBooking("already_booked", checkout.case_id)
    book = load_cases(conn, since=on_date - timedelta(days=HISTORY_DAYS), only=[checkout.case_id])
    ref = book.refs.get(str(checkout.case_id))
    reference = ref.payment_reference if ref is not None else (state.reference or "")
    tx = BankTransaction(
        key=key,
        amount=state.amount,
        currency=state.currency,
        credit_debit=CreditDebit.CRDT,
        status=EntryStatus.BOOK,
        booking_date=on_date,
        structured_ref=structured_ref(reference) if reference else None,
        remittance=f"{provider} {state.id} {reference}".strip(),
        end_to_end_id=state.payment_id,
    )
    detail: JsonObject = {
        "source": "provider",
        "provider": provider,
        "checkout": state.id,
        "payment": state.payment_id,
        "method": state.method,
        "case": str(checkout.case_id),
        "asked": str(checkout.amount),
    }
    result = match_payments([tx], list(book.refs.values()), config=match_config(workspace)) if ref else None
    matched = result.matched[0] if result is not None and result.matched else None
    if result is None or matched is None or matched.case_id != str(checkout.case_id):
        # the case is gone (settled in the ledger, closed long ago): a person decides (refund, another case)
        reason = "an online payment for a case that can no longer take it"
        row = NewTransaction(key, None, state.amount, state.currency, "CRDT", on_date, None, tx.remittance,
                             "unmatched", {**detail, "reason": reason})
        (tx_id,) = insert_transactions(conn, [row])
        insert_review_items(conn, [NewReviewItem(tx_id, checkout.case_id, {
            "rule": "none", "reason": reason, "amount": str(state.amount), "currency": state.currency,
            "candidates": [], "evidence": [["provider", f"{provider} {state.id}", "paid online"]]}, recorded_at)])
        set_checkout_status(conn, state.id, "paid", payment_id=state.payment_id, transaction_id=tx_id)
        return OnlineBooking("review", checkout.case_id, None, state.amount)
    record = next(r for r in result.records if r.tx_key == key)
    detail.update(rule=str(matched.rule), credit=str(matched.credit), record=record_to_json(record),
                  reason=f"paid online through {provider} (checkout {state.id})")
    row = NewTransaction(key, None, state.amount, state.currency, "CRDT", on_date,
                         tx.structured_ref.value[:40] if tx.structured_ref else None, tx.remittance, "matched", detail)
    (tx_id,) = insert_transactions(conn, [row])
    applier = Applier(conn, book, on_date=on_date, source=key, recorded_at=recorded_at)
    credit_case = matched.case_id if matched.credit > 0 else None
    applier.allocations(tx_id, str(matched.rule), matched.allocations, matched.write_offs, credit_case, matched.credit)
    applier.event(
        matched.case_id,
        "payment_received",
        {
            "transaction": key,
            "rule": "provider",
            "reason": f"paid online through {provider} (checkout {state.id}, {state.method or 'online'})",
            "allocations": [f"{a.item_id} ({a.kind}) {a.amount}" for a in matched.allocations],
            "applied": str(sum((a.amount for a in matched.allocations), Decimal("0.00"))),
            "credit": str(matched.credit),
            "provider": provider,
        },
        state.amount,
    )
    status = "open"
    kinds = ["payment_received"]
    for outcome in result.cases:
        change = CaseChange(outcome.case_id, dict(outcome.open_amounts), outcome.credit, outcome.new_items)
        status = applier.change_case(change, why=f"paid online through {provider}")
        if status == "paid":
            kinds.append("case_paid")
        applier.event(
            outcome.case_id,
            "creditor_notified",
            {
                "reason": "tell the creditor's system: " + ", ".join(kinds),
                "events": kinds,
                "status": status,
                "open_amount": str(outcome.open_total),
                "reference": book.rows[outcome.case_id].reference,
                "delivery": "queued: dunning notify posts it to webhook.url",
            },
        )
    applier.flush()
    raise_refund_items(conn, on_date=on_date, recorded_at=recorded_at)
    set_checkout_status(conn, state.id, "paid", payment_id=state.payment_id, transaction_id=tx_id)
    return OnlineBooking("booked", checkout.case_id, status, state.amount)
