"""What the nightly run reads of each case: its state as the pure planner sees it.

:func:`read_states` turns each plannable case of the store into a
:class:`~dunning.domain.planning.case_state.CaseState`: the debtor, the open invoices, the
action history of the case's cycle, holds, the events the planner reacts to, pay-page visits,
plan freezes and the regular-supply reminders already counted. A payment waiting in the review
queue holds every case it may pay (:func:`review_hold`); :func:`review_hold_events` tells each
held case's timeline why, once per review item.

Legal periods count from the day a message really went out: the history the
planner reads dates each sent message with the print house's posting date (the
``letter_posted`` event of an acknowledgement), else the day it was handed to the
print house or accepted by the mail server (``outcome_on``); a legal notice not
gone out yet keeps the costs that wait for its period waiting. The same real
dates pace a catch-up (:mod:`dunning.domain.planning.pacing`): each step counts its
days from the day the previous one really happened, an escalation waits until
every deadline given has passed, and a flow waits at an open task.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from dunning.domain.legal.base import DebtorType
from dunning.domain.planning.actions import CATALOGUE
from dunning.domain.planning.assignment import assign_flow
from dunning.domain.planning.case_state import (
    REVIEW_HOLD_EVENT,
    CaseEvent,
    CaseState,
    Debtor,
    HistoryEntry,
    Hold,
    HoldKind,
    OpenInvoice,
    Outcome,
    Visit,
)
from dunning.domain.planning.flow_set import FlowSet
from dunning.domain.planning.plan import CasePlan
from dunning.store.actions import (
    ActionHistoryRecord,
    load_action_history,
    load_first_notice_dates,
    load_holds,
)
from dunning.store.cases import (
    NewCaseEvent,
    PlannableCaseRecord,
    insert_case_events,
    load_all_open_invoices,
    load_events_of_kinds,
    load_plannable_cases,
    load_regular_supply_items,
)
from dunning.store.plan_freeze import load_frozen_spans
from dunning.store.review import PaymentInReview, load_payments_in_review
from dunning.store.visits import load_payment_days, load_visits_since
from dunning.usecases.outgoing.legal import announced_costs, deadline_floor

#: case events the planner reacts to (fallbacks and follow-ups)
PLANNER_EVENTS = (
    "delivery_failed",
    "pay_page_visit",
    "promise_broken",
    "contact_data_received",
    "contact_confirmed",
    "dispute_opened",
)
#: how far back the night reads pay-page visits (a flow step lasts less; older visits follow up nothing)
VISIT_WINDOW = timedelta(days=120)
ZERO = Decimal("0.00")
#: channels whose actions wait for a later stage (render, dispatch, a person); others take effect now
DEFERRED_CHANNELS = frozenset({"letter", "registered_letter", "email", "sms", "phone", "webhook", "export"})


_OUTCOMES = {o.value: o for o in Outcome}


def _debtor(row: PlannableCaseRecord, creditor_country: str, creditor_language: str) -> Debtor:
    return Debtor(
        id=row.debtor_external_id,
        type=DebtorType.BUSINESS if row.debtor_type == "company" else DebtorType.CONSUMER,
        country=(row.country or creditor_country).upper(),
        language=row.language or creditor_language,
        segment=row.segment or "",
        has_email=bool(row.email) and not row.email_invalid,
        has_phone=bool(row.phone),
        has_address=bool(row.street and row.postal_code and row.city),
        preferred_channel=row.preferred_channel or "",
    )


_NOTICES = tuple(name for name, spec in CATALOGUE.items() if spec.legal_notice)
_NOT_SENT = ("failed", "bounced", "returned", "cancelled")


def _supply_reminded(conn: Connection) -> dict[int, list[tuple[int, date]]]:
    """Per debtor, (case id, due date) of the regular-supply items each case's first reminder was for.

    A case's first reminder (its earliest legal notice not failed or cancelled) was for the case's
    regular-supply items that were overdue and still unpaid that day. Book XIX counts these due
    dates per calendar year; the planner adds those of the debtor's *other* cases to a case.
    """
    items = load_regular_supply_items(conn)
    if not items:  # creditors without regular-supply contracts pay nothing for the rule
        return {}
    first_notice = load_first_notice_dates(conn, _NOTICES, _NOT_SENT)
    reminded: dict[int, list[tuple[int, date]]] = defaultdict(list)
    for item in items:
        notice_on = first_notice.get(item.case_id)
        if notice_on is None or item.due_date >= notice_on:
            continue
        if item.closed_on is not None and item.closed_on <= notice_on:
            continue  # paid or settled before the reminder: it was not for this item
        reminded[item.debtor_id].append((item.case_id, item.due_date))
    return reminded


#: action statuses of a message that went out (a letter handed to the print house, an email accepted,
#: a notice exported to the creditor's system)
_WENT_OUT = ("sent", "delivered", "done")


def _posting_dates(conn: Connection) -> dict[str, date]:
    """The print house's posting date of each acknowledged letter, by action key (``letter_posted`` events).

    A letter's legal periods count from the day it was posted, which the acknowledgement tells;
    before that, from the day it was handed to the print house (the action's ``outcome_on``).
    """
    dates: dict[str, date] = {}
    for event in load_events_of_kinds(conn, ("letter_posted",)):
        ref = event.detail.get("ref")
        if ref and (ref not in dates or event.on_date < dates[ref]):
            dates[ref] = event.on_date
    return dates


def _went_out_on(act: ActionHistoryRecord, posted: dict[str, date]) -> date:
    """The day a sent message went out: its posting date (never before it was handed over), else the
    day it was handed to the print house or accepted by the mail server, else its planned day."""
    handed = act.outcome_on or act.due_on
    on_post = posted.get(act.idempotency_key)
    return handed if on_post is None else max(on_post, handed)


def _case_visits(conn: Connection, wanted: set[int], run_date: date, zone: ZoneInfo) -> dict[int, list[Visit]]:
    """The recent pay-page visits of the cases, in the creditor's local time (the planner's dates are local)."""
    since = datetime.combine(run_date - VISIT_WINDOW, time(0), tzinfo=UTC)
    found: dict[int, list[Visit]] = defaultdict(list)
    for record in load_visits_since(conn, since):
        if record.case_id in wanted:
            at = record.visited_at if record.visited_at.tzinfo else record.visited_at.replace(tzinfo=UTC)
            found[record.case_id].append(Visit(at.astimezone(zone).replace(tzinfo=None), record.medium))
    return found


def read_states(
    conn: Connection,
    flows: FlowSet,
    creditor_country: str,
    creditor_language: str,
    run_date: date | None = None,
    timezone: str = "UTC",
) -> tuple[list[CaseState], dict[str, PlannableCaseRecord]]:
    """Every plannable case as a CaseState, and its store record by case id (as a string).

    With ``run_date``, the cases' recent pay-page visits (local time in ``timezone``) and the day of
    their last payment come too (a flow's ``visit_without_payment``).
    """
    plannable = load_plannable_cases(conn)
    wanted = {row.id for row in plannable}
    visits = _case_visits(conn, wanted, run_date, ZoneInfo(timezone)) if run_date is not None else {}
    paid_on = load_payment_days(conn, visits)
    open_items: dict[int, list[OpenInvoice]] = defaultdict(list)
    for inv in load_all_open_invoices(conn):
        if inv.case_id is not None and inv.case_id in wanted:
            open_items[inv.case_id].append(
                OpenInvoice(
                    inv.external_id,
                    inv.due_date,
                    inv.open_amount,
                    inv.original_amount or inv.open_amount,
                    bool(inv.regular_supply),
                )
            )
    supply_reminded = _supply_reminded(conn)
    posted = _posting_dates(conn)
    history: dict[int, list[HistoryEntry]] = defaultdict(list)
    for act in load_action_history(conn):
        if act.case_id in wanted:
            went_out = act.status in _WENT_OUT and act.channel in DEFERRED_CHANNELS
            history[act.case_id].append(
                HistoryEntry(
                    key=act.idempotency_key,
                    step_key=act.step or "",
                    action=act.action,
                    on=act.due_on,
                    outcome=_OUTCOMES.get(act.status, Outcome.PLANNED),
                    channel=act.channel,
                    flow=act.flow or "",
                    version=act.flow_version or 0,
                    cycle=act.cycle,
                    fallback_depth=act.fallback_depth,
                    amount=act.amount,
                    outcome_on=act.outcome_on,
                    sent_on=_went_out_on(act, posted) if went_out else None,
                    legal_notice=bool((act.detail or {}).get("required_fields")),
                    deadline_floor=deadline_floor(act.detail),
                    announced_costs=announced_costs(act.detail),
                )
            )
    case_holds: dict[int, list[Hold]] = defaultdict(list)
    for hold in load_holds(conn):
        if hold.case_id in wanted:
            case_holds[hold.case_id].append(
                Hold(HoldKind(hold.kind), hold.reason, hold.start, hold.until, hold.released_on)
            )
    for waiting in load_payments_in_review(conn):
        if waiting.case_id in wanted:
            case_holds[waiting.case_id].append(review_hold(waiting))
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in load_events_of_kinds(conn, PLANNER_EVENTS):
        if event.case_id in wanted:
            events[event.case_id].append(CaseEvent(event.kind, event.on_date, str(event.id), event.detail.get("ref")))
    frozen = load_frozen_spans(conn, wanted)
    states: list[CaseState] = []
    by_id: dict[str, PlannableCaseRecord] = {}
    for row in plannable:
        debtor = _debtor(row, creditor_country, creditor_language)
        items = tuple(sorted(open_items.get(row.id, ()), key=lambda i: (i.due_date, i.id)))
        reminded = tuple(sorted({due for case_id, due in supply_reminded.get(row.debtor_id, ()) if case_id != row.id}))
        state = CaseState(
            case_id=str(row.id),
            debtor=debtor,
            currency=row.currency,
            invoices=items,
            flow=row.flow or "",
            version=row.flow_version or 0,
            history=tuple(history.get(row.id, ())),
            holds=tuple(case_holds.get(row.id, ())),
            events=tuple(events.get(row.id, ())),
            regular_supply_reminded=reminded,
            visits=tuple(visits.get(row.id, ())),
            last_payment_on=paid_on.get(row.id),
            interest_frozen=frozen.get(row.id, ()),
        )
        if row.flow is None:
            # A case is pinned to the latest version of the flow its debtor is assigned to when first planned.
            total = sum((i.open_amount for i in items), ZERO)
            flow_name = (
                assign_flow(flows.assignment, debtor, total, state.regular_supply) if flows.assignment else "default"
            )
            latest = flows.latest(flow_name)
            state = replace(state, flow=flow_name, version=(latest.version if latest else 0) or 0)
        states.append(state)
        by_id[str(row.id)] = row
    return states, by_id


def review_hold(waiting: PaymentInReview) -> Hold:
    """The hold a payment waiting in review puts on a case it may pay: it lasts while the item is open.

    Derived from the open review items each night, never stored: accepting, rejecting or cancelling
    the item lifts it, whichever way it is decided.
    """
    day = waiting.booking_date or waiting.recorded_on
    reason = (
        f"payment of {waiting.amount} {waiting.currency} on {day.isoformat()} waiting in review "
        f"(item {waiting.item_id})"
    )
    return Hold(HoldKind.PAYMENT_IN_REVIEW, reason, min(day, waiting.recorded_on))


def review_hold_events(
    conn: Connection, plans: list[tuple[CaseState, CasePlan]], run_date: date, recorded_at: datetime
) -> None:
    """Tell each held case's timeline why, once per review item: the night adds nothing while it waits."""
    held = {int(state.case_id) for state, plan in plans if plan.status == "held"}
    told = {(event.case_id, event.detail.get("item")) for event in load_events_of_kinds(conn, (REVIEW_HOLD_EVENT,))}
    new: list[NewCaseEvent] = []
    for waiting in load_payments_in_review(conn):
        hold = review_hold(waiting)
        if waiting.case_id not in held or (waiting.case_id, waiting.item_id) in told or not hold.active_on(run_date):
            continue
        new.append(
            NewCaseEvent(
                case_id=waiting.case_id,
                on_date=run_date,
                kind=REVIEW_HOLD_EVENT,
                detail={
                    "item": waiting.item_id,
                    "reason": f"held: {hold.reason}; no fee, interest or reminder until it is decided",
                },
                source=f"review:{waiting.item_id}",
                recorded_at=recorded_at,
            )
        )
    insert_case_events(conn, new)
