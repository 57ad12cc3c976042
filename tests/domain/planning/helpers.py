"""Builders and a night-by-night simulator for the flow-planner tests (pure, no store)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from dunning.domain.planning.case_state import CaseEvent, CaseState, Debtor, HistoryEntry, OpenInvoice, Outcome
from dunning.domain.planning.flow_set import FlowSet, load_flow_set
from dunning.domain.planning.flows import Flow, load_flow
from dunning.domain.planning.pacing import TASK_ACTIONS
from dunning.domain.planning.plan import CasePlan
from dunning.domain.planning.planner import plan_case

TEMPLATE_FLOWS = Path(__file__).resolve().parents[3] / "dunning" / "workspace_template" / "flows"


def template_flow_set() -> FlowSet:
    docs = {p.name: yaml.safe_load(p.read_text()) for p in sorted(TEMPLATE_FLOWS.glob("*.yaml"))}
    flow_set, problems = load_flow_set(docs)
    assert problems == []
    return flow_set


def flow(steps: list[dict[str, Any]], **extra: Any) -> Flow:
    data = {"name": extra.pop("name", "t"), "version": extra.pop("version", 1), "steps": steps, **extra}
    return load_flow(data, "flows/t.yaml")


def case(
    *,
    country: str = "BE",
    kind: str = "consumer",
    amounts: tuple[str, ...] = ("320.00",),
    due: date = date(2025, 1, 10),
    flow_name: str = "t",
    version: int = 1,
    has_email: bool = True,
    has_phone: bool = True,
    has_address: bool = True,
    case_id: str = "c1",
    **extra: Any,
) -> CaseState:
    invoices = tuple(
        OpenInvoice(f"INV-{n}", due + timedelta(days=7 * n), Decimal(a), Decimal(a)) for n, a in enumerate(amounts)
    )
    debtor = Debtor(f"d-{case_id}", kind, country, "nl", "", has_email, has_phone, has_address)  # type: ignore[arg-type]
    return CaseState(case_id, debtor, "EUR", invoices, flow_name, version, **extra)


def record(state: CaseState, plan: CasePlan, *, sent: bool = True) -> CaseState:
    """What the store does after a run: the planned actions become history entries.

    ``sent``: the channel stages send the night's messages that same night (outcome ``sent`` on the
    planned day), as the nightly pipeline does; without it they stay ``planned`` (not gone out). Tasks for
    a person (a call, a review) stay open: only a person closes them (:func:`close_tasks`).
    """
    entries = tuple(a.as_history() for a in plan.actions)
    if sent:
        entries = tuple(replace(e, outcome=Outcome.SENT, sent_on=e.on) if a.contact and a.action not in TASK_ACTIONS
                        else e for a, e in zip(plan.actions, entries, strict=True))
    return replace(state, history=state.history + entries)


def close_tasks(state: CaseState, day: date, *, failed: bool = False) -> CaseState:
    """What a person does with ``dunning tasks done``: every open task is closed (done, or failed) on ``day``."""
    status = Outcome.FAILED if failed else Outcome.DONE
    history = tuple(
        replace(h, outcome=status, outcome_on=day) if h.action in TASK_ACTIONS and h.outcome == Outcome.PLANNED else h
        for h in state.history
    )
    return replace(state, history=history)


def fails(key: str, rate: int) -> bool:
    """Deterministic 'delivery failed' decision per idempotency key (rate in percent)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100 < rate


def run_night(state: CaseState, the_flow: Flow, day: date, fail_rate: int = 0) -> tuple[CaseState, CasePlan]:
    """Plan one night, record it, and report deterministic delivery failures the same day."""
    plan = plan_case(state, the_flow, day)
    state = record(state, plan)
    events = tuple(
        CaseEvent("delivery_failed", day, f"ev-{a.key}", a.key)
        for a in plan.actions
        if a.contact and fail_rate and fails(a.key, fail_rate)
    )
    if events:
        state = replace(state, events=state.events + events)
    return state, plan


def run_nights(
    state: CaseState, the_flow: Flow, days: list[date], fail_rate: int = 0
) -> tuple[CaseState, list[CasePlan]]:
    plans = []
    for day in days:
        state, plan = run_night(state, the_flow, day, fail_rate)
        plans.append(plan)
    return state, plans


def daterange(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def done(state: CaseState) -> list[tuple[str, str, int]]:
    return sorted((h.step_key, h.action, h.fallback_depth) for h in state.history)


def entries_by_key(state: CaseState) -> dict[str, HistoryEntry]:
    return {h.key: h for h in state.history}
