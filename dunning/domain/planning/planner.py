"""The pure flow planner: which actions does each case get on run date D?

::

    plan = plan_case(state, flow, run_date)          # one case (state.flow/version must match flow)
    plans = plan_cases(states, flow_set, run_date)   # many cases: migrate, look up the flow, plan

:func:`plan_case` returns a :class:`CasePlan`: the :class:`PlannedAction` list for the night, the
case status (``active``, ``waiting``, ``held``, ``stopped``, ``paid``, ``closed``, ``finished``) and the
next date something falls due (both in :mod:`dunning.domain.planning.plan`, with the idempotency
key each planned action carries); :func:`plan_cases` first moves each case to its flow's current
version (:mod:`dunning.domain.planning.migration`). The planner guarantees:

* **re-running D is a no-op**: with the first run's actions in the history, nothing new is planned,
  whether or not the night's messages went out in between (a cost counting from a notice never falls
  on the notice's own day);
* **only what is due is claimed**: fees, compensation per late invoice, interest and the notice's
  figures count the invoices overdue on D (:mod:`dunning.domain.planning.claim`); below the flow's
  ``minimum_amount`` overdue nothing is planned at all (no message, no fee);
* **catch-up**: after missed nights each overdue step is planned once, in flow order; a contact
  (letter, email, SMS, call...) needs at least ``min_contact_gap_days`` (>= 1) nights after the
  previous contact, so a debtor never gets two contacts in one night and later steps move to later
  nights; non-contact steps (fees, interest, tasks, webhooks) run the same night in order;
* **legal dates**: a cost waits until the pack's earliest legal date (e.g. Book XIX: 14 days from
  the 3rd working day after posting the free first reminder); a cost on the first notice is dropped
  where that notice must be free; a cost without any legal notice is dropped (the step still runs);
  amounts are capped by the pack (``fee``, ``interest``, ``earliest_legal_date``, ``figures``);
* **real sending dates**: legal periods run from the day a notice really went out
  (:attr:`~dunning.domain.planning.case_state.HistoryEntry.went_out_on`: a letter's posting date, an email's
  sending day), not the day it was planned; while the notice has not gone out (still ``planned``),
  a cost or interest that needs its period waits (the case is looked at again from the earliest
  day the period could end); fees of messages that failed do not count as charged;
* **regular supply**: where every open item bills a regular-supply contract, the pack may allow a
  cost on the first notice itself (Book XIX: at most €7.50 plus the letter's ``postage`` from the
  4th unpaid due date of a calendar year; the first 3 stay free), counting the due dates overdue on
  the run date against ``CaseState.regular_supply_reminded``; the figure explains either outcome;
* **fallbacks**: when an action cannot be done (no email, no phone, no address) its fallback is
  planned instead; when it failed (history outcome failed/bounced/returned, or a
  ``delivery_failed`` event naming its key) the next fallback of the chain is planned from the day
  the failure became known;
* **cycles**: a reopened case (the store increments ``cycle``) runs the flow again with new keys;
  only history of the current cycle counts;
* **order independence**: a case's plan depends only on its own state, the flow, the pack and D.

The walk of one case's night (steps, events, visits, fees, interest) is :class:`~dunning.domain.planning.night.Night`.

A planned ``hold`` step ends the night (the store turns it into a :class:`~dunning.domain.planning.case_state.Hold`);
a planned ``waive_fees`` carries the waived amount, which later nights subtract from the costs charged.
A step with ``skip_if_late: N`` is skipped (not caught up) once the run date is more than N days
past its scheduled date. Steps of the flow that were passed over (a later step already started) are
not caught up; a step whose ``when`` does not hold is skipped. Holds: insolvency and deceased stop
everything; other active holds plan nothing until released (a ``payment_in_review`` hold lasts while
a payment that may be the case's waits in the review queue); an expired, unreleased promise to pay
raises a ``promise_broken`` event for the flow's ``events:`` handlers; a pay-page visit no payment
came after, its ``visit_without_payment`` handler (:mod:`dunning.domain.planning.visits`). A principal left open at or
below ``CaseState.write_off_tolerance`` is paid: nothing more is asked for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from dunning.domain.legal import select_pack
from dunning.domain.legal.base import LegalPack
from dunning.domain.planning.actions import CATALOGUE
from dunning.domain.planning.case_state import HARD_STOP_HOLDS, CaseState, HoldKind
from dunning.domain.planning.flow_set import FlowSet
from dunning.domain.planning.flows import Flow
from dunning.domain.planning.migration import migrate_case
from dunning.domain.planning.night import ONE_DAY, Night
from dunning.domain.planning.pacing import Wait as _Wait
from dunning.domain.planning.plan import CasePlan

__all__ = ["plan_case", "plan_cases"]


def plan_case(state: CaseState, flow: Flow, run_date: date, pack: LegalPack | None = None) -> CasePlan:
    """Plan one case for the night of ``run_date`` (see the module docstring for the guarantees)."""
    if (state.flow, state.version) != (flow.name, flow.version):
        raise ValueError(f"case {state.case_id} is on {state.flow}@{state.version}, not {flow.ref}")
    pack = pack or select_pack(state.debtor.country, state.debtor.type)
    night = Night(state, flow, pack, run_date)
    for hold in state.holds:
        if hold.kind in HARD_STOP_HOLDS and hold.active_on(run_date):
            return CasePlan(state.case_id, "stopped", (), note=f"hold: {hold.kind.value}")
    if any(CATALOGUE[h.action].terminal for h in night.history if h.action in CATALOGUE):
        return CasePlan(state.case_id, "closed", ())
    if night.principal <= 0:
        return _plan_paid(night)
    if night.principal <= state.write_off_tolerance:
        # What a payment left short within the tolerance is written off, never asked for: no fee,
        # no interest, no reminder; the case is paid (its thank-you may follow).
        note = (
            f"residual {night.principal} {state.currency} within the write-off tolerance "
            f"({state.write_off_tolerance}): settled"
        )
        return replace(_plan_paid(night), note=note)
    active = [h for h in state.holds if h.active_on(run_date)]
    if active:
        ends = [h.until for h in active]
        until = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
        notes = sorted(f"held: {h.reason}" if h.kind is HoldKind.PAYMENT_IN_REVIEW else h.kind.value for h in active)
        return CasePlan(state.case_id, "held", (), until, note=", ".join(notes))
    if night.claim.amount < flow.minimum_amount:
        # Below the flow's minimum nothing is sent or charged; look again when the next item falls due.
        later = min((i.due_date for i in night.claim.not_yet_due), default=None)
        return CasePlan(
            state.case_id,
            "waiting",
            (),
            None if later is None else later + ONE_DAY,
            note=f"overdue {night.claim.amount} below the flow's minimum amount {flow.minimum_amount}",
        )
    next_date: date | None = None
    note = ""
    try:
        status = night.walk_steps()
    except _Wait as wait:
        status, next_date, note = "waiting", wait.when, wait.why
    try:
        if status not in ("closed", "held"):
            night.walk_events()
    except _Wait as wait:
        if wait.when is not None and (next_date is None or wait.when < next_date):
            next_date, note = wait.when, wait.why
    try:
        if status not in ("closed", "held"):
            night.walk_visits()
    except _Wait as wait:
        if wait.when is not None and (next_date is None or wait.when < next_date):
            next_date, note = wait.when, wait.why
    if night.actions and status == "waiting":
        status = "active"
    return CasePlan(state.case_id, status, tuple(night.actions), next_date, note, tuple(night.warnings))


def _plan_paid(night: Night) -> CasePlan:
    state, flow = night.state, night.flow
    contacted = any(CATALOGUE[h.action].contact for h in night.history if h.action in CATALOGUE)
    if flow.on_paid is None or not contacted or "on_paid" in night.by_step:
        return CasePlan(state.case_id, "paid", ())
    chain = flow.on_paid.chain()
    depth, _ = night.first_possible(chain, 0)
    if depth < len(chain):
        try:
            night.plan(chain[depth], "on_paid", depth, night.day, "case paid in full")
        except _Wait as wait:
            return CasePlan(state.case_id, "paid", (), wait.when, wait.why)
    return CasePlan(state.case_id, "paid", tuple(night.actions))


def plan_cases(states: Iterable[CaseState], flows: FlowSet, run_date: date) -> list[CasePlan]:
    """Migrate and plan every case; a case whose flow is unknown gets status ``error``."""
    plans: list[CasePlan] = []
    for state in states:
        state = migrate_case(state, flows)
        flow = flows.get(state.flow, state.version)
        if flow is None:
            plans.append(CasePlan(state.case_id, "error", (), note=f"unknown flow {state.flow}@{state.version}"))
            continue
        plans.append(plan_case(state, flow, run_date))
    return plans
