"""Promises to pay in the store: a ``promise_to_pay`` hold and the case's timeline, no table of their own.

A promise is the hold that pauses the case (``holds.source`` = ``promise:<case id>:<n>``, unique: two
forms posted at once cannot both place the n-th promise) and a ``promise_made`` event with the same
source carrying the promised day and the grace days. Its end is a ``promise_kept`` or
``promise_broken`` event of that source, and the hold released on that day. The night's planner
reads ``promise_broken`` events (``dunning.usecases.planning.night.PLANNER_EVENTS``): a flow's
``events: promise_broken`` handler runs once for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dunning.domain.planning.case_state import HoldKind
from dunning.domain.promise import PromiseStatus
from dunning.store.schema import case_events, cases, debtors, holds

__all__ = [
    "PromiseCaseRecord",
    "PromiseRecord",
    "cases_with_open_promises",
    "end_promise",
    "insert_promise",
    "load_promise_cases",
    "load_promises",
    "next_promise_source",
]

MADE, KEPT, BROKEN = "promise_made", "promise_kept", "promise_broken"
_ENDS = {KEPT: PromiseStatus.KEPT, BROKEN: PromiseStatus.BROKEN}


@dataclass(frozen=True, slots=True)
class PromiseRecord:
    """One promise of a case and what became of it (``ended_on``: the day it was kept or broken)."""

    case_id: int
    source: str
    made_on: date
    promised: date
    grace_days: int
    until: date  # the hold's exclusive end: the first day the promise may be found broken
    status: PromiseStatus
    ended_on: date | None

    @property
    def last_day(self) -> date:
        """The last day a payment keeps the promise (the promised day plus the grace days)."""
        return self.until - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PromiseCaseRecord:
    """What the night needs of a promise's case: its status and how its debtor can be reached."""

    case_id: int
    debtor: str  # the debtor's external id
    status: str
    has_email: bool
    has_phone: bool
    country: str | None
    debtor_type: str
    flow: str | None
    flow_version: int | None


def load_promises(conn: Connection, case_ids: Sequence[int]) -> list[PromiseRecord]:
    """The promises of the cases ``case_ids``, in the order they were made."""
    if not case_ids:
        return []
    query = select(
        case_events.c.case_id, case_events.c.kind, case_events.c.on_date, case_events.c.detail, case_events.c.source
    ).where(case_events.c.kind.in_((MADE, KEPT, BROKEN)), case_events.c.case_id.in_(list(case_ids)))
    made: dict[str, tuple[int, date, dict[str, Any]]] = {}
    ended: dict[str, tuple[PromiseStatus, date]] = {}
    for row in conn.execute(query.order_by(case_events.c.id)):
        if row.kind == MADE:
            made[row.source] = (row.case_id, row.on_date, dict(row.detail or {}))
        else:
            ended.setdefault(row.source, (_ENDS[row.kind], row.on_date))
    found = []
    for source, (case, made_on, detail) in made.items():
        status, ended_on = ended.get(source, (PromiseStatus.OPEN, None))
        found.append(
            PromiseRecord(
                case,
                source,
                made_on,
                date.fromisoformat(detail["promised"]),
                int(detail["grace_days"]),
                date.fromisoformat(detail["until"]),
                status,
                ended_on,
            )
        )
    return found


def cases_with_open_promises(conn: Connection) -> list[int]:
    """The cases a promise holds now (its hold not released), through the holds table."""
    query = select(holds.c.case_id).where(
        holds.c.kind == HoldKind.PROMISE_TO_PAY.value, holds.c.released_on.is_(None), holds.c.source.like("promise:%")
    )
    return sorted(set(conn.execute(query).scalars()))


def next_promise_source(conn: Connection, case_id: int) -> str:
    """The source of the case's next promise: ``promise:<case id>:<n>``."""
    count = len(
        conn.execute(select(case_events.c.id).where(case_events.c.case_id == case_id, case_events.c.kind == MADE)).all()
    )
    return f"promise:{case_id}:{count + 1}"


def insert_promise(
    conn: Connection,
    *,
    case_id: int,
    source: str,
    made_on: date,
    promised: date,
    grace_days: int,
    until: date,
    via: str,
    recorded_at: datetime,
) -> None:
    """Place the promise's hold and tell the timeline (IntegrityError when ``source`` is already taken)."""
    reason = f"promise to pay by {promised.isoformat()} ({via})"
    conn.execute(
        insert(holds).values(
            case_id=case_id,
            kind=HoldKind.PROMISE_TO_PAY.value,
            reason=reason,
            start=made_on,
            until=until,
            source=source,
        )
    )
    detail = {
        "promised": promised.isoformat(),
        "grace_days": grace_days,
        "until": until.isoformat(),
        "reason": f"{reason}; dunning paused until {until.isoformat()}",
    }
    conn.execute(
        insert(case_events).values(
            case_id=case_id,
            on_date=made_on,
            kind=MADE,
            invoice_id=None,
            amount=None,
            detail=detail,
            source=source,
            recorded_at=recorded_at,
        )
    )
    # held from now: a message planned before the promise waits instead of going out tomorrow
    conn.execute(update(cases).where(cases.c.id == case_id, cases.c.status == "open").values(status="on_hold"))


def end_promise(
    conn: Connection, promise: PromiseRecord, status: PromiseStatus, on: date, reason: str, recorded_at: datetime
) -> None:
    """Release the promise's hold on ``on`` and record it kept or broken on the timeline."""
    kind = KEPT if status is PromiseStatus.KEPT else BROKEN
    conn.execute(
        update(holds).where(holds.c.source == promise.source, holds.c.released_on.is_(None)).values(released_on=on)
    )
    detail = {"promised": promise.promised.isoformat(), "reason": reason}
    conn.execute(
        insert(case_events).values(
            case_id=promise.case_id,
            on_date=on,
            kind=kind,
            invoice_id=None,
            amount=None,
            detail=detail,
            source=promise.source,
            recorded_at=recorded_at,
        )
    )


def load_promise_cases(conn: Connection, case_ids: list[int]) -> dict[int, PromiseCaseRecord]:
    """The status of each case and whether its debtor has a usable email address or a phone number."""
    if not case_ids:
        return {}
    query = (
        select(
            cases.c.id,
            debtors.c.external_id,
            cases.c.status,
            debtors.c.email,
            debtors.c.email_invalid,
            debtors.c.phone,
            debtors.c.country,
            debtors.c.debtor_type,
            cases.c.flow,
            cases.c.flow_version,
        )
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(cases.c.id.in_(case_ids))
    )
    return {
        row.id: PromiseCaseRecord(
            row.id,
            row.external_id,
            row.status,
            bool(row.email) and not row.email_invalid,
            bool(row.phone),
            row.country,
            row.debtor_type,
            row.flow,
            row.flow_version,
        )
        for row in conn.execute(query)
    }
