"""The schedule builder: exact to the cent, the last instalment takes the rounding, dates on the day."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.domain.plans.model import PlanError
from dunning.domain.plans.references import case_reference_of
from dunning.domain.plans.schedule import add_months, monthly_due_dates, split_amount

from .helpers import OGM_CASE, RF_CASE, invariant, plan, positive


@given(positive, st.integers(min_value=1, max_value=99))
def test_split_sums_to_the_total_and_the_last_takes_the_rounding(total: Decimal, count: int) -> None:
    if total < Decimal("0.01") * count:
        with pytest.raises(PlanError):
            split_amount(total, count)
        return
    parts = split_amount(total, count)
    assert len(parts) == count
    assert sum(parts) == total
    assert len(set(parts[:-1])) <= 1  # all but the last are equal
    assert Decimal(0) <= parts[-1] - parts[0] < Decimal("0.01") * count  # the last carries less than a cent each
    assert all(p == p.quantize(Decimal("0.01")) and p > 0 for p in parts)


def test_split_refuses_fractions_of_a_cent_and_no_instalments() -> None:
    with pytest.raises(PlanError, match="whole number of cents"):
        split_amount(Decimal("10.005"), 2)
    with pytest.raises(PlanError, match="at least one instalment"):
        split_amount(Decimal("10.00"), 0)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(1, 31), st.integers(1, 24))
def test_due_dates_are_monthly_on_the_day_and_never_before_the_start(start: date, day: int, count: int) -> None:
    dates = monthly_due_dates(start, day, count)
    assert len(dates) == count
    assert dates[0] >= start
    assert dates[0] - start < timedelta(days=31)
    for earlier, later in itertools.pairwise(dates):
        assert (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month) == 1
    for due in dates:
        assert due.day == day or (due.day < day and (due + timedelta(days=1)).day == 1)  # clamped to month end


def test_add_months_clamps_to_short_months() -> None:
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 12, 15), 2, 31) == date(2028, 2, 29)


@given(
    st.tuples(
        st.decimals(min_value=0, max_value=500, places=2),
        st.decimals(min_value=1, max_value=9000, places=2),
        st.decimals(min_value=0, max_value=300, places=2),
    ),
    st.integers(1, 24),
    st.integers(1, 28),
)
def test_a_built_plan_collects_exactly_what_is_owed(
    owed: tuple[Decimal, Decimal, Decimal], count: int, day: int
) -> None:
    if sum(owed) < Decimal("0.01") * count:
        return
    built = plan(tuple(str(v) for v in owed), count, day)  # type: ignore[arg-type]
    invariant(built)
    assert built.total == sum(owed)
    assert all(i.due_date.day == day for i in built.instalments)
    refs = [i.reference for i in built.instalments]
    assert len(set(refs)) == count and OGM_CASE not in refs
    assert [case_reference_of(r) for r in refs] == [(OGM_CASE, n) for n in range(1, count + 1)]


def test_a_plan_that_does_not_add_up_is_refused() -> None:
    from dataclasses import replace

    built = plan()
    wrong = replace(built.instalments[0], amount=built.instalments[0].amount + Decimal("0.01"))
    with pytest.raises(PlanError, match=r"instalments sum to 300\.01, not the 300\.00 owed"):
        built.with_instalments((wrong, *built.instalments[1:]))


def test_waived_interest_is_not_collected_and_rf_plans_get_rf_references() -> None:
    from dunning.domain.plans.model import CreatedVia, InterestPolicy
    from dunning.domain.plans.schedule import PlanTerms, build_arrangement

    terms = PlanTerms(
        2, 15, date(2027, 1, 5), "debtor", CreatedVia.PAY_PAGE, "1", interest_policy=InterestPolicy.WAIVED
    )
    built = build_arrangement(
        "P",
        ("C",),
        RF_CASE,
        "EUR",
        (Decimal("5.00"), Decimal("100.00"), Decimal("7.77")),
        terms,
        date(2027, 1, 5),
        "NL-consumer",
    )
    assert built.total == Decimal("105.00")
    assert [str(i.amount) for i in built.instalments] == ["52.50", "52.50"]
    assert [i.reference[:2] for i in built.instalments] == ["RF", "RF"]
    assert built.instalments[0].due_date == date(2027, 1, 15)


def test_a_plan_cannot_start_in_the_past() -> None:
    from dunning.domain.plans.model import CreatedVia
    from dunning.domain.plans.schedule import PlanTerms, build_arrangement

    terms = PlanTerms(2, 1, date(2027, 1, 1), "clerk", CreatedVia.CLI, "1")
    with pytest.raises(PlanError, match="cannot start before today"):
        build_arrangement(
            "P", ("C",), OGM_CASE, "EUR", (Decimal(0), Decimal(10), Decimal(0)), terms, date(2027, 1, 5), "BE-consumer"
        )
