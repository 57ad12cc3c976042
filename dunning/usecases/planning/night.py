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

What the planner is given of each case (its history with the real sending dates, holds, events,
visits) is read in :mod:`dunning.usecases.planning.case_states`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection

from dunning.domain.legal import pack_selector
from dunning.domain.legal.rates import RateTable
from dunning.domain.paylink import REVOKING_ACTIONS
from dunning.domain.planning.actions import CATALOGUE
from dunning.domain.planning.case_state import (
    CaseState,
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
    NewActionRecord,
    insert_actions,
    insert_hold,
    release_holds,
)
from dunning.store.cases import (
    CasePlanUpdate,
    PlannableCaseRecord,
    add_case_fee,
    add_case_interest,
    update_case_plans,
    update_case_stages,
    write_off_case,
)
from dunning.store.locks import holding_stage_lock
from dunning.store.revocations import revoke_case_links
from dunning.store.runs import insert_run, load_last_run_before
from dunning.usecases.outgoing.fees import MESSAGE_CHANNELS, settle_message_fees
from dunning.usecases.planning.case_states import DEFERRED_CHANNELS, read_states, review_hold_events
from dunning.usecases.planning.promises import promise_night
from dunning.usecases.plans.bot import run_plan_bot


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


# ---- recording the plan ------------------------------------------------------------------------



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
        review_hold_events(conn, plans, run_date, recorded_at)
        insert_run(conn, run_date, result.summary(), recorded_at)
    return result
