"""A reminder planned by the night but no longer owed by the time it goes out is cancelled, not sent.

``dunning run`` plans a letter, email or SMS from the case as it stood that night; ``letters`` renders it and
``dispatch`` sends it later (the same night, or after a print-house outage or quiet hours, days later).
A payment reconciled in between may have paid the case or brought what is overdue below the flow's
``minimum_amount``. The planner would plan nothing for such a case (issue 17: "no debtor who paid is
chased"), so the channel stages ask the same question again just before rendering or sending:

* a closed case's messages were already cancelled by the stages (``case_status == 'closed'``);
* a **reminder** (a letter, registered letter, email, final notice, SMS or pay link that chases the debt;
  not a thank-you, statement or plan letter) is cancelled when the overdue principal it would claim on its
  day (:meth:`~dunning.usecases.outgoing.due.DueAction.claim_on`) is below the planning flow's
  ``minimum_amount`` (the flow's own, else :data:`~dunning.domain.planning.flows.DEFAULT_MINIMUM_AMOUNT`),
  or nothing is overdue at all. The next night plans again from the case as it is.

The same holds for a message whose earlier try the server deferred (it was never sent: its ``deferred``
delivery becomes ``cancelled``); only one that may already be out there (``sending``: handed to the transport
when the process died) goes again as it was, under the same Message-ID or client reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from dunning.domain.planning.flow_set import load_flow_set
from dunning.domain.planning.flows import DEFAULT_MINIMUM_AMOUNT
from dunning.usecases.outgoing.due import DueAction
from dunning.usecases.outgoing.notices import NOT_REMINDER_TEMPLATES

__all__ = ["CHASING_ACTIONS", "flow_minimums", "no_longer_owed"]

#: the actions that chase the debt (their message asks the debtor to pay what is overdue)
CHASING_ACTIONS = frozenset(
    {"send_letter", "send_registered_letter", "send_email", "send_final_notice", "send_sms", "send_pay_link"}
)


def flow_minimums(flows_dir: Path) -> dict[tuple[str, int], Decimal]:
    """``minimum_amount`` of every flow version in ``flows_dir`` (unreadable files are left out: their
    actions get the default minimum)."""
    documents: dict[str, Any] = {}
    for path in sorted([*flows_dir.glob("*.yaml"), *flows_dir.glob("*.yml")]) if flows_dir.is_dir() else []:
        try:
            documents[str(path)] = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
    flow_set, _problems = load_flow_set(documents)
    return {key: flow.minimum_amount for key, flow in flow_set.flows.items()}


def no_longer_owed(due: DueAction, on: date, minimums: Mapping[tuple[str, int], Decimal]) -> str | None:
    """Why the reminder ``due`` going out on ``on`` must be cancelled (None: it goes out)."""
    if due.action not in CHASING_ACTIONS or (due.requested_template or "") in NOT_REMINDER_TEMPLATES:
        return None
    if not due.invoices:  # no invoice lines known (a preview): nothing to compare
        return None
    claimed, _later, _total = due.claim_on(on)
    overdue = max(sum((line.open_amount.amount for line in claimed), Decimal(0)), Decimal(0))
    minimum = minimums.get(due.flow, DEFAULT_MINIMUM_AMOUNT) if due.flow is not None else DEFAULT_MINIMUM_AMOUNT
    if overdue <= 0:
        return f"nothing overdue on {on.isoformat()} any more (paid since it was planned)"
    if overdue < minimum:
        return f"overdue {overdue} on {on.isoformat()} is below the flow's minimum amount {minimum}"
    return None
