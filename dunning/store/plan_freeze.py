"""The days each case's plans froze its interest (:mod:`dunning.domain.plans.interest_freeze`).

Read from ``payment_plans`` alone (status, interest policy, made on, ended on): the planner and the
letters stage ask it for many cases at once, and the instalments do not matter here.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, select

from dunning.domain.plans.interest_freeze import FrozenSpan, frozen_span
from dunning.store.schema import payment_plans

__all__ = ["load_frozen_spans"]

def load_frozen_spans(conn: Connection, case_ids: Collection[int] | None = None) -> dict[int, tuple[FrozenSpan, ...]]:
    """Case id → the spans (first day, last day; oldest first) its plans froze interest; ``None``: every case."""
    query = select(payment_plans.c.case_id, payment_plans.c.status, payment_plans.c.interest_policy,
                   payment_plans.c.created_on, payment_plans.c.ended_on)
    if case_ids is not None:
        query = query.where(payment_plans.c.case_id.in_(sorted(case_ids)))
    found: dict[int, list[FrozenSpan]] = {}
    for case_id, status, policy, made, ended in conn.execute(query):
        span = frozen_span(status, policy, made, ended)
        if span is not None:
            found.setdefault(int(case_id), []).append(span)
    return {case_id: tuple(sorted(spans)) for case_id, spans in found.items()}
