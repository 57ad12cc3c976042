"""The nightly run: plan every due action of every case as of a date, exactly once.

``run_night(store, flows, run_date)`` reads each open case from the store into a
:class:`~dunning.domain.planning.case_state.CaseState`, asks the pure planner what is due,
and records the planned actions under their idempotency keys in one transaction.
Because the recorded actions are fed back to the planner as history, running the
same date twice adds nothing, and a run after missed nights catches up (the
planner spaces the overdue contacts over the following nights).

Actions that need a channel (letter, email, SMS, webhook, export) are recorded
as ``planned``; the channel stages render and deliver them and record what
became of them. Tasks for a person (a manual review, a phone call) are recorded
as ``planned`` too, i.e. open, and only a person closes them
(:mod:`dunning.usecases.planning.tasks`). Actions without a channel take effect here: fees and
interest are added to the case, holds are placed and released, a write-off closes
the case. A payment waiting in the review queue holds every case it may pay (no fee, interest
or reminder; the timeline says why) until a person decides; a principal left open within the
write-off tolerance (``bank.tolerance``) is never dunned. A fee set on a message is added when
the message goes out (the channel stage books it; each run books any it missed and takes back those of messages
that failed since: :mod:`dunning.usecases.outgoing.fees`).

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

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Connection

from dunning.domain.legal import pack_selector
from dunning.domain.legal.base import DebtorType
from dunning.domain.legal.rates import RateTable
from dunning.domain.paylink import REVOKING_ACTIONS
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
from dunning.domain.planning.flow_set import FlowSet, load_flow_set
from dunning.domain.planning.flows import Problem
from dunning.domain.planning.migration import migrate_case
from dunning.domain.planning.pacing import TASK_ACTIONS
from dunning.domain.planning.plan import CasePlan, PlannedAction
from dunning.domain.planning.planner import plan_case
from dunning.domain.plans.policy import PlanPolicy
from dunning.domain.writeoff import WriteOffTolerance
from dunning.errors import FlowError
from dunning.jsonable import jsonable
from dunning.store import Store
from dunning.store.actions import (
    ActionHistoryRecord,
    NewActionRecord,
    insert_actions,
    insert_hold,
    load_action_history,
    load_first_notice_dates,
    load_holds,
    release_holds,
)
from dunning.store.cases import (
    CasePlanUpdate,
    NewCaseEvent,
    PlannableCaseRecord,
    add_case_fee,
    add_case_interest,
    insert_case_events,
    load_all_open_invoices,
    load_events_of_kinds,
    load_plannable_cases,
    load_regular_supply_items,
    update_case_plans,
    update_case_stages,
    write_off_case,
)
from dunning.store.locks import holding_stage_lock
from dunning.store.plan_freeze import load_frozen_spans
from dunning.store.review import PaymentInReview, load_payments_in_review
from dunning.store.revocations import revoke_case_links
from dunning.store.runs import insert_run, load_last_run_before
from dunning.store.visits import load_payment_days, load_visits_since
from dunning.usecases.outgoing.fees import MESSAGE_CHANNELS, settle_message_fees
from dunning.usecases.outgoing.legal import announced_costs, deadline_floor
from dunning.usecases.planning.promises import promise_night
from dunning.usecases.plans.bot import run_plan_bot

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


def load_flows(folder: Path) -> tuple[FlowSet, list[Problem]]:
    """Every ``*.yaml`` flow file of ``folder`` (and the assignment rules); bad files are reported."""
    if not folder.is_dir():
        raise FlowError(f"{folder}: no flows folder; set 'flows:' in dunning.yaml")
    documents: dict[str, Any] = {}
    problems: list[Problem] = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            documents[str(path)] = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(Problem(str(path), "", f"cannot read the flow file: {exc}"))
    flow_set, found = load_flow_set(documents)
    return flow_set, problems + found


@dataclass(frozen=True)
class RunResult:
    """What a run planned (or, for a dry run, would plan)."""

    run_date: date
    dry_run: bool
    cases_seen: int
    planned: tuple[dict[str, Any], ...]
    statuses: dict[str, int]
    warnings: tuple[str, ...] = ()
    previous: dict[str, Any] | None = None
    errors: tuple[str, ...] = field(default=())
    plan_bot: dict[str, Any] = field(default_factory=dict)  # what the plan bot did (dunning.usecases.plans.bot)

    @property
    def by_action(self) -> dict[str, int]:
        return dict(sorted(Counter(a["action"] for a in self.planned).items()))

    @property
    def by_channel(self) -> dict[str, int]:
        return dict(sorted(Counter(a["channel"] or "none" for a in self.planned).items()))

    def summary(self) -> dict[str, Any]:
        previous = self.previous or {}
        before = previous.get("by_action", {})
        changes = {
            name: self.by_action.get(name, 0) - before.get(name, 0)
            for name in sorted(set(before) | set(self.by_action))
            if self.by_action.get(name, 0) != before.get(name, 0)
        }
        return {
            "run_date": self.run_date.isoformat(),
            "dry_run": self.dry_run,
            "cases": self.cases_seen,
            "new_actions": len(self.planned),
            "by_action": self.by_action,
            "by_channel": self.by_channel,
            "case_status": dict(sorted(self.statuses.items())),
            "previous_run": previous.get("run_date"),
            "change_since_previous_run": changes,
            "warnings": len(self.warnings),
            "errors": list(self.errors),
            "plan_bot": self.plan_bot,
        }


# ---- reading case states -----------------------------------------------------------------------

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


def _review_hold_events(
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


# ---- recording the plan ------------------------------------------------------------------------

#: channels whose actions wait for a later stage (render, dispatch, a person); others take effect now
DEFERRED_CHANNELS = frozenset({"letter", "registered_letter", "email", "sms", "phone", "webhook", "export"})


def _new_action(action: PlannedAction, run_date: date, recorded_at: datetime) -> NewActionRecord:
    figures = [
        {
            "name": f.name,
            "amount": None if f.amount is None else str(f.amount),
            "explanation": f.explanation,
            "source": f.source,
        }
        for f in action.figures
    ]
    return NewActionRecord(
        idempotency_key=action.key,
        case_id=int(action.case_id),
        run_date=run_date,
        due_on=action.planned_on,
        action=action.action,
        channel=action.channel,
        step=action.step_key,
        # a task stays open (planned) until a person closes it: the machine never marks it done
        status="planned" if action.channel in DEFERRED_CHANNELS or action.action in TASK_ACTIONS else "done",
        amount=action.amount,
        settings=jsonable(dict(action.settings)),
        reason=action.reason,
        recorded_at=recorded_at,
        flow=action.flow,
        flow_version=action.version,
        cycle=action.cycle,
        fallback_depth=action.fallback_depth,
        contact=action.contact,
        replaces=action.replaces,
        detail={
            "rules": list(action.rules),
            "figures": figures,
            "earliest_legal_date": action.earliest_legal_date.isoformat() if action.earliest_legal_date else None,
            "required_fields": list(action.required_fields),
            # interest per invoice (base, period, rate per stretch): the letter explains the amount with it
            **({"interest": _interest_breakdown(action)} if action.interest else {}),
            # a message's own fee: the letter shows it (booked to the case once the message goes out)
            **({"fee": str(action.amount)} if action.amount and action.channel in MESSAGE_CHANNELS else {}),
        },
    )


def _interest_breakdown(action: PlannedAction) -> list[dict[str, Any]]:
    return [
        {"invoice": invoice, "base": str(result.principal), "start": result.start.isoformat(),
         "end": result.end.isoformat(), "total": str(result.total),
         "segments": [{"start": seg.start.isoformat(), "end": seg.end.isoformat(), "days": seg.days,
                       "rate": str(seg.rate), "amount": str(seg.amount)} for seg in result.segments]}
        for invoice, result in action.interest
    ]


def _case_status(plan: CasePlan, row: PlannableCaseRecord) -> str:
    if row.status == "closed":
        return "closed"
    if plan.status == "held":
        return "on_hold"
    return "open"


def _stage(plan: CasePlan, state: CaseState, row: PlannableCaseRecord) -> str:
    steps = [h.step_key for h in state.history if h.cycle == state.cycle] + [a.step_key for a in plan.actions]
    if row.status == "closed" and plan.next_date is None:
        return "finished"
    if plan.status in ("stopped", "finished", "held") and not plan.actions:
        return plan.status
    return steps[-1] if steps else "new"


def _apply_effects(conn: Connection, action: PlannedAction, run_date: date, recorded_at: datetime) -> None:
    """What an action without a channel does to the case, here and now."""
    case_id = int(action.case_id)
    spec = CATALOGUE.get(action.action)
    if spec is not None and spec.charges == "fee" and action.amount:
        add_case_fee(conn, case_id, action.amount)
    elif spec is not None and spec.charges == "interest" and action.amount:
        add_case_interest(conn, case_id, action.amount)
    if action.action == "hold":
        settings = action.settings
        days = settings.get("days")
        insert_hold(
            conn,
            case_id,
            kind=str(settings.get("kind") or "manual"),
            reason=str(settings.get("reason") or action.reason),
            start=action.planned_on,
            until=action.planned_on + timedelta(days=int(days)) if days else None,
            source=action.key,
        )
    elif action.action == "resume":
        release_holds(conn, case_id, run_date)
    elif action.action == "write_off":
        write_off_case(conn, case_id, run_date)
        revoke_case_links(conn, case_id, reason=REVOKING_ACTIONS["write_off"], by="dunning", on=run_date,
                          at=recorded_at, source=f"run:{action.key}")


def _listed(state: CaseState, action: PlannedAction) -> dict[str, Any]:
    """A planned action as the run's listing shows it (``dunning run`` prints these)."""
    return {
        "case": int(action.case_id),
        "debtor_id": state.debtor.id,
        "action": action.action,
        "channel": action.channel,
        "step": action.step_key,
        "due_on": action.planned_on.isoformat(),
        "amount": None if action.amount is None else str(action.amount),
        "reason": action.reason,
        "key": action.key,
    }


def _record_plan(
    conn: Connection,
    new_actions: list[PlannedAction],
    plans: list[tuple[CaseState, CasePlan]],
    cases_by_id: dict[str, PlannableCaseRecord],
    run_date: date,
    recorded_at: datetime,
) -> None:
    """Record the new actions (those without a channel take effect now) and where each case now stands."""
    if new_actions:
        insert_actions(conn, [_new_action(action, run_date, recorded_at) for action in new_actions])
        for action in new_actions:
            if action.channel not in DEFERRED_CHANNELS:
                _apply_effects(conn, action, run_date, recorded_at)
    updates = [
        CasePlanUpdate(
            case_id=int(state.case_id),
            flow=state.flow,
            flow_version=state.version,
            stage=_stage(plan, state, cases_by_id[state.case_id]),
            next_action_on=plan.next_date,
            status=_case_status(plan, cases_by_id[state.case_id]),
        )
        for state, plan in plans
    ]
    update_case_plans(conn, [u for u in updates if cases_by_id[str(u.case_id)].status != "closed"])
    # A closed case keeps its status; only its stage moves (to "finished" once nothing is left).
    update_case_stages(conn, [(u.case_id, u.stage) for u in updates if cases_by_id[str(u.case_id)].status == "closed"])


@holding_stage_lock("run")
def run_night(
    store: Store,
    flows: FlowSet,
    run_date: date,
    *,
    creditor_country: str,
    creditor_language: str = "en",
    dry_run: bool = False,
    recorded_at: datetime | None = None,
    progress: Callable[[Iterable[CaseState], int], Iterable[CaseState]] | None = None,
    rates: Mapping[str, RateTable] | None = None,
    write_off: WriteOffTolerance | None = None,
    timezone: str = "UTC",
    plan_policy: PlanPolicy | None = None,
) -> RunResult:
    """Plan every action due on ``run_date`` and record it (nothing is written on a dry run).

    ``rates``: the interest-rate tables by key (the workspace's ``rates.yaml`` merged in, see
    :func:`dunning.usecases.planning.rates.workspace_rates`); None: the built-in tables.
    ``write_off``: the write-off tolerance (``bank.tolerance``): a case whose principal left open is
    at or below its currency's is paid, never dunned. None: nothing is written off.
    ``timezone``: the creditor's (``creditor.timezone``): a pay-page visit's hours count in it.
    ``plan_policy``: the workspace's ``plans:`` policy; the plan bot (:mod:`dunning.usecases.plans.bot`)
    runs first, so a plan that breaks tonight lets its flow resume tonight. None: the default policy.
    """
    write_off = write_off or WriteOffTolerance()
    recorded_at = recorded_at or datetime.now(UTC)
    select_pack = pack_selector(rates)
    with store.begin() as conn:
        # Message fees: booked when sent by the channel stages; catch up and take back failed ones.
        settle_message_fees(conn, on_date=run_date, recorded_at=recorded_at)
        bot = run_plan_bot(conn, run_date, plan_policy or PlanPolicy(), recorded_at=recorded_at)
        reminders = promise_night(conn, run_date, recorded_at)  # promises kept or broken, reminders the day before
        states, case_records = read_states(conn, flows, creditor_country, creditor_language, run_date, timezone)
        existing = {h.key for state in states for h in state.history}
        planned: list[tuple[CaseState, CasePlan, PlannedAction]] = []
        plans: list[tuple[CaseState, CasePlan]] = []
        warnings: list[str] = []
        errors: list[str] = []
        iterable: Iterable[CaseState] = progress(states, len(states)) if progress else states
        for original in iterable:
            state = migrate_case(original, flows)
            state = replace(state, write_off_tolerance=write_off.of(state.currency))
            flow = flows.get(state.flow, state.version)
            if flow is None:
                errors.append(f"case {state.case_id}: unknown flow {state.flow}@{state.version}")
                continue
            plan = plan_case(state, flow, run_date, select_pack(state.debtor.country, state.debtor.type))
            plans.append((state, plan))
            warnings.extend(f"case {state.case_id}: {w}" for w in plan.warnings)
            planned.extend((state, plan, a) for a in plan.actions if a.key not in existing)
        statuses = Counter(plan.status for _, plan in plans)
        listing = (*reminders, *(_listed(state, action) for state, _plan, action in planned))
        last_run = load_last_run_before(conn, run_date)
        previous = None if last_run is None else last_run.summary
        result = RunResult(
            run_date, dry_run, len(states), listing, dict(statuses), tuple(warnings), previous, tuple(errors),
            bot.summary(),
        )
        if dry_run:
            conn.rollback()
            return result
        _record_plan(conn, [action for _, _, action in planned], plans, case_records, run_date, recorded_at)
        _review_hold_events(conn, plans, run_date, recorded_at)
        insert_run(conn, run_date, result.summary(), recorded_at)
    return result
