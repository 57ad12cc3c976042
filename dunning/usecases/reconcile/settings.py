"""The matcher's settings and the reach of a reconciliation's history, shared by its use cases.

Both the file run (:mod:`dunning.usecases.reconcile.run`) and the review queue
(:mod:`dunning.usecases.reconcile.review`) match with the same settings; they live here so
neither imports the other. The nightly run reads the same write-off tolerance
(:func:`write_off_tolerance`): a residual the matcher would have written off is never dunned.
"""

from __future__ import annotations

from dunning.domain.matching.match import MatchConfig
from dunning.domain.writeoff import WriteOffTolerance
from dunning.workspace import Workspace

__all__ = ["HISTORY_DAYS", "match_config", "write_off_tolerance"]

#: How far back payments can still be returned or reversed (SEPA: unauthorised direct debits, 13 months).
HISTORY_DAYS = 400


def write_off_tolerance(workspace: Workspace) -> WriteOffTolerance:
    """``bank.tolerance``: one amount for every currency, or one per currency."""
    return workspace.config.bank.write_off_tolerance()


def match_config(workspace: Workspace) -> MatchConfig:
    """The matcher's settings from ``bank.tolerance`` and ``ledger.invoice_pattern``."""
    tolerance = write_off_tolerance(workspace)
    return MatchConfig(
        tolerance=tolerance.default,
        tolerances=tolerance.per_currency,
        invoice_number_pattern=workspace.config.ledger.invoice_pattern,
    )
