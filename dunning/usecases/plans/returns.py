"""A direct debit that came back: the instalment it collected is missed again, with the bank's reason.

Reconciliation (:mod:`dunning.usecases.reconcile.apply`) calls :func:`record_direct_debit_returns`
with the new transactions of each bank file, inside the file's transaction. A booked debit carrying
a return reason (camt ``RtrInf/Rsn``: AM04, MD06...) or a reversal indicator, whose EndToEndId is one
of our collections (``DD-<plan>-<nn>``), is a returned collection:

* the collection is marked returned (with the reason, the day and the bank transaction);
* its instalment loses what the collection had credited to it (the matcher already undid the
  case's allocations when it found the original credit) and is ``missed``, so the plan's review
  treats it as any missed instalment;
* the case's timeline shows ``direct_debit_returned`` with the reason in words (``AM04 (insufficient
  funds)``);
* after a reason that makes the mandate unusable (closed account, no mandate, deceased...) the
  mandate is stopped: no further collection goes out under it.

A return of a collection already marked returned (the same bank file read again) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection

from dunning.domain.matching.model import BankTransaction, CreditDebit, EntryStatus
from dunning.domain.plans.mandate import STOPPING_REASONS, MandateStatus, return_reason_text
from dunning.domain.plans.model import InstalmentStatus
from dunning.store.cases import insert_case_event
from dunning.store.mandates import find_collection, mark_returned, set_mandate_status
from dunning.store.payments import find_transaction
from dunning.store.plans import load_plan, save_plan

__all__ = ["record_direct_debit_returns"]


def _is_return(tx: BankTransaction) -> bool:
    return (
        tx.status is EntryStatus.BOOK
        and tx.credit_debit is CreditDebit.DBIT
        and bool(tx.return_reason or tx.reversal)
        and bool(tx.end_to_end_id)
    )


def record_direct_debit_returns(
    conn: Connection,
    transactions: Iterable[BankTransaction],
    originals: Mapping[str, str],
    *,
    on_date: date,
    recorded_at: datetime,
) -> list[str]:
    """Mark the collections the returns among ``transactions`` undo; returns their EndToEndIds.

    ``originals``: for a return the matcher linked to the credit it undoes, that credit's key (so
    the instalment's record of the payment is dropped too).
    """
    done: list[str] = []
    for tx in transactions:
        if not _is_return(tx):
            continue
        assert tx.end_to_end_id is not None
        collection = find_collection(conn, tx.end_to_end_id)
        if collection is None or collection.status != "collected":
            continue
        reason = (tx.return_reason or ("reversal" if tx.reversal else "")).upper() or None
        mark_returned(conn, collection.end_to_end_id, reason, on_date, tx.key)
        stored = load_plan(conn, collection.plan_key)
        if stored is not None:
            plan = stored.plan
            item = plan.instalment(collection.instalment)
            original = originals.get(tx.key)
            dropped = {original} if original else set()
            if original:
                found = find_transaction(conn, original)
                if found is not None:
                    dropped.add(str(found.id))
            taken = min(item.paid, collection.amount)
            changed = replace(
                item,
                paid=item.paid - taken,
                payments=tuple(p for p in item.payments if p not in dropped),
                status=InstalmentStatus.MISSED,
            )
            instalments = tuple(changed if i.number == item.number else i for i in plan.instalments)
            save_plan(conn, plan.with_instalments(instalments))
        stopped = reason in STOPPING_REASONS
        if stopped:
            set_mandate_status(conn, collection.mandate_reference, MandateStatus.STOPPED)
        words = return_reason_text(tx.return_reason) if tx.return_reason else "reversed by the bank"
        insert_case_event(
            conn,
            case_id=collection.case_id,
            on_date=on_date,
            kind="direct_debit_returned",
            detail={
                "plan": collection.plan_key,
                "instalment": collection.instalment,
                "end_to_end_id": collection.end_to_end_id,
                "return_reason": reason,
                "transaction": tx.key,
                "mandate_stopped": stopped,
                "reason": f"direct debit of instalment {collection.instalment} came back: {words}; "
                "the instalment is missed"
                + (f", mandate {collection.mandate_reference} stopped" if stopped else ""),
            },
            source=f"plan:{collection.plan_key}",
            recorded_at=recorded_at,
            amount=Decimal(collection.amount),
        )
        done.append(collection.end_to_end_id)
    return done
