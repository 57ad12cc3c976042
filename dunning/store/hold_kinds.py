"""The kinds of the holds in force on some cases on a day (the plan bot's messages ask: see
:mod:`dunning.domain.plans.holds`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

from sqlalchemy import Connection, or_, select

from dunning.store.schema import holds

__all__ = ["active_hold_kinds", "last_hold_end"]


def active_hold_kinds(conn: Connection, case_ids: Collection[int], on: date) -> dict[int, frozenset[str]]:
    """Case id → the kinds of its holds in force on ``on`` (placed by then, not released, not expired)."""
    if not case_ids:
        return {}
    query = select(holds.c.case_id, holds.c.kind).where(
        holds.c.case_id.in_(sorted(case_ids)),
        holds.c.released_on.is_(None),
        holds.c.start <= on,
        or_(holds.c.until.is_(None), holds.c.until >= on),
    )
    found: dict[int, set[str]] = {}
    for case_id, kind in conn.execute(query):
        found.setdefault(int(case_id), set()).add(str(kind))
    return {case_id: frozenset(kinds) for case_id, kinds in found.items()}


def last_hold_end(conn: Connection, case_id: int, kinds: Collection[str], on: date) -> date | None:
    """The last day by ``on`` on which a hold of ``kinds`` on the case ended (released, or the day after it
    expired); None when none has ended."""
    query = select(holds.c.released_on, holds.c.until).where(
        holds.c.case_id == case_id, holds.c.kind.in_(sorted(kinds)), holds.c.start <= on)
    ends = []
    for released_on, until in conn.execute(query):
        if released_on is not None and released_on <= on:
            ends.append(released_on)
        elif released_on is None and until is not None and until < on:
            ends.append(until + timedelta(days=1))
    return max(ends, default=None)
