"""Prepared pay pages in the store: which links went out lately, keeping a page, forgetting old ones.

What a prepared page is and when it is served: :mod:`dunning.store.prepared_pages` (the rows) and
:mod:`dunning.web.prepared` (making them, as the server does).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dunning.domain import paylink
from dunning.store import Store
from dunning.store.prepared_pages import delete_prepared_before, page_key, save_prepared, sent_link_days
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.workspace import Workspace

__all__ = ["forget_prepared_before", "keep_page", "sent_links"]


def sent_links(store: Store, workspace: Workspace, since: date, until: date) -> list[str]:
    """The tokens of the pay links of the letters, emails and SMS that went out from ``since`` to ``until``.

    A message's link counts from the day it went out (:mod:`dunning.usecases.outgoing.paylinks`); one
    token per case and day, in case order.
    """
    secret = load_secrets(workspace).paylink
    valid = timedelta(days=workspace.config.paylink.valid_days)
    with store.begin() as conn:
        found = sent_link_days(conn, since, until)
    return [paylink.make_token(str(case_id), day + valid, secret) for case_id, day in sorted(found)]


def keep_page(
    store: Store, token: str, case_id: int, day: date, stamp: str, fingerprint: str, html: bytes, at: datetime
) -> None:
    """Keep ``html`` as the prepared page of ``token`` for ``day``, made from the claim of ``stamp``."""
    with store.begin() as conn:
        save_prepared(conn, page_key(token), case_id, day, stamp, fingerprint, html, at)


def forget_prepared_before(store: Store, day: date) -> int:
    """Forget the pages prepared for days before ``day`` (never served again); how many went."""
    with store.begin() as conn:
        return delete_prepared_before(conn, day)
