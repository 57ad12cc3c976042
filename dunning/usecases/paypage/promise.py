"""Pay on a date: the debtor promises on the pay page to pay by a day of their choice.

:func:`promise_offer` says what the page shows (the form and its window, or the promise already made)
and :func:`make_promise` records one: a ``promise_to_pay`` hold from today to the promised day plus
``paypage.promise.grace_days`` (the night plans nothing for the case meanwhile) and a ``promise_made``
event on the case's timeline. The window is :func:`dunning.domain.promise.promise_window`: from
tomorrow to ``paypage.promise.max_days`` ahead, bounded by the case's rule pack. One open promise
per case; a promise that was broken is not offered again on the same case (the page asks to pay
now). What the night does with a promise (reminder, kept, broken) is
:mod:`dunning.usecases.planning.promises`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dunning.domain.legal import select_pack
from dunning.domain.legal.base import DebtorType
from dunning.domain.promise import PromiseStatus, PromiseWindow, check_day, hold_until, promise_window
from dunning.errors import NotFound
from dunning.store import Store
from dunning.store.page_flags import ALL, PageFlags
from dunning.store.promises import (
    PromiseCaseRecord,
    PromiseRecord,
    insert_promise,
    load_promise_cases,
    load_promises,
    next_promise_source,
)
from dunning.workspace import Workspace

__all__ = ["PromiseOffer", "PromiseRefused", "make_promise", "promise_offer", "promise_offer_in"]

#: case statuses a promise can be made in (a closed case has nothing left to promise)
_PROMISABLE = ("open", "on_hold")


class PromiseRefused(Exception):
    """A day the debtor may not promise; ``code``: missing, past, too_late, already, broken, closed, disabled."""

    def __init__(self, code: str, window: PromiseWindow | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.window = window


@dataclass(frozen=True, slots=True)
class PromiseOffer:
    """What the page shows: the open promise, else (if offered) the window a day may be picked in."""

    window: PromiseWindow | None
    open: PromiseRecord | None
    broken: PromiseRecord | None

    @property
    def offered(self) -> bool:
        return self.window is not None and self.open is None and self.broken is None


def _window(workspace: Workspace, case: PromiseCaseRecord, today: date) -> PromiseWindow:
    kind = DebtorType.BUSINESS if case.debtor_type == "company" else DebtorType.CONSUMER
    country = case.country or workspace.config.creditor.address.country
    law = select_pack(country, kind).plan_law()
    return promise_window(today, max_days=workspace.config.paypage.promise.max_days, law=law)


def promise_offer(store: Store, workspace: Workspace, case_id: int, today: date) -> PromiseOffer:
    """The promise part of the page of ``case_id`` on ``today``."""
    with store.begin() as conn:
        return promise_offer_in(conn, workspace, case_id, today)


def promise_offer_in(
    conn: Connection, workspace: Workspace, case_id: int, today: date, flags: PageFlags = ALL
) -> PromiseOffer:
    """:func:`promise_offer` in the caller's transaction ``conn`` (the landing page reads its parts in one).

    ``flags``: read in ``conn`` (:func:`~dunning.store.page_flags.load_page_flags`); a case with no promise
    event has no promises to read.
    """
    case = load_promise_cases(conn, [case_id]).get(case_id)
    promises = load_promises(conn, [case_id]) if flags.promises else []
    if case is None:
        raise NotFound("the pay link's case is not in this workspace")
    open_ = next((p for p in promises if p.status is PromiseStatus.OPEN), None)
    broken = next((p for p in reversed(promises) if p.status is PromiseStatus.BROKEN), None)
    offered = workspace.config.paypage.promise.enabled and case.status in _PROMISABLE
    return PromiseOffer(_window(workspace, case, today) if offered else None, open_, broken)


def make_promise(
    store: Store, workspace: Workspace, case_id: int, day: date | None, *, today: date, recorded_at: datetime
) -> PromiseRecord:
    """Record the debtor's promise to pay ``case_id`` by ``day``; :class:`PromiseRefused` says why not."""
    settings = workspace.config.paypage.promise
    if not settings.enabled:
        raise PromiseRefused("disabled")
    try:
        return _make(store, workspace, case_id, day, today, recorded_at)
    except IntegrityError:  # the same promise posted twice at once: the first one stands
        raise PromiseRefused("already") from None


def _make(
    store: Store, workspace: Workspace, case_id: int, day: date | None, today: date, recorded_at: datetime
) -> PromiseRecord:
    grace = workspace.config.paypage.promise.grace_days
    with store.begin() as conn:
        case = load_promise_cases(conn, [case_id]).get(case_id)
        if case is None:
            raise NotFound("the pay link's case is not in this workspace")
        if case.status not in _PROMISABLE:
            raise PromiseRefused("closed")
        promises = load_promises(conn, [case_id])
        if any(p.status is PromiseStatus.OPEN for p in promises):
            raise PromiseRefused("already")
        if any(p.status is PromiseStatus.BROKEN for p in promises):
            raise PromiseRefused("broken")
        window = _window(workspace, case, today)
        why = check_day(day, window)
        if why is not None or day is None:
            raise PromiseRefused(why or "missing", window)
        source = next_promise_source(conn, case_id)
        until = hold_until(day, grace_days=grace)
        insert_promise(
            conn,
            case_id=case_id,
            source=source,
            made_on=today,
            promised=day,
            grace_days=grace,
            until=until,
            via="pay page",
            recorded_at=recorded_at,
        )
    return PromiseRecord(case_id, source, today, day, grace, until, PromiseStatus.OPEN, None)
