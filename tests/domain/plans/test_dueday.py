"""The due day that fits: after the debtor's usual payment days, explained, overridable."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.domain.plans.dueday import ordinal, propose_due_day
from dunning.domain.plans.model import PlanError


def test_payments_just_after_payday_get_the_next_offered_day() -> None:
    paid = [date(2026, 7, 24), date(2026, 8, 25), date(2026, 9, 23), date(2026, 10, 26)]
    proposal = propose_due_day(paid, (1, 15))
    assert proposal.day == 1 and proposal.from_history
    assert proposal.explanation == (
        "your last 4 payments arrived between the 23rd and the 26th of the month, so instalments fall due on the 1st"
    )


def test_the_cluster_wins_over_an_odd_payment_and_wraps_round_the_month_end() -> None:
    paid = [date(2026, 5, 30), date(2026, 7, 1), date(2026, 8, 2), date(2026, 9, 14)]
    proposal = propose_due_day(paid, (5, 20))
    assert proposal.day == 5
    assert "(3 of them) between the 30th and the 2nd" in proposal.explanation


def test_override_and_bad_input() -> None:
    assert propose_due_day([date(2026, 1, 3)], (1,), override=12).day == 12
    with pytest.raises(PlanError, match="between 1 and 28"):
        propose_due_day([], (1,), override=30)
    with pytest.raises(PlanError, match="no day of the month"):
        propose_due_day([], ())


@given(
    st.lists(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)), max_size=30),
    st.sets(st.integers(1, 28), min_size=1, max_size=5),
)
def test_the_proposal_is_always_an_offered_day(paid: list[date], offered: set[int]) -> None:
    proposal = propose_due_day(paid, tuple(offered))
    assert proposal.day in offered
    assert proposal.explanation.endswith(ordinal(proposal.day))
    assert proposal.from_history == bool(paid)


def test_ordinals() -> None:
    assert [ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
        "31st",
    ]
