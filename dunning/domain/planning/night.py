"""One case's night being planned: the :class:`Night` the planner walks (private to the planner).

:func:`~dunning.domain.planning.planner.plan_case` builds a :class:`Night` for a case (its history of
the current cycle, the claim overdue on the run date, what failed and when) and walks it: the flow's
steps in order (:meth:`Night.walk_steps`, catch-up, contact gaps, fallbacks, legal dates), the events
(:meth:`Night.walk_events`) and the pay-page visits (:meth:`Night.walk_visits`). Fees and interest
are computed here against the legal pack. A step that must wait raises
:class:`~dunning.domain.planning.pacing.Wait`; the guarantees are listed in the planner's docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from dunning.domain.legal.base import FeeContext, Figure, LegalPack, money
from dunning.domain.planning.actions import (
    CATALOGUE,
    CHANNEL_NEEDS,
    PAPER_CHANNELS,
    Channel,
    action_channel,
    charges_fee,
)
from dunning.domain.planning.case_state import (
    FAILED_OUTCOMES,
    CaseEvent,
    CaseState,
    HistoryEntry,
    HoldKind,
    Outcome,
)
from dunning.domain.planning.claim import split_claim
from dunning.domain.planning.flows import ActionCall, Flow, Step
from dunning.domain.planning.interest import InterestResult
from dunning.domain.planning.pacing import Pacing
from dunning.domain.planning.pacing import Wait as _Wait
from dunning.domain.planning.plan import PlannedAction, idempotency_key
from dunning.domain.planning.visits import visit_follow_up
from dunning.domain.plans.interest_freeze import accrue_outside

ONE_DAY = timedelta(days=1)
_ZERO = Decimal("0.00")
#: a pack's ``fee_start`` / ``interest_charge_start``: (oldest due date, notice day, notice channel) → first day
_StartRule = Callable[[date, date | None, Channel | None], date | None]


def _after_notice(start: date | None, notice_on: date | None, counts_from_notice: bool) -> date | None:
    """A charge that counts from a notice never falls on the notice's own day.

    Whether the night's notice has gone out yet (the channel stages ran) or not, a re-run of the
    same date must plan the same: while it has not, the charge waits until the day after it at
    the earliest (:meth:`Night._wait_for_notice`), so once it has, the charge waits as long.
    (A pack without a waiting period, e.g. the German consumer pack, would otherwise allow a
    zero-amount cost the very night its free first reminder went out.)
    """
    if start is None or notice_on is None or not counts_from_notice:
        return start
    return max(start, notice_on + ONE_DAY)


class Night:
    """The state of one case while its night is planned (mutable, private)."""

    def __init__(self, state: CaseState, flow: Flow, pack: LegalPack, run_date: date) -> None:
        self.state = state
        self.flow = flow
        self.pack = pack
        self.day = run_date
        self.actions: list[PlannedAction] = []
        self.warnings: list[str] = []
        cycle = state.cycle
        self.history = [h for h in state.history if h.cycle == cycle and h.outcome != Outcome.CANCELLED]
        self.failed: dict[str, date] = {}
        for h in self.history:
            if h.outcome in FAILED_OUTCOMES:
                self.failed[h.key] = h.outcome_on or h.on
        for event in state.events:
            if event.kind == "delivery_failed" and event.ref is not None:
                known = self.failed.get(event.ref)
                self.failed[event.ref] = event.on if known is None else min(known, event.on)
        self.by_step: dict[str, list[HistoryEntry]] = {}
        for h in self.history:
            if h.flow == flow.name and h.version == flow.version:
                self.by_step.setdefault(h.step_key, []).append(h)
        self.last_contact: date | None = None
        self.notices = 0
        self.fees = state.fees_charged
        self.interest_charged = state.interest_charged
        # The first legal notice that went out (dated the day it did: legal periods count from it) and,
        # when none did, the first one planned: charges that wait for its period wait for it.
        sent: tuple[date, str, str | None] | None = None
        unsent: tuple[date, str, str | None] | None = None
        announced: Decimal | None = None
        for h in self.history:  # one pass, no sorting: this runs a million times a night
            spec = CATALOGUE.get(h.action)
            if spec is None:
                continue
            if spec.contact and (self.last_contact is None or h.on > self.last_contact):
                self.last_contact = h.on
            failed = h.key in self.failed
            if spec.legal_notice and not failed:
                self.notices += 1
                went_out = h.went_out_on
                if went_out is not None and (sent is None or (went_out, h.key) < sent[:2]):
                    sent = (went_out, h.key, h.channel)
                if went_out is not None and h.announced_costs is not None:  # the costs a notice announced
                    announced = min(h.announced_costs, announced if announced is not None else h.announced_costs)
                elif went_out is None and (unsent is None or (h.on, h.key) < unsent[:2]):
                    unsent = (h.on, h.key, h.channel)
            if h.amount is not None and not (failed and spec.contact):  # a failed message's fee is not owed
                if spec.charges == "interest":
                    self.interest_charged += h.amount
                elif h.action == "waive_fees":
                    self.fees -= h.amount
                else:
                    self.fees += h.amount
        self.notice = None if sent is None else (sent[0], Channel(sent[2] or Channel.LETTER))
        self.announced_costs = announced
        self.unsent_notice = None if unsent is None or sent else (unsent[0], Channel(unsent[2] or Channel.LETTER))
        self.open_invoices = [i for i in state.invoices if i.open_amount > 0]
        # What the debtor owes is the net balance: credit notes (negative items) lower it, and a case
        # whose credits cover its invoices owes nothing (it is treated as paid, and costs are capped on it).
        self.principal = max(sum((i.open_amount for i in state.invoices), Decimal(0)), Decimal(0))
        self.anchor = min((i.due_date for i in self.open_invoices), default=run_date)
        self.regular_supply = state.regular_supply
        # Only what is due is claimed: costs, compensation and the notice's figures count the invoices
        # overdue tonight (credit notes deducted), never one that falls due later (dunning.domain.planning.claim).
        self.claim = split_claim(state.invoices, run_date)
        self.pacing = Pacing(flow, pack, run_date, self.history, self.failed)

    # ---- helpers -------------------------------------------------------------------------------
    def possible(self, call: ActionCall) -> bool:
        channel = action_channel(call.action, call.settings)
        need = CHANNEL_NEEDS.get(channel) if channel is not None else None
        debtor = self.state.debtor
        if need == "email":
            return debtor.has_email
        if need == "phone":
            return debtor.has_phone
        if need == "address":
            return debtor.has_address
        return True

    def first_possible(self, chain: list[ActionCall], start: int) -> tuple[int, list[str]]:
        """Depth of the first call from ``start`` that can be done, and why earlier ones cannot."""
        skipped: list[str] = []
        for depth in range(start, len(chain)):
            if self.possible(chain[depth]):
                return depth, skipped
            channel = action_channel(chain[depth].action, chain[depth].settings)
            skipped.append(f"{chain[depth].action} impossible (no {CHANNEL_NEEDS.get(channel) if channel else '?'})")
        return len(chain), skipped

    def plan(
        self, call: ActionCall, step_key: str, depth: int, base_due: date, reason: str, replaces: str | None = None
    ) -> None:
        """Plan ``call`` tonight if it is due and allowed; raise _Wait otherwise."""
        pack, spec = self.pack, CATALOGUE[call.action]
        due = base_due
        gap = self.flow.min_contact_gap_days
        if spec.contact and self.last_contact is not None:
            due = max(due, self.last_contact + timedelta(days=gap))
        rules: list[str] = []
        earliest: date | None = None
        wants_fee = charges_fee(call.action, call.settings)
        is_notice = spec.legal_notice
        first_notice = is_notice and self.notice is None and self.unsent_notice is None
        charge_fee = wants_fee
        notice_on, notice_ch = self.notice if self.notice else (None, None)
        channel = action_channel(call.action, call.settings)
        supply: Figure | None = None  # a regular-supply exception to the free first reminder
        if wants_fee and first_notice and pack.first_reminder_free:
            supply = self._regular_supply(call, channel)
            if supply is None or not supply.amount:
                charge_fee = False
                why = f"{supply.explanation}; " if supply is not None else "the first reminder is free; "
                rules.append(f"{pack.code}: {why}its fee is dropped")
            else:
                rules.append(f"{pack.code}: {supply.explanation}")
        elif wants_fee:
            start = _after_notice(pack.fee_start(self.anchor, notice_on, notice_ch), notice_on, pack.notice_before_fees)
            if start is None and self.unsent_notice is not None:
                raise self._wait_for_notice(step_key, call, pack.fee_start, due, "costs")
            if start is None:
                charge_fee = False
                rules.append(f"{pack.code}: no legal notice sent yet: no costs may be charged")
            else:
                earliest = start
                if start > due:
                    due = start
                    rules.append(f"{pack.code}: costs not before {start.isoformat()}")
        charge_interest = spec.charges == "interest"
        if charge_interest:
            start = _after_notice(
                pack.interest_charge_start(self.anchor, notice_on, notice_ch), notice_on, pack.notice_before_interest
            )
            if start is None and self.unsent_notice is not None:
                raise self._wait_for_notice(step_key, call, pack.interest_charge_start, due, "interest")
            if start is None:
                charge_interest = False
                rules.append(f"{pack.code}: no legal notice sent yet: no interest may be charged")
            else:
                earliest = start
                if start > due:
                    due = start
        due, deadline = self.pacing.escalation_due(step_key, call.action, due)
        if deadline is not None:
            rules.append(deadline)
        if due > self.day:
            raise _Wait(due, f"{step_key}: {call.action} due {due.isoformat()}" + (f" ({rules[-1]})" if rules else ""))
        amount: Decimal | None = None
        interest: tuple[tuple[str, InterestResult], ...] = ()
        figures: list[Figure] = []
        if charge_fee:
            amount, figure = self._fee(call, is_notice, supply)
            figures.append(figure)
        elif wants_fee:
            amount = _ZERO
            if supply is not None:
                figures.append(supply)
        if charge_interest:
            amount, interest = self._interest(call)
        elif spec.charges == "interest":
            amount = _ZERO
        if call.action == "waive_fees":
            waived = call.settings.get("amount")
            amount = money(max(min(self.fees, waived) if waived is not None else self.fees, Decimal(0)))
            self.fees -= amount
        required: tuple[str, ...] = ()
        if first_notice:
            figures.extend(pack.notice_figures(self.claim.amount, self.claim.late_invoices))
            required = pack.notice_required_fields
            if pack.waiting_period_days and channel is not None:
                earliest = pack.earliest_cost_date(self.day, channel)
                rules.append(f"{pack.code}: legal notice; costs from {earliest.isoformat()}")
        key = idempotency_key(self.state.case_id, self.flow, step_key, call.action, self.state.cycle, depth)
        self.actions.append(
            PlannedAction(
                key=key,
                case_id=self.state.case_id,
                cycle=self.state.cycle,
                flow=self.flow.name,
                version=self.flow.version,
                step_key=step_key,
                action=call.action,
                settings=call.settings,
                channel=channel.value if channel else None,
                planned_on=self.day,
                contact=spec.contact,
                fallback_depth=depth,
                replaces=replaces,
                reason=reason,
                rules=tuple(rules),
                amount=amount,
                interest=interest,
                earliest_legal_date=earliest,
                figures=tuple(figures),
                required_fields=required,
            )
        )
        if spec.contact:
            self.last_contact = self.day
        if is_notice:
            self.pacing.notice_planned(call, channel)
            self.notices += 1
            if self.notice is None and self.unsent_notice is None and channel is not None:
                self.unsent_notice = (self.day, channel)  # planned tonight: it goes out later

    def _wait_for_notice(self, step_key: str, call: ActionCall, rule: _StartRule, due: date, what: str) -> _Wait:
        """A charge whose period runs from a notice not gone out yet: look again when it could end at the earliest."""
        assert self.unsent_notice is not None
        planned_on, channel = self.unsent_notice
        estimate = rule(self.anchor, planned_on, channel)
        when = max(estimate or self.day, due, self.day + ONE_DAY)
        why = f"{self.pack.code}: the legal notice planned {planned_on.isoformat()} has not gone out yet"
        return _Wait(when, f"{step_key}: {call.action} waits ({why}: {what} count from the day it goes out)")

    def _regular_supply(self, call: ActionCall, channel: Channel | None) -> Figure | None:
        """The pack's figure for a first reminder of a regular-supply case (None: not such a case)."""
        if not self.regular_supply:
            return None
        concerned = [i.due_date for i in self.open_invoices if i.due_date < self.day]
        postage = (call.settings.get("postage") or Decimal(0)) if channel in PAPER_CHANNELS else Decimal(0)
        return self.pack.regular_supply_allowance(concerned, self.state.regular_supply_reminded, postage)

    def _fee(self, call: ActionCall, is_notice: bool, allowance: Figure | None = None) -> tuple[Decimal, Figure]:
        """The fee ``call`` charges, capped by ``allowance`` or else the pack's fee allowance."""
        settings = call.settings
        if allowance is None:
            ctx = FeeContext(
                principal=self.claim.amount,
                invoice_count=self.claim.late_invoices,
                fees_charged=self.fees,
                notices_sent=self.notices + (1 if is_notice else 0),
                vat_percent=settings.get("add_vat_percent") or Decimal(0),
                announced=self.announced_costs,
            )
            allowance = self.pack.fee_allowance(ctx)
        cap = allowance.amount if allowance.amount is not None else _ZERO
        if call.action == "add_fee":
            mode = settings["mode"]
            if mode == "fixed":
                requested = settings["amount"]
            elif mode == "percent":
                requested = self.claim.amount * settings["percent"] / 100
                if settings.get("minimum") is not None:
                    requested = max(requested, settings["minimum"])
                if settings.get("maximum") is not None:
                    requested = min(requested, settings["maximum"])
            else:
                requested = cap
        else:
            fee = settings["fee"]
            requested = cap if fee == "legal_max" else fee
        amount = money(max(min(requested, cap), Decimal(0)))
        self.fees += amount
        return amount, allowance

    def _interest(self, call: ActionCall) -> tuple[Decimal, tuple[tuple[str, InterestResult], ...]]:
        terms = self.pack.interest_terms()
        if terms is None:
            return _ZERO, ()
        if not terms.table.is_verified(self.day):
            self.warnings.append(
                f"rate table {terms.table.key} not verified after "
                f"{terms.table.verified_through.isoformat()}: add the new rates to rates.yaml (see dunning rates)"
            )
        notice_on, notice_ch = self.notice if self.notice else (None, None)
        results: list[tuple[str, InterestResult]] = []
        total = Decimal(0)
        for invoice in sorted(self.claim.claimed, key=lambda i: (i.due_date, i.id)):
            if invoice.open_amount <= 0:
                continue
            start = self.pack.interest_start(invoice.due_date, notice_on, notice_ch, self.state.creditor_is_sme)
            if start is None or start > self.day:
                continue
            result = accrue_outside(
                invoice.open_amount,
                start,
                self.day,
                self.state.interest_frozen,
                terms.table,
                spread=terms.spread,
                max_rate=call.settings.get("max_rate"),
            )
            results.append((invoice.id, result))
            total += result.total
        amount = money(max(total - self.interest_charged, Decimal(0)))
        self.interest_charged += amount
        return amount, tuple(results)

    # ---- the walk ----------------------------------------------------------------------------
    def walk_steps(self) -> str:
        """Plan the flow's steps in order; return the status, raise _Wait when something waits."""
        steps = self.flow.steps
        last_started = max((s.index for s in steps if s.key in self.by_step), default=-1)
        previous: date | None = None
        for step in steps:
            entries = self.by_step.get(step.key)
            if entries:
                previous = self.continue_step(step, entries)
                if any(CATALOGUE[e.action].terminal for e in entries):
                    return "closed"
                tonight = next((ActionCall(a.action, a.settings) for a in self.actions if a.step_key == step.key), None)
                self.pacing.started(step, entries, self.failed, tonight)  # waits at an open task
                continue
            scheduled = self.scheduled(step, previous)
            if step.index < last_started:
                continue  # passed over (e.g. after a migration): never go back
            if step.when is not None and not step.when.matches(self.state.debtor, self.principal, self.regular_supply):
                previous = scheduled if previous is None else max(previous, scheduled)
                continue
            if step.skip_if_late is not None and (self.day - scheduled).days > step.skip_if_late:
                previous = scheduled if previous is None else max(previous, scheduled)
                continue  # stale after missed nights or a hold: the flow says skip, not send
            chain = step.call.chain()
            depth, skipped = self.first_possible(chain, 0)
            if depth == len(chain):
                self.warnings.append(f"{step.key}: no action possible ({'; '.join(skipped)})")
                previous = scheduled if previous is None else max(previous, scheduled)
                continue
            reason = (
                f"step {step.key} (day {step.day})"
                if step.day is not None
                else f"step {step.key} ({step.after} days after the previous step)"
            )
            if skipped:
                reason += "; fallback: " + "; ".join(skipped)
            self.plan(chain[depth], step.key, depth, self.pacing.due(step, scheduled), reason)
            previous = self.day
            if CATALOGUE[chain[depth].action].terminal:
                return "closed"
            if chain[depth].action == "hold":  # the store creates the hold; nothing more tonight
                return "held"
            self.pacing.planned(step, chain[depth])  # a task the flow waits for ends the walk
        return "finished"

    def scheduled(self, step: Step, previous: date | None) -> date:
        if step.day is not None:
            return self.anchor + timedelta(days=step.day)
        base = previous if previous is not None else self.anchor
        return base + timedelta(days=step.after or 0)

    def continue_step(
        self,
        step: Step | None,
        entries: list[HistoryEntry],
        chain: list[ActionCall] | None = None,
        step_key: str | None = None,
    ) -> date:
        """A started step: plan the next fallback if the last attempt failed; return its date."""
        chain = chain if chain is not None else step.call.chain() if step else []
        step_key = step_key or (step.key if step else "")
        last = max(entries, key=lambda e: (e.fallback_depth, e.on, e.key))
        failed_on = self.failed.get(last.key)
        if failed_on is None:
            return last.on
        depth, skipped = self.first_possible(chain, last.fallback_depth + 1)
        if depth >= len(chain):
            if last.fallback_depth + 1 < len(chain) or not skipped:
                self.warnings.append(f"{step_key}: {last.action} failed and no fallback is left")
            return failed_on
        reason = f"fallback of {step_key}: {last.action} failed ({failed_on.isoformat()})"
        if skipped:
            reason += "; " + "; ".join(skipped)
        self.plan(chain[depth], step_key, depth, failed_on, reason, replaces=last.key)
        return self.day

    def walk_events(self) -> None:
        events = list(self.state.events)
        for hold in self.state.holds:
            if (
                hold.kind == HoldKind.PROMISE_TO_PAY
                and hold.until is not None
                and hold.released_on is None
                and hold.until <= self.day
            ):
                events.append(CaseEvent("promise_broken", hold.until, f"hold-{hold.start.isoformat()}"))
        for event in sorted(events, key=lambda e: (e.on, e.kind, e.id)):
            handler = self.flow.on_events.get(event.kind)
            if handler is None or event.kind == "delivery_failed":
                continue
            step_key = f"on:{event.kind}:{event.id}"
            chain = handler.call.chain()
            entries = self.by_step.get(step_key)
            if entries:
                self.continue_step(None, entries, chain, step_key)
                continue
            depth, skipped = self.first_possible(chain, 0)
            if depth < len(chain):
                reason = f"event {event.kind} on {event.on.isoformat()}" + (
                    f"; {'; '.join(skipped)}" if skipped else ""
                )
                self.plan(chain[depth], step_key, depth, event.on + timedelta(days=handler.after), reason)

    def walk_visits(self) -> None:
        """A pay-page visit no payment came after: one follow-up per step (:mod:`dunning.domain.planning.visits`)."""
        found = visit_follow_up(self.flow, self.by_step, self.state.visits, self.state.last_payment_on)
        if found is None:
            return
        chain = found.handler.call.chain()
        if found.visit is None or found.due is None:
            self.continue_step(None, self.by_step[found.step_key], chain, found.step_key)
            return
        depth, skipped = self.first_possible(chain, 0)
        if depth < len(chain):
            reason = found.reason + (f"; {'; '.join(skipped)}" if skipped else "")
            self.plan(chain[depth], found.step_key, depth, found.due, reason)
