"""Fees set on a message are booked to the case when the message goes out, exactly once.

A message action with a fee (``send_letter`` with ``fee:``, a Belgian regular-supply reminder's
€7.50 plus postage, ...) carries the fee as its ``amount`` from the night it is planned, but the
debtor owes it only once the message really went out. So:

* **booked when sent**: the channel stage that records the message as sent (a letter handed to
  the print house: :func:`dunning.usecases.letters.send.record_letters_sent`; an email or SMS
  accepted by the server: :mod:`dunning.usecases.messaging.dispatch`) calls :func:`book_message_fee` in the
  same transaction: ``cases.fees_amount`` grows by the fee and the case gets a ``fee_booked`` event
  (the amount, and why: the step and the rule that set the fee), which the timeline shows. From
  then on reconciliation (costs → interest → principal) and the next letters see it;
* **exactly once**: the action's ``detail.fee_booked_on`` marks the booking, written in the same
  transaction as the amount (the action row is locked first), so a re-run, a recovered crash or
  the nightly catch-up never books it twice;
* **never for a message that did not go out**: a failed or cancelled message is never booked; a
  message that went out and then failed (letter returned, email bounced, SMS not delivered) has
  its fee taken back by the nightly run (:func:`settle_message_fees`, ``fee_reversed`` event, at
  most what is still unpaid of the case's costs) — the debtor never got the reminder it paid for.

:func:`settle_message_fees` (called by every nightly run) also books the fee of any message that
went out without it being booked (e.g. recorded sent by a recovery path), so the rule holds
whatever recorded the sending.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection

from dunning.store.actions import FeeActionRecord, load_fee_actions, lock_fee_action, write_action_detail
from dunning.store.cases import add_case_fee, insert_case_event, load_case_fees_charged
from dunning.store.payments import load_costs_paid

__all__ = ["DID_NOT_REACH", "MESSAGE_CHANNELS", "WENT_OUT", "book_message_fee", "settle_message_fees"]

#: channels whose actions are messages to the debtor (their fee is owed once they went out)
MESSAGE_CHANNELS = ("letter", "registered_letter", "email", "sms")
#: action statuses of a message that went out
WENT_OUT = ("sent", "delivered")
#: statuses of a message that went out and then did not reach the debtor (or never went out)
DID_NOT_REACH = ("failed", "bounced", "returned", "cancelled")
ZERO = Decimal("0.00")


def _why(action: FeeActionRecord, what: str) -> str:
    """The step and the rule that set the fee (the planner's figures), for the timeline."""
    detail = action.detail
    figures = [str(f["explanation"]) for f in detail.get("figures") or () if f and f.get("explanation")]
    rules = [str(r) for r in detail.get("rules") or ()]
    channel = (action.channel or "").replace("_", " ")
    head = f"{what}: {action.action.replace('_', ' ')} by {channel} (step {action.step})"
    return "; ".join([head, *(figures or rules)])


def _event(conn: Connection, action: FeeActionRecord, kind: str, amount: Decimal, on_date: date,
           recorded_at: datetime, source: str, reason: str) -> None:
    insert_case_event(conn, case_id=action.case_id, on_date=on_date, kind=kind, amount=amount,
                      detail={"ref": action.key, "action": action.action, "channel": action.channel,
                              "reason": reason},
                      source=source, recorded_at=recorded_at)


def book_message_fee(conn: Connection, action_id: int, *, on_date: date, recorded_at: datetime,
                     source: str) -> Decimal:
    """Book the fee of a message action that went out (status sent or delivered); return what was booked.

    Nothing is booked (zero) when the action has no fee, has not gone out, or was booked before.
    Call it in the transaction that records the message as sent.
    """
    action = lock_fee_action(conn, action_id)
    if action is None or action.channel not in MESSAGE_CHANNELS or action.status not in WENT_OUT:
        return ZERO
    if not action.amount or action.amount <= 0 or action.detail.get("fee_booked_on"):
        return ZERO
    amount = Decimal(action.amount)
    write_action_detail(conn, action.action_id, {**action.detail, "fee_booked_on": on_date.isoformat()})
    add_case_fee(conn, action.case_id, amount)
    _event(conn, action, "fee_booked", amount, on_date, recorded_at, source,
           _why(action, "fee of a message that went out"))
    return amount


def _reverse(conn: Connection, action_id: int, on_date: date, recorded_at: datetime) -> Decimal:
    """Take back a booked fee of a message that did not reach the debtor (at most its case's unpaid costs)."""
    action = lock_fee_action(conn, action_id)
    if action is None or action.status not in DID_NOT_REACH or not action.detail.get("fee_booked_on") \
            or action.detail.get("fee_reversed_on"):
        return ZERO
    charged = load_case_fees_charged(conn, action.case_id)
    paid = load_costs_paid(conn, [action.case_id])[action.case_id].fees
    # What a payment already covered stays: taking it back would leave money the case cannot show.
    amount = min(Decimal(action.amount or ZERO), max(charged - paid, ZERO))
    write_action_detail(conn, action.action_id, {**action.detail, "fee_reversed_on": on_date.isoformat(),
                                                 "fee_reversed": str(amount)})
    if amount > 0:
        add_case_fee(conn, action.case_id, -amount)
    _event(conn, action, "fee_reversed", -amount, on_date, recorded_at, "nightly",
           _why(action, f"fee taken back: the message was {action.status}"))
    return amount


def settle_message_fees(conn: Connection, *, on_date: date, recorded_at: datetime) -> tuple[int, int]:
    """Book the fees of messages that went out unbooked, and take back those of messages that failed since.

    Returns (booked, reversed) counts. Idempotent: a second call on the same data changes nothing.
    """
    booked = reversed_ = 0
    for action in load_fee_actions(conn, MESSAGE_CHANNELS, (*WENT_OUT, *DID_NOT_REACH)):
        marks = action.detail
        if not action.amount or action.amount <= 0:
            continue
        if action.status in WENT_OUT and not marks.get("fee_booked_on"):
            booked += bool(book_message_fee(conn, action.action_id, on_date=on_date, recorded_at=recorded_at,
                                            source="nightly"))
        elif action.status in DID_NOT_REACH and marks.get("fee_booked_on") and not marks.get("fee_reversed_on"):
            _reverse(conn, action.action_id, on_date, recorded_at)
            reversed_ += 1
    return booked, reversed_
