"""The pay link an outgoing message carries: a letter prints it, an email or SMS links to it.

The link counts from ``sent_on``, the day the message goes out (the run date, not the clock): a
message that waited (transient failures, quiet hours) still gives the debtor the full period, and a
re-send after a crash, given the first attempt's day, carries exactly the same link.

An email or SMS link says which it came by (``?m=e``, ``?m=s``; the letter's QR code adds ``?m=q``,
the link printed as text stays bare, to be typed), so the pay page counts visits per medium.
"""

from __future__ import annotations

from datetime import date, timedelta

from dunning.domain import paylink
from dunning.errors import ConfigError
from dunning.usecases.outgoing.due import DueAction
from dunning.usecases.outgoing.secrets import Secrets
from dunning.workspace import Workspace

__all__ = ["pay_link_for"]


def pay_link_for(due: DueAction, workspace: Workspace, secrets: Secrets, sent_on: date,
                 medium: str | None = None) -> str:
    """``paylink.base_url`` + a token for the case, valid ``paylink.valid_days`` from the day it is sent,
    marked with ``medium`` (``email``, ``sms``) when given."""
    config = workspace.config.paylink
    try:
        token = paylink.make_token(str(due.case_id), sent_on + timedelta(days=config.valid_days), secrets.paylink)
        link = paylink.pay_link(config.base_url, token)
        return link if medium is None else paylink.with_medium(link, medium)
    except paylink.PayLinkError as exc:
        raise ConfigError(f"pay link for case {due.case_id}: {exc}") from None
