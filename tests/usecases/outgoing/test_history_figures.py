"""What the night reads back from a notice's recorded detail: the costs it announced and its deadline floor."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dunning.usecases.outgoing.legal import announced_costs, deadline_floor


def test_the_costs_a_wik_letter_announced_are_read_from_its_figures() -> None:
    detail = {"figures": [{"name": "payment_deadline_phrase", "amount": None},
                          {"name": "collection_costs_amount", "amount": "150.00"}]}
    assert announced_costs(detail) == Decimal("150.00")
    assert announced_costs({"figures": [{"name": "penalty_clause_amount", "amount": "20.00"}]}) is None
    assert announced_costs(None) is None


def test_the_deadline_floor_is_the_later_of_the_printed_deadline_and_the_day_before_the_legal_date() -> None:
    assert deadline_floor({"earliest_legal_date": "2026-11-20"}) == date(2026, 11, 19)
    assert deadline_floor({"earliest_legal_date": "2026-11-20", "deadline": "2026-11-25"}) == date(2026, 11, 25)
    assert deadline_floor({"earliest_legal_date": "2026-11-20", "deadline": "2026-11-10"}) == date(2026, 11, 19)
    assert deadline_floor({"deadline": "not a date"}) is None
    assert deadline_floor({}) is None
