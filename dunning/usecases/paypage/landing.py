"""The landing page in one go: the claim, the promise and plan offers, and the visit, for one request.

The web layer calls :func:`landing` once (one trip to its thread pool) instead of once per part; the
claim comes from the reader's kept pages when the case's stamp is unchanged
(:class:`~dunning.usecases.paypage.claim.PayPageReader`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dunning.store.page_flags import load_page_flags
from dunning.usecases.paypage.claim import PayPage, PayPageReader
from dunning.usecases.paypage.plan import PlanOffer, plan_offer, plan_offer_in
from dunning.usecases.paypage.promise import PromiseOffer, promise_offer, promise_offer_in

__all__ = ["Landing", "landing", "offers"]


@dataclass(frozen=True, slots=True)
class Landing:
    """What the landing page shows: the claim and what the debtor may ask for."""

    page: PayPage
    promise: PromiseOffer
    plan: PlanOffer


def offers(reader: PayPageReader, page: PayPage, today: date) -> tuple[PromiseOffer, PlanOffer]:
    """The promise and plan offers of ``page``'s case on ``today``."""
    return (
        promise_offer(reader.store, reader.workspace, page.case_id, today),
        plan_offer(reader.store, reader.workspace, page.case_id, today),
    )


def landing(reader: PayPageReader, token: str, today: date, visit: tuple[str, datetime] | None) -> Landing:
    """The landing page of ``token`` on ``today``, recording ``visit`` (medium, moment) when given.

    Raises what :meth:`PayPageReader.page` raises (invalid, expired, revoked, unknown case).
    """
    # one transaction (one connection checkout, one commit): the stamp, the visit, the claim, the offers
    with reader.store.begin() as conn:
        page, flags = reader.page_and_flags_in(conn, token, today, visit)
        if flags is None:  # not read with the stamp (SQLite): what the case has, so the offers skip empty reads
            flags = load_page_flags(conn, page.case_id)
        promise = promise_offer_in(conn, reader.workspace, page.case_id, today, flags)
        plan = plan_offer_in(conn, reader.workspace, page.case_id, today, flags)
    return Landing(page, promise, plan)
