"""All flows of a workspace: every flow version known, the latest per name, and the assignment rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from dunning.domain.planning.assignment import Assignment, load_assignment
from dunning.domain.planning.flows import Flow, Problem, parse_flow
from dunning.errors import FlowError

__all__ = ["FlowSet", "load_flow_set"]



@dataclass(frozen=True, slots=True)
class FlowSet:
    """Every flow version known, the latest per name, and the assignment rules."""

    flows: Mapping[tuple[str, int], Flow]
    assignment: Assignment | None

    def get(self, name: str, version: int) -> Flow | None:
        return self.flows.get((name, version))

    def latest(self, name: str) -> Flow | None:
        versions = [v for (n, v) in self.flows if n == name]
        return self.flows[(name, max(versions))] if versions else None


def load_flow_set(documents: Mapping[str, Any]) -> tuple[FlowSet, list[Problem]]:
    """Read every document (``{file name: loaded YAML}``); bad files are reported and skipped.

    A document with a top-level ``assignment`` key holds the assignment rules; every other one is a
    flow. Two files with the same flow name and version are a problem (the first one is kept), and
    so is an assignment naming a flow that does not exist.
    """
    flows: dict[tuple[str, int], Flow] = {}
    assignment: Assignment | None = None
    problems: list[Problem] = []
    for source in sorted(documents):
        data = documents[source]
        if isinstance(data, Mapping) and "assignment" in data:
            try:
                assignment = load_assignment(data, source)
            except FlowError as exc:
                problems.append(Problem(source, "assignment", str(exc)))
            continue
        flow, found = parse_flow(data, source)
        problems.extend(found)
        if flow is None:
            continue
        if (flow.name, flow.version) in flows:
            other = flows[(flow.name, flow.version)].source
            problems.append(Problem(source, "version", f"{flow.ref} is also defined in {other}"))
            continue
        flows[(flow.name, flow.version)] = flow
    names = {name for name, _ in flows}
    if assignment is not None:
        for flow_name in [assignment.default, *(name for _, name in assignment.rules)]:
            if flow_name not in names:
                problems.append(Problem("assignment", "", f"names flow {flow_name!r}, which does not exist"))
    return FlowSet(MappingProxyType(flows), assignment), problems
