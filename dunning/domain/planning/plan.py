"""What the planner hands back for one case on one night: its planned actions, status and next date.

:func:`dunning.domain.planning.planner.plan_case` returns a :class:`CasePlan`: the :class:`PlannedAction`
list for the night, the case status (``active``, ``waiting``, ``held``, ``stopped``, ``paid``, ``closed``,
``finished``) and the next date something falls due. Each planned action carries a deterministic
**idempotency key** (:func:`idempotency_key`)::

    case:<case id>|flow:<name>@<version>|step:<step key>|action:<action>|cycle:<k>[|fallback:<depth>]

The store records it as a unique key and feeds it back as a :class:`~dunning.domain.planning.case_state.HistoryEntry`
(outcome ``planned``, with ``amount`` = the action's fee or interest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from dunning.domain.keys import action_key
from dunning.domain.legal.base import Figure
from dunning.domain.planning.case_state import HistoryEntry, Outcome
from dunning.domain.planning.flows import Flow
from dunning.domain.planning.interest import InterestResult

__all__ = ["CasePlan", "PlannedAction", "idempotency_key"]


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """One action due for a case on the run date, with why and the legal figures."""

    key: str
    case_id: str
    cycle: int
    flow: str
    version: int
    step_key: str
    action: str
    settings: Mapping[str, Any]
    channel: str | None
    planned_on: date
    contact: bool
    fallback_depth: int
    replaces: str | None  # key of the failed action this one falls back from
    reason: str
    rules: tuple[str, ...]
    amount: Decimal | None = None  # fee or interest charged (record it in the history entry)
    interest: tuple[tuple[str, InterestResult], ...] = ()  # per invoice id, for the breakdown
    earliest_legal_date: date | None = None
    figures: tuple[Figure, ...] = ()
    required_fields: tuple[str, ...] = ()

    def as_history(self) -> HistoryEntry:
        """The history entry the store records for this action (outcome ``planned``)."""
        return HistoryEntry(
            key=self.key,
            step_key=self.step_key,
            action=self.action,
            on=self.planned_on,
            outcome=Outcome.PLANNED,
            channel=self.channel,
            flow=self.flow,
            version=self.version,
            cycle=self.cycle,
            fallback_depth=self.fallback_depth,
            amount=self.amount,
            announced_costs=next((f.amount for f in self.figures if f.name == "collection_costs_amount"), None),
        )


@dataclass(frozen=True, slots=True)
class CasePlan:
    case_id: str
    status: str
    actions: tuple[PlannedAction, ...]
    next_date: date | None = None
    note: str = ""
    warnings: tuple[str, ...] = ()


def idempotency_key(case_id: str, flow: Flow, step_key: str, action: str, cycle: int, depth: int) -> str:
    """The key of a planned action (:func:`dunning.domain.keys.action_key`)."""
    return action_key(case_id, flow.name, flow.version, step_key, action, cycle=cycle, fallback_depth=depth)
