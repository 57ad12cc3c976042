"""Benchmark: plan 1,000,000 synthetic cases for one run date (budget: under 2 minutes on 2 cores).

Usage::

    .venv/bin/python benchmarks/planning.py [--cases 1000000] [--workers 2] [--baseline 100000]

Synthetic cases are made realistic first: a few hundred archetype cases (BE/NL/DE/FR consumers and
businesses on the template flows ``default`` and ``b2b``, with and without email or phone, 1-4
invoices, 10 % delivery failures) are walked night by night through up to 120 nights, so they carry
real histories, fallbacks, fees and interest. The million cases are copies of them with their own
case ids and amounts, built inside each worker while it plans (building is included in the time).

Printed: the single-process baseline (cases/s on ``--baseline`` cases), the parallel run (wall time,
cases/s, speed-up over the baseline) and the planned actions per action name as a sanity check.
The planner is pure and a case's plan depends only on that case, so splitting cases over processes
is safe; the store-backed use case can do the same with Prefect workers.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dunning.domain.planning.case_state import CaseEvent, CaseState, Debtor, OpenInvoice, Outcome  # noqa: E402
from dunning.domain.planning.flows import Flow, FlowSet, load_flow_set  # noqa: E402
from dunning.domain.planning.planner import plan_case  # noqa: E402

RUN_DATE = date(2025, 6, 2)
BUDGET_SECONDS = 120.0
_ARCHETYPES: list[CaseState] = []
_FLOWS: dict[tuple[str, int], Flow] = {}


def _flow_set() -> FlowSet:
    folder = REPO / "dunning" / "workspace_template" / "flows"
    docs = {p.name: yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))}
    flow_set, problems = load_flow_set(docs)
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    return flow_set


def _archetypes(flow_set: FlowSet, count: int, seed: int = 7) -> list[CaseState]:
    rnd = random.Random(seed)
    result = []
    for n in range(count):
        business = rnd.random() < 0.3
        name = "b2b" if business else "default"
        the_flow = flow_set.latest(name)
        assert the_flow is not None
        age = rnd.randint(0, 120)  # nights since the oldest due date
        first_due = RUN_DATE - timedelta(days=age)
        invoices = tuple(
            OpenInvoice(
                f"INV-{n}-{k}",
                first_due + timedelta(days=14 * k),
                Decimal(rnd.randint(1500, 250000)) / 100,
                Decimal(300),
            )
            for k in range(rnd.randint(1, 4))
        )
        debtor = Debtor(
            f"D{n}",
            "business" if business else "consumer",  # type: ignore[arg-type]
            rnd.choice(["BE", "BE", "BE", "NL", "DE", "FR"]),
            rnd.choice(["nl", "fr", "de"]),
            rnd.choice(["", "energy", "telecom"]),
            rnd.random() < 0.75,
            rnd.random() < 0.5,
            rnd.random() < 0.97,
        )
        state = CaseState(
            f"A{n}", debtor, "EUR", invoices, the_flow.name, the_flow.version, creditor_is_sme=rnd.random() < 0.5
        )
        day = first_due
        while day < RUN_DATE:  # walk it night by night, with 10 % failed deliveries
            plan = plan_case(state, the_flow, day)
            # the channels send the night's messages that night (legal periods count from sending)
            entries = tuple(
                replace(a.as_history(), outcome=Outcome.SENT, sent_on=day) if a.contact else a.as_history()
                for a in plan.actions
            )
            failures = tuple(
                CaseEvent("delivery_failed", day, f"e{a.key}", a.key)
                for a in plan.actions
                if a.contact and rnd.random() < 0.1
            )
            state = replace(state, history=state.history + entries, events=state.events + failures)
            day += timedelta(days=1)
        if rnd.random() < 0.05:
            state = replace(
                state, events=(*state.events, CaseEvent("pay_page_visit", RUN_DATE - timedelta(days=2), "v"))
            )
        result.append(state)
    return result


def _cases(start: int, count: int) -> object:
    """Copies of the archetypes with their own ids and amounts (a generator: flat memory)."""
    archetypes = _ARCHETYPES
    for n in range(start, start + count):
        base = archetypes[n % len(archetypes)]
        scale = Decimal(1 + n % 7)
        yield replace(
            base,
            case_id=f"C{n}",
            debtor=replace(base.debtor, id=f"D{n}"),
            invoices=tuple(replace(i, open_amount=i.open_amount * scale) for i in base.invoices),
        )


def _plan_range(bounds: tuple[int, int]) -> tuple[int, Counter[str], float]:
    start, count = bounds
    actions: Counter[str] = Counter()
    began = time.perf_counter()
    planned = 0
    for state in _cases(start, count):  # type: ignore[attr-defined]
        plan = plan_case(state, _FLOWS[(state.flow, state.version)], RUN_DATE)
        planned += 1
        for action in plan.actions:
            actions[action.action] += 1
    return planned, actions, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("--baseline", type=int, default=100_000)
    parser.add_argument("--archetypes", type=int, default=400)
    args = parser.parse_args()

    flow_set = _flow_set()
    _FLOWS.update(flow_set.flows)
    t0 = time.perf_counter()
    _ARCHETYPES.extend(_archetypes(flow_set, args.archetypes))
    print(
        f"archetypes: {len(_ARCHETYPES)} walked night by night in {time.perf_counter() - t0:.1f} s, "
        f"{sum(len(a.history) for a in _ARCHETYPES) / len(_ARCHETYPES):.1f} history entries per case"
    )

    base_n = min(args.baseline, args.cases)
    done, _, seconds = _plan_range((0, base_n))
    base_rate = done / seconds
    print(f"baseline  : 1 process, {done:,} cases in {seconds:.2f} s = {base_rate:,.0f} cases/s")

    chunk = 25_000
    bounds = [(s, min(chunk, args.cases - s)) for s in range(0, args.cases, chunk)]
    began = time.perf_counter()
    totals: Counter[str] = Counter()
    planned = 0
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        for count, actions, _ in pool.imap_unordered(_plan_range, bounds):
            planned += count
            totals.update(actions)
    wall = time.perf_counter() - began
    rate = planned / wall
    print(
        f"parallel  : {args.workers} processes, {planned:,} cases in {wall:.1f} s = {rate:,.0f} cases/s "
        f"({rate / base_rate:.2f}x the single-process baseline)"
    )
    print(
        f"budget    : {BUDGET_SECONDS:.0f} s for 1,000,000 cases -> "
        f"{'OK' if wall * 1_000_000 / planned <= BUDGET_SECONDS else 'OVER'} "
        f"(projected {wall * 1_000_000 / planned:.1f} s)"
    )
    print("planned   : " + ", ".join(f"{name} {n:,}" for name, n in totals.most_common()))


if __name__ == "__main__":
    main()
