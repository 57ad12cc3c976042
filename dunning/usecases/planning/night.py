"""The nightly run: plan every due action of every case as of a date, exactly once.

``run_night(store, flows, run_date)`` reads each open case from the store into a
:class:`~dunning.domain.planning.case_state.CaseState`, asks the pure planner what is due,
and records the planned actions under their idempotency keys in one transaction.
Because the recorded actions are fed back to the planner as history, running the
same date twice adds nothing, and a run after missed nights catches up (the
planner spaces the overdue contacts over the following nights).

Actions that need a channel (letter, email, SMS, phone task, webhook, export)
are recorded as ``planned``; the channel stages render and deliver them and
record what became of them. Actions without a channel take effect here: fees and
interest are added to the case, holds are placed and released, a write-off closes
the case. A fee set on a message is added when the message goes out (the channel
stage books it; each run books any it missed and takes back those of messages
that failed since: :mod:`dunning.usecases.outgoing.fees`).

Legal periods count from the day a message really went out: the history the
planner reads dates each sent message with the print house's posting date (the
``letter_posted`` event of an acknowledgement), else the day it was handed to the
print house or accepted by the mail server (``outcome_on``); a legal notice not
gone out yet keeps the costs that wait for its period waiting.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from dunning.domain.legal import pack_selector
from dunning.domain.legal.base import DebtorType
from dunning.domain.legal.rates import RateTable
from dunning.domain.planning.actions import CATALOGUE
from dunning.domain.planning.case_state import (
    CaseEvent,
    CaseState,
    Debtor,
    HistoryEntry,
    Hold,
    HoldKind,
    OpenInvoice,
    Outcome,
)
from dunning.domain.planning.flows import FlowSet, Problem, assign_flow, load_flow_set
from dunning.domain.planning.planner import CasePlan, PlannedAction, migrate_case, plan_case
from dunning.errors import FlowError
from dunning.jsonable import jsonable
from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, debtors, holds, invoices, runs
from dunning.usecases.outgoing.fees import MESSAGE_CHANNELS, settle_message_fees

#: case events the planner reacts to (fallbacks and follow-ups)
PLANNER_EVENTS = ("delivery_failed", "pay_page_visit", "promise_broken", "contact_data_received")
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
        }


# ---- reading case states -----------------------------------------------------------------------

_OUTCOMES = {o.value: o for o in Outcome}


def _debtor(row: Any, creditor_country: str, creditor_language: str) -> Debtor:
    return Debtor(
        id=row.debtor_external_id,
        type=DebtorType.BUSINESS if row.debtor_type == "company" else DebtorType.CONSUMER,
        country=(row.country or creditor_country).upper(),
        language=row.language or creditor_language,
        segment=row.segment or "",
        has_email=bool(row.email) and not row.email_invalid,
        has_phone=bool(row.phone),
        has_address=bool(row.street and row.postal_code and row.city),
    )


def _case_rows(conn: Connection) -> list[Any]:
    """Open and held cases, and closed ones that had dunning and may still get their thank-you."""
    query = (
        select(
            cases,
            debtors.c.external_id.label("debtor_external_id"),
            debtors.c.debtor_type,
            debtors.c.country,
            debtors.c.language,
            debtors.c.segment,
            debtors.c.email,
            debtors.c.email_invalid,
            debtors.c.phone,
            debtors.c.street,
            debtors.c.postal_code,
            debtors.c.city,
        )
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(
            or_(
                cases.c.status.in_(("open", "on_hold")),
                and_(cases.c.status == "closed", cases.c.stage.notin_(("new", "finished"))),
            )
        )
        .order_by(cases.c.id)
    )
    return list(conn.execute(query))


_NOTICES = tuple(name for name, spec in CATALOGUE.items() if spec.legal_notice)
_NOT_SENT = ("failed", "bounced", "returned", "cancelled")


def _supply_reminded(conn: Connection) -> dict[int, list[tuple[int, date]]]:
    """Per debtor, (case id, due date) of the regular-supply items each case's first reminder was for.

    A case's first reminder (its earliest legal notice not failed or cancelled) was for the case's
    regular-supply items that were overdue and still unpaid that day. Book XIX counts these due
    dates per calendar year; the planner adds those of the debtor's *other* cases to a case.
    """
    items = list(
        conn.execute(
            select(invoices.c.case_id, invoices.c.debtor_id, invoices.c.due_date, invoices.c.closed_on).where(
                invoices.c.regular_supply.is_(True), invoices.c.case_id.is_not(None)
            )
        )
    )
    if not items:  # creditors without regular-supply contracts pay nothing for the rule
        return {}
    first_notice = dict(
        conn.execute(
            select(actions.c.case_id, func.min(actions.c.due_on))
            .where(actions.c.action.in_(_NOTICES), actions.c.status.notin_(_NOT_SENT))
            .group_by(actions.c.case_id)
        ).all()
    )
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
    query = select(case_events.c.on_date, case_events.c.detail).where(case_events.c.kind == "letter_posted")
    for on_date, detail in conn.execute(query):
        ref = (detail or {}).get("ref")
        if ref and (ref not in dates or on_date < dates[ref]):
            dates[ref] = on_date
    return dates


def _went_out_on(act: Any, posted: dict[str, date]) -> date:
    """The day a sent message went out: its posting date (never before it was handed over), else the
    day it was handed to the print house or accepted by the mail server, else its planned day."""
    handed: date = act.outcome_on or act.due_on
    on_post = posted.get(act.idempotency_key)
    return handed if on_post is None else max(on_post, handed)


def read_states(
    conn: Connection, flows: FlowSet, creditor_country: str, creditor_language: str
) -> tuple[list[CaseState], dict[str, Any]]:
    """Every plannable case as a CaseState, and its store row by case id (as a string)."""
    rows = _case_rows(conn)
    wanted = {row.id for row in rows}
    open_items: dict[int, list[OpenInvoice]] = defaultdict(list)
    for inv in conn.execute(
        select(
            invoices.c.case_id,
            invoices.c.external_id,
            invoices.c.due_date,
            invoices.c.open_amount,
            invoices.c.original_amount,
            invoices.c.regular_supply,
        ).where(invoices.c.status == "open")
    ):
        if inv.case_id in wanted:
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
    for act in conn.execute(select(actions)):
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
                )
            )
    case_holds: dict[int, list[Hold]] = defaultdict(list)
    for hold in conn.execute(select(holds)):
        if hold.case_id in wanted:
            case_holds[hold.case_id].append(
                Hold(HoldKind(hold.kind), hold.reason, hold.start, hold.until, hold.released_on)
            )
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in conn.execute(select(case_events).where(case_events.c.kind.in_(PLANNER_EVENTS))):
        if event.case_id in wanted:
            events[event.case_id].append(
                CaseEvent(event.kind, event.on_date, str(event.id), (event.detail or {}).get("ref"))
            )
    states: list[CaseState] = []
    by_id: dict[str, Any] = {}
    for row in rows:
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


# ---- recording the plan ------------------------------------------------------------------------

#: channels whose actions wait for a later stage (render, dispatch, a person); others take effect now
DEFERRED_CHANNELS = frozenset({"letter", "registered_letter", "email", "sms", "phone", "webhook", "export"})


def _action_row(action: PlannedAction, run_date: date, recorded_at: datetime) -> dict[str, Any]:
    figures = [
        {
            "name": f.name,
            "amount": None if f.amount is None else str(f.amount),
            "explanation": f.explanation,
            "source": f.source,
        }
        for f in action.figures
    ]
    return {
        "idempotency_key": action.key,
        "case_id": int(action.case_id),
        "run_date": run_date,
        "due_on": action.planned_on,
        "action": action.action,
        "channel": action.channel,
        "step": action.step_key,
        "status": "planned" if action.channel in DEFERRED_CHANNELS else "done",
        "amount": action.amount,
        "settings": jsonable(dict(action.settings)),
        "reason": action.reason,
        "recorded_at": recorded_at,
        "flow": action.flow,
        "flow_version": action.version,
        "cycle": action.cycle,
        "fallback_depth": action.fallback_depth,
        "contact": action.contact,
        "replaces": action.replaces,
        "detail": {
            "rules": list(action.rules),
            "figures": figures,
            "earliest_legal_date": action.earliest_legal_date.isoformat() if action.earliest_legal_date else None,
            "required_fields": list(action.required_fields),
            # a message's own fee: the letter shows it (booked to the case once the message goes out)
            **({"fee": str(action.amount)} if action.amount and action.channel in MESSAGE_CHANNELS else {}),
        },
    }



def _case_status(plan: CasePlan, row: Any) -> str:
    if row.status == "closed":
        return "closed"
    if plan.status == "held":
        return "on_hold"
    return "open"


def _stage(plan: CasePlan, state: CaseState, row: Any) -> str:
    steps = [h.step_key for h in state.history if h.cycle == state.cycle] + [a.step_key for a in plan.actions]
    if row.status == "closed" and plan.next_date is None:
        return "finished"
    if plan.status in ("stopped", "finished", "held") and not plan.actions:
        return plan.status
    return steps[-1] if steps else "new"


def _apply_effects(conn: Connection, action: PlannedAction, run_date: date) -> None:
    """What an action without a channel does to the case, here and now."""
    case_id = int(action.case_id)
    spec = CATALOGUE.get(action.action)
    if spec is not None and spec.charges == "fee" and action.amount:
        conn.execute(update(cases).where(cases.c.id == case_id).values(fees_amount=cases.c.fees_amount + action.amount))
    elif spec is not None and spec.charges == "interest" and action.amount:
        conn.execute(
            update(cases).where(cases.c.id == case_id).values(interest_amount=cases.c.interest_amount + action.amount)
        )
    if action.action == "hold":
        settings = action.settings
        days = settings.get("days")
        conn.execute(
            insert(holds).values(
                case_id=case_id,
                kind=str(settings.get("kind") or "manual"),
                reason=str(settings.get("reason") or action.reason),
                start=action.planned_on,
                until=action.planned_on + timedelta(days=int(days)) if days else None,
                source=action.key,
            )
        )
    elif action.action == "resume":
        conn.execute(
            update(holds).where(holds.c.case_id == case_id, holds.c.released_on.is_(None)).values(released_on=run_date)
        )
    elif action.action == "write_off":
        conn.execute(
            update(cases)
            .where(cases.c.id == case_id)
            .values(status="closed", closed_on=run_date, close_reason="written_off", next_action_on=None)
        )


def _last_run(conn: Connection, before: date) -> dict[str, Any] | None:
    row = conn.execute(
        select(runs.c.summary).where(runs.c.run_date < before).order_by(runs.c.run_date.desc(), runs.c.id.desc())
    ).first()
    return dict(row.summary) if row else None


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
) -> RunResult:
    """Plan every action due on ``run_date`` and record it (nothing is written on a dry run).

    ``rates``: the interest-rate tables by key (the workspace's ``rates.yaml`` merged in, see
    :func:`dunning.usecases.planning.rates.workspace_rates`); None: the built-in tables.
    """
    recorded_at = recorded_at or datetime.now(UTC)
    select_pack = pack_selector(rates)
    with store.begin() as conn:
        # Message fees: booked when sent by the channel stages; catch up and take back failed ones.
        settle_message_fees(conn, on_date=run_date, recorded_at=recorded_at)
        states, rows = read_states(conn, flows, creditor_country, creditor_language)
        existing = {h.key for state in states for h in state.history}
        planned: list[tuple[CaseState, CasePlan, PlannedAction]] = []
        plans: list[tuple[CaseState, CasePlan]] = []
        warnings: list[str] = []
        errors: list[str] = []
        iterable: Iterable[CaseState] = progress(states, len(states)) if progress else states
        for original in iterable:
            state = migrate_case(original, flows)
            flow = flows.get(state.flow, state.version)
            if flow is None:
                errors.append(f"case {state.case_id}: unknown flow {state.flow}@{state.version}")
                continue
            plan = plan_case(state, flow, run_date, select_pack(state.debtor.country, state.debtor.type))
            plans.append((state, plan))
            warnings.extend(f"case {state.case_id}: {w}" for w in plan.warnings)
            planned.extend((state, plan, a) for a in plan.actions if a.key not in existing)
        statuses = Counter(plan.status for _, plan in plans)
        listing = tuple(
            {
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
            for state, _plan, action in planned
        )
        previous = _last_run(conn, run_date)
        result = RunResult(
            run_date, dry_run, len(states), listing, dict(statuses), tuple(warnings), previous, tuple(errors)
        )
        if dry_run:
            conn.rollback()
            return result
        if planned:
            rows_to_insert = [_action_row(action, run_date, recorded_at) for _, _, action in planned]
            for start in range(0, len(rows_to_insert), 10000):
                conn.execute(insert(actions), rows_to_insert[start : start + 10000])
            for _, _, action in planned:
                if action.channel not in DEFERRED_CHANNELS:
                    _apply_effects(conn, action, run_date)
        case_updates = []
        for state, plan in plans:
            row = rows[state.case_id]
            status = _case_status(plan, row)
            case_updates.append(
                {
                    "b_id": int(state.case_id),
                    "b_flow": state.flow,
                    "b_version": state.version,
                    "b_stage": _stage(plan, state, row),
                    "b_next": plan.next_date,
                    "b_status": status,
                }
            )
        open_updates = [u for u in case_updates if rows[str(u["b_id"])].status != "closed"]
        if open_updates:
            conn.execute(
                update(cases)
                .where(cases.c.id == bindparam("b_id"))
                .values(
                    flow=bindparam("b_flow"),
                    flow_version=bindparam("b_version"),
                    stage=bindparam("b_stage"),
                    next_action_on=bindparam("b_next"),
                    status=bindparam("b_status"),
                ),
                open_updates,
            )
        closed_updates = [u for u in case_updates if rows[str(u["b_id"])].status == "closed"]
        if closed_updates:
            # A closed case keeps its status; only its stage moves (to "finished" once nothing is left).
            conn.execute(
                update(cases).where(cases.c.id == bindparam("b_id")).values(stage=bindparam("b_stage")),
                [{"b_id": u["b_id"], "b_stage": u["b_stage"]} for u in closed_updates],
            )
        conn.execute(insert(runs).values(run_date=run_date, summary=result.summary(), recorded_at=recorded_at))
    return result
