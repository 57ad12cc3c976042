"""Which flow a new case starts on: the workspace's assignment rules, read and applied.

An ``assignment`` document (a file in ``flows/`` with a top-level ``assignment`` key) holds ordered
rules ``{when: {...}, flow: name}`` and a ``default``; the conditions are those of a flow step's
``when`` (:class:`~dunning.domain.planning.flows.Condition`), read by the same reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dunning.domain.planning.case_state import Debtor
from dunning.domain.planning.flows import Condition, _join, _read_condition, _Reader
from dunning.errors import FlowError

__all__ = ["Assignment", "assign_flow", "load_assignment"]



@dataclass(frozen=True, slots=True)
class Assignment:
    """Ordered rules ``(condition, flow name)``; the first match wins, else ``default``."""

    rules: tuple[tuple[Condition, str], ...]
    default: str


def load_assignment(data: Any, source: str) -> Assignment:
    """Read ``{assignment: {rules: [{when: {...}, flow: name}], default: name}}``; FlowError if bad."""
    r = _Reader(source)
    top = r.mapping(data, "")
    block = r.mapping(top.get("assignment"), "assignment") if top is not None else None
    rules: list[tuple[Condition, str]] = []
    default = ""
    if block is not None:
        r.unknown(block, {"rules", "default"}, "assignment")
        default = block.get("default", "")
        if not isinstance(default, str) or not default:
            r.error("assignment.default", f"name the default flow, got {default!r}")
        raw_rules = block.get("rules", [])
        if not isinstance(raw_rules, list):
            r.error("assignment.rules", f"expected a list, got {raw_rules!r}")
            raw_rules = []
        for index, item in enumerate(raw_rules):
            where = f"assignment.rules[{index}]"
            rule = r.mapping(item, where)
            if rule is None:
                continue
            r.unknown(rule, {"when", "flow"}, where)
            cond = _read_condition(r, rule.get("when", {}), _join(where, "when"))
            name = rule.get("flow")
            if not isinstance(name, str) or not name:
                r.error(_join(where, "flow"), f"name a flow, got {name!r}")
            elif cond is not None:
                rules.append((cond, name))
    if r.problems:
        raise FlowError("\n".join(str(p) for p in r.problems))
    return Assignment(tuple(rules), default)


def assign_flow(assignment: Assignment, debtor: Debtor, open_amount: Decimal, regular_supply: bool = False) -> str:
    """The name of the flow a new case of ``debtor`` starts on."""
    for condition, name in assignment.rules:
        if condition.matches(debtor, open_amount, regular_supply):
            return name
    return assignment.default
