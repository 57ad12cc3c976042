"""Moving a case to the latest version of its flow, as that version's migration rule says.

The night planner (:func:`dunning.domain.planning.planner.plan_cases`) calls :func:`migrate_case`
on each case before it looks up the case's flow.
"""

from __future__ import annotations

from dataclasses import replace

from dunning.domain.planning.case_state import CaseState
from dunning.domain.planning.flow_set import FlowSet

__all__ = ["migrate_case"]


def migrate_case(state: CaseState, flows: FlowSet) -> CaseState:
    """Move a case to the latest version of its flow when that version's migration rule says so.

    ``continue`` (or no rule): the case stays on its version. ``restart``: the case moves and starts
    the new version from its first step (legal facts such as the first reminder still count).
    ``map``: history entries of mapped steps are relabelled to the new step keys (their idempotency
    keys do not change), so the case continues where it was.
    """
    latest = flows.latest(state.flow)
    if latest is None or latest.version == state.version:
        return state
    rule = latest.migrations.get(state.version)
    if rule is None or rule.rule == "continue":
        return state
    if rule.rule == "restart":
        return replace(state, version=latest.version)
    history = tuple(
        replace(h, version=latest.version, step_key=rule.mapping[h.step_key])
        if h.flow == state.flow and h.version == state.version and h.step_key in rule.mapping
        else h
        for h in state.history
    )
    return replace(state, version=latest.version, history=history)
