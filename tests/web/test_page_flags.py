"""The landing page skips the promise, plan and dispute reads a case has nothing for (one EXISTS query,
:mod:`dunning.store.page_flags`), on SQLite and PostgreSQL; the flags are read again on every opening, so
a promise, a plan or a dispute recorded after a first opening shows on the next one of the same reader
(each assertion below fails if the flags, or the offers, were kept from the first opening)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dunning.domain.plans.model import CreatedVia
from dunning.store.claim_stamp import load_claim_stamp
from dunning.store.page_flags import PageFlags, load_page_flags
from dunning.usecases.paypage.claim import PayPageReader
from dunning.usecases.paypage.dispute import open_dispute
from dunning.usecases.paypage.landing import landing
from dunning.usecases.paypage.promise import make_promise
from dunning.usecases.plans.create import create_plan
from tests.web.helpers import VISIT_DAY, Letters

AT = datetime(2026, 11, 5, 17, 0, tzinfo=UTC)


def flags(letters: Letters, case_id: int) -> PageFlags:
    """The case's flags; on PostgreSQL the stamp's statement reads the same ones (the landing page uses those)."""
    with letters.store.begin() as conn:
        found = load_page_flags(conn, case_id)
        stamp = load_claim_stamp(conn, case_id)
    assert stamp is not None
    assert stamp.flags == (found if letters.store.dialect == "postgresql" else None)
    return found


def token_of(path: str) -> str:
    return path.split("/")[-1].split("?")[0]


def test_a_promise_a_plan_and_a_dispute_made_after_a_first_opening_show_on_the_next(letters: Letters) -> None:
    store, workspace = letters.store, letters.workspace
    promised, planned, disputed = letters.sent[1], letters.sent[2], letters.sent[3]
    reader = PayPageReader(store, workspace)  # one reader: it keeps the claims it built
    nothing = PageFlags(promises=False, plans=False, dispute=False)
    for letter in (promised, planned, disputed):
        assert flags(letters, letter.case_id) == nothing
        first = landing(reader, token_of(letter.path), VISIT_DAY, None)
        assert first.promise.open is None and first.promise.offered
        assert first.plan.plan is None and first.plan.proposal is not None and first.plan.refused is None

    day = VISIT_DAY + timedelta(days=7)
    make_promise(store, workspace, promised.case_id, day, today=VISIT_DAY, recorded_at=AT)
    assert flags(letters, promised.case_id) == PageFlags(promises=True, plans=False, dispute=False)
    after = landing(reader, token_of(promised.path), VISIT_DAY, None)
    assert after.promise.open is not None and after.promise.open.promised == day

    offer = landing(reader, token_of(planned.path), VISIT_DAY, None).plan
    assert offer.proposal is not None
    count = offer.proposal.options[0].count
    create_plan(
        store,
        str(planned.case_id),
        count=count,
        today=VISIT_DAY,
        policy=offer.policy,
        created_by="debtor (pay page)",
        created_via=CreatedVia.PAY_PAGE,
        recorded_at=AT,
    )
    assert flags(letters, planned.case_id) == PageFlags(promises=False, plans=True, dispute=False)
    after_plan = landing(reader, token_of(planned.path), VISIT_DAY, None).plan
    assert after_plan.plan is not None and len(after_plan.schedule) == count and after_plan.proposal is None

    open_dispute(
        store,
        disputed.case_id,
        token_of(disputed.path),
        "not_mine",
        "not my invoice",
        on_date=VISIT_DAY,
        recorded_at=AT,
    )
    assert flags(letters, disputed.case_id) == PageFlags(promises=False, plans=False, dispute=True)
    held = landing(reader, token_of(disputed.path), VISIT_DAY, None).plan
    assert held.plan is None and held.proposal is None and held.refused == "held"
