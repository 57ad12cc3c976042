"""A payment plan chosen by the debtor on the pay page (issue 19, item 3).

:func:`plan_offer` says what the page's "Pay in instalments" part shows: the plan the case already
has (its schedule, with each instalment's own reference and EPC QR code, instead of the whole claim's
QR), or the plans the policy allows (:func:`dunning.usecases.plans.propose.propose_plans`: counts,
amounts, dates and the due day with its explanation), or why none is offered. :func:`accept_plan`
makes the chosen one through the same use case as ``dunning plans create``
(:func:`dunning.usecases.plans.create.create_plan`, ``created_via`` pay_page: it pauses the flow), only
when the debtor ticked the terms of the version shown; it then keeps a PDF of the accepted terms under
``output/plans/`` with its SHA-256 on the plan's timeline (``plan_terms_accepted``, source
``plan:<key>``) and emails it to the debtor at once (:mod:`.plan_terms`). The acceptance is the
consent: what was accepted, in which version, when, is in the PDF and the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection

from dunning.domain.epc import EpcError, EpcPayment, epc_payload
from dunning.domain.plans.model import ArrangementStatus, CreatedVia, PlanError
from dunning.domain.plans.policy import PlanPolicy
from dunning.domain.plans.schedule import monthly_due_dates, split_amount
from dunning.domain.references import parse_reference
from dunning.errors import InputError, InvalidValue, WorkspaceBusy
from dunning.store import Store
from dunning.store.cases import load_case_events
from dunning.store.disputes import OpenDispute, load_open_dispute
from dunning.store.page_flags import ALL, PageFlags
from dunning.store.plans import StoredPlan, load_plans
from dunning.usecases.paypage.dispute import DISPUTE_REASONS
from dunning.usecases.paypage.plan_terms import TermsRecord, keep_terms, send_terms
from dunning.usecases.plans.create import create_plan
from dunning.usecases.plans.propose import PlanProposal, propose_plans_in
from dunning.workspace import Workspace

__all__ = ["AcceptedPlan", "PlanOffer", "PlanRefused", "ScheduleRow", "accept_plan", "plan_offer", "plan_offer_in"]

#: who a plan made on the page was made by (``created_by``)
DEBTOR = "debtor (pay page)"
_RUNNING = (ArrangementStatus.ACTIVE, ArrangementStatus.PROPOSED)


class PlanRefused(InputError):
    """A plan the page cannot make: ``code`` is ``disabled``, ``closed``, ``held``, ``already``, ``policy``,
    ``count`` (not one of the offered counts), ``terms`` (not accepted, or another version) or ``busy``."""

    def __init__(self, code: str) -> None:
        super().__init__(f"plan refused: {code}")
        self.code = code


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    number: int
    due_date: date
    amount: Decimal
    open: Decimal
    status: str  # paid, open, next (the next one due), or the instalment's own status (deferred, waived)
    reference: str  # as printed
    epc: str | None  # the EPC QR text of what is open of it (None outside the euro or when paid)


@dataclass(frozen=True, slots=True)
class PlanOffer:
    """The page's plan part: ``plan`` (a running plan's schedule), else ``proposal``, else ``refused``."""

    policy: PlanPolicy
    proposal: PlanProposal | None = None
    refused: str | None = None
    plan: StoredPlan | None = None
    schedule: tuple[ScheduleRow, ...] = ()
    terms: TermsRecord | None = None
    #: per offered count, each instalment's due date and amount (as ``create_plan`` will make them)
    instalments: Mapping[int, tuple[tuple[date, Decimal], ...]] = field(default_factory=dict)

    @property
    def offered(self) -> bool:
        return self.plan is None and self.proposal is not None and bool(self.proposal.options)

    @property
    def next_due(self) -> ScheduleRow | None:
        return next((row for row in self.schedule if row.status == "next"), None)


@dataclass(frozen=True, slots=True)
class AcceptedPlan:
    plan: StoredPlan
    terms: TermsRecord
    emailed: str  # sent, no_email or failed


def _running_plan(store: Store, case_id: int) -> tuple[StoredPlan | None, TermsRecord | None]:
    with store.begin() as conn:
        return _running_plan_in(conn, case_id)


def _running_plan_in(conn: Connection, case_id: int) -> tuple[StoredPlan | None, TermsRecord | None]:
    plans = [p for p in load_plans(conn, case_id=case_id) if p.plan.status in _RUNNING]
    if not plans:
        return None, None
    stored = plans[-1]
    events = load_case_events(conn, case_id)
    source = f"plan:{stored.plan.plan_id}"
    terms = next((TermsRecord.of(e.detail) for e in events if e.kind == "plan_terms_accepted" and e.source == source),
                 None)
    return stored, terms


def _schedule(workspace: Workspace, stored: StoredPlan) -> tuple[ScheduleRow, ...]:
    creditor = workspace.config.creditor
    rows = []
    next_given = False
    for item in stored.plan.instalments:
        if item.is_open:
            status = "open" if next_given else "next"
            next_given = True
        else:
            status = "paid" if item.status.value == "paid" else item.status.value
        epc = None
        if item.is_open and stored.plan.currency == "EUR":
            try:
                epc = epc_payload(EpcPayment(name=creditor.name, iban=creditor.iban, amount=item.open,
                                             bic=creditor.bic or "", reference=item.reference))
            except EpcError:
                epc = None
        try:
            printed = parse_reference(item.reference).printed
        except InvalidValue:
            printed = item.reference
        rows.append(ScheduleRow(item.number, item.due_date, item.amount, item.open, status, printed, epc))
    return tuple(rows)


def plan_offer(store: Store, workspace: Workspace, case_id: int, today: date) -> PlanOffer:
    """The plan part of the page of ``case_id`` on ``today`` (see the module docstring)."""
    with store.begin() as conn:  # the running plan, an open dispute and the proposal in one transaction
        return plan_offer_in(conn, workspace, case_id, today)


def plan_offer_in(
    conn: Connection, workspace: Workspace, case_id: int, today: date, flags: PageFlags = ALL
) -> PlanOffer:
    """:func:`plan_offer` in the caller's transaction ``conn`` (the landing page reads its parts in one).

    ``flags``: read in ``conn`` (:func:`~dunning.store.page_flags.load_page_flags`); a case with no plan
    row has no running plan and no open plan, one with no open dispute task no dispute to read.
    """
    policy = workspace.config.plans.policy()
    stored, terms = _running_plan_in(conn, case_id) if flags.plans else (None, None)
    if stored is not None:
        return PlanOffer(policy, plan=stored, schedule=_schedule(workspace, stored), terms=terms)
    dispute = load_open_dispute(conn, case_id) if policy.enabled and flags.dispute else None
    try:
        _check_open(policy, dispute)
        proposal = propose_plans_in(conn, case_id, today=today, policy=policy, plans=flags.plans)
    except PlanRefused as refused:
        return PlanOffer(policy, refused=refused.code)
    except PlanError:
        return PlanOffer(policy, refused="closed")
    if not proposal.options:
        return PlanOffer(policy, proposal=proposal, refused="policy")
    day = proposal.due_day.day
    instalments = {
        option.count: tuple(zip(monthly_due_dates(today, day, option.count), split_amount(proposal.total, option.count),
                                strict=True))
        for option in proposal.options
    }
    return PlanOffer(policy, proposal=proposal, instalments=instalments)


def _check_open(policy: PlanPolicy, dispute: OpenDispute | None) -> None:
    if not policy.enabled:
        raise PlanRefused("disabled")
    if dispute is not None and dispute.reason in DISPUTE_REASONS:
        raise PlanRefused("held")


def accept_plan(
    store: Store,
    workspace: Workspace,
    case_id: int,
    *,
    count: int | None,
    accepted: bool,
    terms_version: str,
    language: str,
    today: date,
    now: datetime,
    env: Mapping[str, str],
) -> AcceptedPlan:
    """Make the plan of ``count`` instalments the debtor chose and accepted; :class:`PlanRefused` says why not."""
    offer = plan_offer(store, workspace, case_id, today)
    if offer.plan is not None:
        raise PlanRefused("already")
    if offer.refused is not None or offer.proposal is None:
        raise PlanRefused(offer.refused or "policy")
    if count is None or count not in {o.count for o in offer.proposal.options}:
        raise PlanRefused("count")
    if not accepted or terms_version != offer.policy.terms_version:
        raise PlanRefused("terms")
    try:
        created = create_plan(
            store,
            str(case_id),
            count=count,
            today=today,
            policy=offer.policy,
            created_by=DEBTOR,
            created_via=CreatedVia.PAY_PAGE,
            recorded_at=now,
        )
    except WorkspaceBusy:
        raise PlanRefused("busy") from None
    except PlanError:
        again, _terms = _running_plan(store, case_id)
        raise PlanRefused("already" if again is not None else "policy") from None
    stored = StoredPlan(created.plan, created.case_id, created.due_day.explanation)
    terms = keep_terms(store, workspace, stored, offer.policy, language, accepted_at=now)
    emailed = send_terms(store, workspace, stored, terms, language, now=now, env=env)
    return AcceptedPlan(stored, terms, emailed)
