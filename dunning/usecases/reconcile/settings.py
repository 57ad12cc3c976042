"""The matcher's settings and the reach of a reconciliation's history, shared by its use cases.

Both the file run (:mod:`dunning.usecases.reconcile.run`) and the review queue
(:mod:`dunning.usecases.reconcile.review`) match with the same settings; they live here so
neither imports the other.
"""

from __future__ import annotations

from decimal import Decimal

from dunning.domain.matching.match import MatchConfig
from dunning.workspace import Workspace

__all__ = ["HISTORY_DAYS", "match_config"]

#: How far back payments can still be returned or reversed (SEPA: unauthorised direct debits, 13 months).
HISTORY_DAYS = 400


def match_config(workspace: Workspace) -> MatchConfig:
    """The matcher's settings from ``bank.tolerance`` and ``ledger.invoice_pattern``."""
    return MatchConfig(
        tolerance=Decimal(workspace.config.bank.tolerance),
        invoice_number_pattern=workspace.config.ledger.invoice_pattern,
    )
