"""The landing page in one go: the claim, the promise and plan offers, and the visit, for one request.

The web layer calls :func:`landing` once (one trip to its thread pool) instead of once per part; the
claim comes from the reader's kept pages when the case's stamp is unchanged
(:class:`~dunning.usecases.paypage.claim.PayPageReader`). Given the server's fingerprint, a prepared page
of the link for the day (:mod:`dunning.store.prepared_pages`) that matches what is read now is all it
returns: nothing else is read or built.
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
    """What the landing page shows: the claim and what the debtor may ask for, or the prepared page."""

    page: PayPage | None
    promise: PromiseOffer | None
    plan: PlanOffer | None
    #: the case's claim stamp, read in the same transaction (a page made from this landing is kept under it)
    stamp: str = ""
    #: the prepared page, served as it is (then the three above are None)
    html: bytes | None = None


def offers(reader: PayPageReader, page: PayPage, today: date) -> tuple[PromiseOffer, PlanOffer]:
    """The promise and plan offers of ``page``'s case on ``today``."""
    return (
        promise_offer(reader.store, reader.workspace, page.case_id, today),
        plan_offer(reader.store, reader.workspace, page.case_id, today),
    )


def landing(
    reader: PayPageReader,
    token: str,
    today: date,
    visit: tuple[str, datetime] | None,
    fingerprint: str | None = None,
) -> Landing:
    """The landing page of ``token`` on ``today``, recording ``visit`` (medium, moment) when given.

    ``fingerprint``: the server's (:mod:`dunning.store.prepared_pages`); the prepared page is returned
    when it matches. Raises what :meth:`PayPageReader.page` raises (invalid, expired, revoked, unknown case).
    """
    # one transaction (one connection checkout, one commit): the stamp, the visit, the claim, the offers
    with reader.store.begin() as conn:
        opening = reader.open_in(conn, token, today, visit, fingerprint)
        if opening.html is not None:
            return Landing(None, None, None, opening.stamp, opening.html)
        page, flags = opening.page, opening.flags
        assert page is not None
        if flags is None:  # not read with the stamp (SQLite): what the case has, so the offers skip empty reads
            flags = load_page_flags(conn, page.case_id)
        promise = promise_offer_in(conn, reader.workspace, page.case_id, today, flags)
        plan = plan_offer_in(conn, reader.workspace, page.case_id, today, flags)
    return Landing(page, promise, plan, opening.stamp)
