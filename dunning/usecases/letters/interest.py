"""Interest on a letter runs up to the letter's date, not to the night it was first charged.

The planner charges interest on the night of an ``add_interest`` step, up to that night; a letter
printed weeks later (the final notice after the second reminder) would show the same frozen amount.
So, when a letter is rendered for a case that was charged interest, the interest of each invoice in
the last charge's breakdown (still open) is computed again, from the same first day, at the same
pack's rates, on its open amount, **up to the letter date**; what that adds is charged to the case
as an ``add_interest`` action of its own (key ``<letter's key>|interest-to:<letter date>``, status
``done``, the breakdown in its detail), once. The planner counts it as interest charged (its next
``add_interest`` charges only what accrued after), reconciliation allocates it like any interest,
the timeline shows it, and the letter lists interest per invoice up to its date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from dunning.domain.legal import LegalPack
from dunning.domain.plans.interest_freeze import FrozenSpan, accrue_outside
from dunning.store.actions import NewActionRecord, existing_action_keys, insert_actions
from dunning.store.cases import add_case_interest
from dunning.store.letter_actions import CostRecord

__all__ = ["InterestToDate", "charge_interest_to_date", "interest_to_date"]

_KEY = re.compile(r"flow:(?P<flow>[^|@]*)@(?P<version>\d+)\|step:(?P<step>[^|]*)\|.*?cycle:(?P<cycle>\d+)")


class InterestToDate:
    """What interest up to a day adds to what was charged, per invoice."""

    def __init__(self, amount: Decimal, breakdown: list[dict[str, Any]], rule: str) -> None:
        self.amount = amount
        self.breakdown = breakdown
        self.rule = rule


def interest_to_date(
    rows: Sequence[CostRecord],
    open_amounts: Mapping[str, Decimal],
    pack: LegalPack,
    day: date,
    frozen: Sequence[FrozenSpan] = (),
) -> InterestToDate | None:
    """The interest the case's ``add_interest`` charges (``rows``, oldest first) reach on ``day``, if more.

    None when there is nothing to add: no breakdown, no pack rates, nothing accrued since. The days
    of ``frozen`` (a plan with frozen interest was kept) accrue nothing
    (:mod:`dunning.domain.plans.interest_freeze`).
    """
    terms = pack.interest_terms()
    if not rows or terms is None:
        return None
    last = rows[-1]
    breakdown = last.detail.get("interest") or ()
    max_rate = last.settings.get("max_rate")
    new: list[dict[str, Any]] = []
    total = Decimal(0)
    for item in breakdown:
        base = open_amounts.get(str(item.get("invoice")), Decimal(0))
        start = date.fromisoformat(str(item["start"]))
        if base <= 0 or start > day:
            continue
        result = accrue_outside(
            base,
            start,
            day,
            frozen,
            terms.table,
            spread=terms.spread,
            max_rate=None if max_rate is None else Decimal(str(max_rate)),
        )
        total += result.total
        new.append(
            {
                "invoice": item["invoice"],
                "base": str(base),
                "start": start.isoformat(),
                "end": day.isoformat(),
                "total": str(result.total),
                "segments": [
                    {
                        "start": s.start.isoformat(),
                        "end": s.end.isoformat(),
                        "days": s.days,
                        "rate": str(s.rate),
                        "amount": str(s.amount),
                    }
                    for s in result.segments
                ],
            }
        )
    added = total - sum((row.amount for row in rows), Decimal(0))
    if added <= 0:
        return None
    return InterestToDate(added, new, f"{pack.code}: interest up to {day.isoformat()} ({terms.rule})")


def charge_interest_to_date(
    conn: Connection, *, letter_key: str, case_id: int, day: date, extra: InterestToDate, recorded_at: datetime
) -> bool:
    """Charge ``extra`` to the case as the letter's own ``add_interest`` action, once; True when charged now."""
    key = f"{letter_key}|interest-to:{day.isoformat()}"
    if existing_action_keys(conn, [key]):
        return False
    match = _KEY.search(letter_key)
    insert_actions(
        conn,
        [
            NewActionRecord(
                idempotency_key=key,
                case_id=case_id,
                run_date=day,
                due_on=day,
                action="add_interest",
                channel=None,
                step=f"{match['step']}/interest" if match else "letter/interest",
                status="done",
                amount=extra.amount,
                settings={},
                reason=f"interest up to the letter of {day.isoformat()}",
                recorded_at=recorded_at,
                flow=match["flow"] if match else "",
                flow_version=int(match["version"]) if match else 0,
                cycle=int(match["cycle"]) if match else 1,
                fallback_depth=0,
                contact=False,
                replaces=None,
                detail={"rules": [extra.rule], "figures": [], "interest": extra.breakdown},
            )
        ],
    )
    add_case_interest(conn, case_id, extra.amount)
    return True
