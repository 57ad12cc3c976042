"""What a case has besides its claim, read in one query so the pay page skips the reads that would find nothing.

The landing page's promise and plan parts each read rows most cases never have (promises, plans, an open
dispute). One query with three EXISTS says which of them the case has now, in the request's own
transaction: a part whose flag is false is known to be empty without its own query. Nothing is kept
between requests, so a promise, plan or dispute recorded by any process shows on the next opening.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BindParameter, Connection, Executable, bindparam, exists, select

from dunning.store.disputes import KEY_PREFIX
from dunning.store.promises import BROKEN, KEPT, MADE
from dunning.store.schema import actions, case_events, payment_plans

__all__ = ["PageFlags", "load_page_flags"]


@dataclass(frozen=True, slots=True)
class PageFlags:
    """Whether a case has any promise event, any payment plan (whatever its status), an open dispute task."""

    promises: bool
    plans: bool
    dispute: bool


#: every flag true: what a caller that read none assumes (each part then reads its rows)
ALL = PageFlags(promises=True, plans=True, dispute=True)


def _query() -> Executable:
    case_id: BindParameter[int] = bindparam("case_id")
    return select(
        exists().where(case_events.c.case_id == case_id, case_events.c.kind.in_((MADE, KEPT, BROKEN))),
        exists().where(payment_plans.c.case_id == case_id),
        exists().where(
            actions.c.case_id == case_id,
            actions.c.status == "planned",
            actions.c.idempotency_key.like(f"{KEY_PREFIX}%"),
        ),
    )


_QUERY = _query()


def load_page_flags(conn: Connection, case_id: int) -> PageFlags:
    """The flags of case ``case_id`` as they are now (all false for an unknown case)."""
    promises, plans, dispute = conn.execute(_QUERY, {"case_id": case_id}).one()
    return PageFlags(bool(promises), bool(plans), bool(dispute))
