"""The plans report: plans made per period and what became of them, and the direct debits collected.

Each plan counts in the period it was made (``created_on``: month ``2026-11``, quarter ``2026-Q4`` or
year ``2026``) under ``created`` and under its status now: ``proposed``, ``active``, ``completed`` (kept
to the end), ``breached``, ``cancelled``. ``kept_rate`` is completed / (completed + breached), the
share of ended plans that were kept (None while none has ended). Direct debit collections count in the
period of their collection date: ``collected`` and ``returned``, with their amounts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from dunning.domain.plans.model import ArrangementStatus, PlanError
from dunning.store import Store
from dunning.store.mandates import collection_rows
from dunning.store.plans import load_plans

__all__ = ["PERIODS", "period_of", "plans_report"]

PERIODS = ("month", "quarter", "year")
_STATUSES = tuple(s.value for s in ArrangementStatus)


def period_of(day: date, period: str) -> str:
    """``2026-11``, ``2026-Q4`` or ``2026``."""
    if period == "month":
        return f"{day:%Y-%m}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return str(day.year)
    raise PlanError(f"period {period!r} is not one of {', '.join(PERIODS)}")


def _blank() -> dict[str, Any]:
    return {
        "created": 0,
        **dict.fromkeys(_STATUSES, 0),
        "collected": 0,
        "collected_amount": Decimal("0.00"),
        "returned": 0,
        "returned_amount": Decimal("0.00"),
    }


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    ended = row["completed"] + row["breached"]
    return {
        **row,
        "kept_rate": None if ended == 0 else str((Decimal(row["completed"]) / ended).quantize(Decimal("0.01"))),
        "collected_amount": str(row["collected_amount"]),
        "returned_amount": str(row["returned_amount"]),
    }


def plans_report(
    store: Store, *, period: str = "month", since: date | None = None, until: date | None = None
) -> dict[str, Any]:
    """Counts per period (see the module docstring), oldest first, and their total."""
    if period not in PERIODS:
        raise PlanError(f"period {period!r} is not one of {', '.join(PERIODS)}")

    def inside(day: date) -> bool:
        return (since is None or day >= since) and (until is None or day <= until)

    with store.begin() as conn:
        plans = load_plans(conn)
        collections = collection_rows(conn)
    rows: dict[str, dict[str, Any]] = defaultdict(_blank)
    for stored in plans:
        plan = stored.plan
        if not inside(plan.created_on):
            continue
        row = rows[period_of(plan.created_on, period)]
        row["created"] += 1
        row[plan.status.value] += 1
    for on, status, amount in collections:
        if not inside(on):
            continue
        row = rows[period_of(on, period)]
        row["collected"] += 1
        row["collected_amount"] += amount
        if status == "returned":
            row["returned"] += 1
            row["returned_amount"] += amount
    total = _blank()
    for row in rows.values():
        for key, value in row.items():
            total[key] += value
    return {
        "period": period,
        "periods": [{"period": key, **_finish(rows[key])} for key in sorted(rows)],
        "total": _finish(total),
    }
