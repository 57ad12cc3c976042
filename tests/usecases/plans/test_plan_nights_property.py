"""Property: whatever payments arrive and whichever nights run, a plan's nights are idempotent and its sums hold.

Hypothesis draws a plan (2 to 6 instalments, a due day), a handful of payments (on any day, of half, one, one
and a half or two instalments, with an instalment's own reference or the case's) and the nights that run
(every 4 to 15 days over five months, and each day a payment is booked). Each night runs twice on the real
store (SQLite): the second run must change nothing. At the end: the stored instalments still sum to the
plan's total, no more is credited to the plan than was paid, no instalment is credited beyond its amount, and
no plan action is recorded twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dunning.domain.references import parse_reference
from dunning.store import open_store
from dunning.store.schema import actions, cases, plan_credits
from dunning.usecases.plans.create import create_plan, list_plans
from dunning.usecases.reconcile.run import reconcile_files
from dunning.workspace import open_workspace
from tests.usecases.notify.helpers import IMPORTED, RECORDED, case_of, import_and_plan, make_workspace
from tests.usecases.plans.test_plan_bot_store import _night, _snapshot
from tests.usecases.reconcile.camt_build import Payment, write_camt

AGREED = date(2026, 10, 6)
HORIZON = 150  # days after the plan is agreed

payments_drawn = st.lists(
    st.tuples(
        st.integers(0, HORIZON),  # the day it is booked, after AGREED
        st.sampled_from(["0.5", "1", "1.5", "2"]),  # in instalments
        st.integers(0, 6),  # 0: the case's own reference; k: instalment k's (or the last one's)
    ),
    max_size=5,
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(count=st.integers(2, 6), day=st.sampled_from([1, 15, 28]), paid=payments_drawn, every=st.integers(4, 15))
def test_every_night_twice_changes_nothing_and_the_plan_never_credits_more_than_was_paid(
    tmp_path_factory, count: int, day: int, paid: list[tuple[int, str, int]], every: int  # type: ignore[no-untyped-def]
) -> None:
    root = tmp_path_factory.mktemp("plan")
    store_url = f"sqlite:///{root / 'state.db'}"
    store = open_store(store_url)
    try:
        made = make_workspace(root / "ws", store_url)
        import_and_plan(store, made, night=IMPORTED)
        workspace = open_workspace(made.root, environ={})
        plan = create_plan(store, "R1", count=count, day=day, today=AGREED, policy=workspace.config.plans.policy(),
                           created_by="clerk", recorded_at=RECORDED).plan
        with store.begin() as conn:
            case_ref = conn.execute(select(cases.c.reference).where(cases.c.id == case_of(store, "R1"))).scalar_one()
        by_day: dict[int, list[Payment]] = {}
        received = Decimal("0.00")
        for n, (offset, share, target) in enumerate(paid):
            instalment = plan.instalments[min(target, count) - 1] if target else plan.instalments[0]
            amount = (instalment.amount * Decimal(share)).quantize(Decimal("0.01"))
            ref = parse_reference(instalment.reference if target else case_ref).printed
            by_day.setdefault(offset, []).append(Payment(str(amount), ref=ref, end_to_end=f"E-{n}", bank_ref=f"B-{n}"))
            received += amount
        nights = set(range(0, HORIZON + 1, every)) | set(by_day)
        for offset in sorted(nights):
            today = AGREED + timedelta(days=offset)
            if offset in by_day:
                camt = write_camt(root, f"pay-{offset}.xml", "054", by_day[offset], day=today, msg_id=f"M-{offset}")
                reconcile_files(store, workspace, [camt], as_of=today)
            _night(store, workspace, today)
            before = _snapshot(store)
            _night(store, workspace, today)
            assert _snapshot(store) == before, f"the night of {today} changed something when run again"

        stored = list_plans(store)[0].plan
        assert sum((i.amount for i in stored.instalments), Decimal("0.00")) == stored.total
        with store.begin() as conn:
            credits = conn.execute(select(plan_credits.c.number, plan_credits.c.amount)
                                   .where(plan_credits.c.reversed_on.is_(None))).all()
            recorded = conn.execute(select(actions.c.action, actions.c.detail)
                                    .where(actions.c.action.like("plan_%"))).all()
        credited = sum((Decimal(a) for _, a in credits), Decimal("0.00"))
        assert credited <= received and credited <= stored.total
        assert stored.paid == credited
        per_instalment = Counter[int]()
        for number, amount in credits:
            per_instalment[number] += Decimal(amount)  # type: ignore[assignment]
        for instalment in stored.instalments:
            assert per_instalment[instalment.number] <= instalment.amount, instalment
        keys = Counter((action, str((detail or {}).get("number")), str((detail or {}).get("due")))
                       for action, detail in recorded)
        assert all(n == 1 for n in keys.values()), [k for k, n in keys.items() if n > 1]
    finally:
        store.dispose()
