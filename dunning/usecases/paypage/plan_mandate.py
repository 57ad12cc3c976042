"""A SEPA Core mandate given by the debtor on the pay page, for the plan just agreed there.

Offered only when the creditor can collect (``creditor.sepa_creditor_id``) and the case's plan is
active without a mandate. The debtor types the IBAN (and the account holder if not themselves) and
ticks the mandate text of ``sepa.mandate_text_version``; the mandate is recorded by the same function
as ``dunning plans mandate`` (:func:`dunning.usecases.plans.directdebit.capture_mandate`), signed today,
``consent_source`` pay_page. The IBAN is personal data: the timeline keeps only its last four digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dunning.domain.plans.model import ArrangementStatus, PlanError
from dunning.errors import InputError
from dunning.store import Store
from dunning.store.mandates import load_mandate
from dunning.store.plans import StoredPlan
from dunning.usecases.plans.directdebit import capture_mandate
from dunning.workspace import Workspace

__all__ = ["MandateRefused", "MandateState", "mandate_state", "sign_mandate"]


class MandateRefused(InputError):
    """``code``: ``consent`` (not ticked, or another text version), ``iban`` (not a valid IBAN), ``plan``."""

    def __init__(self, code: str) -> None:
        super().__init__(f"mandate refused: {code}")
        self.code = code


@dataclass(frozen=True, slots=True)
class MandateState:
    offered: bool  # the form is shown
    reference: str | None  # the mandate given, if any
    account_tail: str | None  # its IBAN's last four characters


def mandate_state(store: Store, workspace: Workspace, stored: StoredPlan | None) -> MandateState:
    """Whether the page offers a mandate for ``stored`` (the case's running plan), or names the one given."""
    if stored is None or workspace.config.creditor.sepa_creditor_id is None:
        return MandateState(False, None, None)
    with store.begin() as conn:
        mandate = load_mandate(conn, plan_key=stored.plan.plan_id)
    if mandate is not None:
        return MandateState(False, mandate.reference, mandate.iban[-4:])
    return MandateState(stored.plan.status is ArrangementStatus.ACTIVE, None, None)


def sign_mandate(
    store: Store,
    workspace: Workspace,
    stored: StoredPlan,
    *,
    iban: str,
    holder: str,
    consent: bool,
    text_version: str,
    today: date,
    now: datetime,
) -> str:
    """Record the debtor's mandate for ``stored``; return its reference. :class:`MandateRefused` says why not."""
    if not mandate_state(store, workspace, stored).offered:
        raise MandateRefused("plan")
    if not consent or text_version != workspace.config.sepa.mandate_text_version:
        raise MandateRefused("consent")
    if not iban.strip() or len(iban) > 50:
        raise MandateRefused("iban")
    try:
        mandate = capture_mandate(
            store,
            stored.plan.plan_id,
            iban=iban,
            signed_on=today,
            today=today,
            config=workspace.config,
            captured_by="debtor (pay page)",
            consent_source="pay_page",
            account_holder=holder.strip()[:140] or None,
            recorded_at=now,
        )
    except PlanError as refused:
        raise MandateRefused("iban" if "IBAN" in str(refused) else "plan") from None
    return mandate.reference
