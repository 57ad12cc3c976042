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
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dunning.store.schema import actions, allocations, case_events, cases

__all__ = ["MESSAGE_CHANNELS", "book_message_fee", "settle_message_fees"]

#: channels whose actions are messages to the debtor (their fee is owed once they went out)
MESSAGE_CHANNELS = ("letter", "registered_letter", "email", "sms")
#: action statuses of a message that went out
WENT_OUT = ("sent", "delivered")
#: statuses of a message that went out and then did not reach the debtor (or never went out)
DID_NOT_REACH = ("failed", "bounced", "returned", "cancelled")
ZERO = Decimal("0.00")


def _why(row: Any, what: str) -> str:
    """The step and the rule that set the fee (the planner's figures), for the timeline."""
    detail = row.detail or {}
    figures = [str(f["explanation"]) for f in detail.get("figures") or () if f and f.get("explanation")]
    rules = [str(r) for r in detail.get("rules") or ()]
    channel = (row.channel or "").replace("_", " ")
    head = f"{what}: {row.action.replace('_', ' ')} by {channel} (step {row.step})"
    return "; ".join([head, *(figures or rules)])


def _locked(conn: Connection, action_id: int) -> Any:
    query = select(actions.c.id, actions.c.idempotency_key, actions.c.case_id, actions.c.action, actions.c.channel,
                   actions.c.step, actions.c.status, actions.c.amount, actions.c.detail)
    return conn.execute(query.where(actions.c.id == action_id).with_for_update()).first()


def _event(conn: Connection, row: Any, kind: str, amount: Decimal, on_date: date, recorded_at: datetime,
           source: str, reason: str) -> None:
    conn.execute(insert(case_events).values(
        case_id=row.case_id, on_date=on_date, kind=kind, invoice_id=None, amount=amount,
        detail={"ref": row.idempotency_key, "action": row.action, "channel": row.channel, "reason": reason},
        source=source[:120], recorded_at=recorded_at))


def book_message_fee(conn: Connection, action_id: int, *, on_date: date, recorded_at: datetime,
                     source: str) -> Decimal:
    """Book the fee of a message action that went out (status sent or delivered); return what was booked.

    Nothing is booked (zero) when the action has no fee, has not gone out, or was booked before.
    Call it in the transaction that records the message as sent.
    """
    row = _locked(conn, action_id)
    if row is None or row.channel not in MESSAGE_CHANNELS or row.status not in WENT_OUT:
        return ZERO
    detail = dict(row.detail or {})
    if not row.amount or row.amount <= 0 or detail.get("fee_booked_on"):
        return ZERO
    amount = Decimal(row.amount)
    conn.execute(update(actions).where(actions.c.id == row.id).values(
        detail={**detail, "fee_booked_on": on_date.isoformat()}))
    conn.execute(update(cases).where(cases.c.id == row.case_id).values(fees_amount=cases.c.fees_amount + amount))
    _event(conn, row, "fee_booked", amount, on_date, recorded_at, source, _why(row, "fee of a message that went out"))
    return amount


def _reverse(conn: Connection, action_id: int, on_date: date, recorded_at: datetime) -> Decimal:
    """Take back a booked fee of a message that did not reach the debtor (at most its case's unpaid costs)."""
    row = _locked(conn, action_id)
    detail = dict(row.detail or {}) if row is not None else {}
    if row is None or row.status not in DID_NOT_REACH or not detail.get("fee_booked_on") \
            or detail.get("fee_reversed_on"):
        return ZERO
    charged = conn.execute(select(cases.c.fees_amount).where(cases.c.id == row.case_id)).scalar_one()
    # amounts are text on SQLite: add them up here, not in SQL
    paid = sum(conn.execute(select(allocations.c.amount).where(
        allocations.c.case_id == row.case_id, allocations.c.item == "fees",
        allocations.c.reversed.is_(False))).scalars(), ZERO)
    # What a payment already covered stays: taking it back would leave money the case cannot show.
    amount = min(Decimal(row.amount), max(Decimal(charged) - Decimal(paid), ZERO))
    conn.execute(update(actions).where(actions.c.id == row.id).values(
        detail={**detail, "fee_reversed_on": on_date.isoformat(), "fee_reversed": str(amount)}))
    if amount > 0:
        conn.execute(update(cases).where(cases.c.id == row.case_id).values(fees_amount=cases.c.fees_amount - amount))
    _event(conn, row, "fee_reversed", -amount, on_date, recorded_at, "nightly",
           _why(row, f"fee taken back: the message was {row.status}"))
    return amount


def settle_message_fees(conn: Connection, *, on_date: date, recorded_at: datetime) -> tuple[int, int]:
    """Book the fees of messages that went out unbooked, and take back those of messages that failed since.

    Returns (booked, reversed) counts. Idempotent: a second call on the same data changes nothing.
    """
    candidates = conn.execute(
        select(actions.c.id, actions.c.status, actions.c.amount, actions.c.detail).where(
            actions.c.amount.is_not(None), actions.c.channel.in_(MESSAGE_CHANNELS),
            actions.c.status.in_((*WENT_OUT, *DID_NOT_REACH)))
    ).all()
    booked = reversed_ = 0
    for action_id, status, amount, detail in candidates:
        marks = detail or {}
        if not amount or amount <= 0:
            continue
        if status in WENT_OUT and not marks.get("fee_booked_on"):
            booked += bool(book_message_fee(conn, action_id, on_date=on_date, recorded_at=recorded_at,
                                            source="nightly"))
        elif status in DID_NOT_REACH and marks.get("fee_booked_on") and not marks.get("fee_reversed_on"):
            _reverse(conn, action_id, on_date, recorded_at)
            reversed_ += 1
    return booked, reversed_
