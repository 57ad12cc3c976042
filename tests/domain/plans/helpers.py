"""Builders and strategies for the plan tests (pure, no store)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import strategies as st

from dunning.domain.plans.model import Arrangement, ArrangementStatus, CreatedVia
from dunning.domain.plans.schedule import PlanTerms, build_arrangement
from dunning.domain.references import ogm_from_case, rf_from_case

TODAY = date(2027, 1, 5)
OGM_CASE = ogm_from_case(1234).compact
RF_CASE = rf_from_case("C-2027-0042").compact

amounts = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("50000.00"), places=2)
positive = st.decimals(min_value=Decimal("1.00"), max_value=Decimal("50000.00"), places=2)


def plan(
    owed: tuple[str, str, str] = ("0.00", "300.00", "0.00"),
    count: int = 3,
    day: int = 1,
    reference: str = OGM_CASE,
    active: bool = True,
) -> Arrangement:
    terms = PlanTerms(count, day, TODAY, "clerk", CreatedVia.CLI, "2026-12")
    built = build_arrangement(
        "P1",
        ("C1",),
        reference,
        "EUR",
        tuple(Decimal(v) for v in owed),  # type: ignore[arg-type]
        terms,
        TODAY,
        "BE-consumer",
    )
    if active:
        from dataclasses import replace

        return replace(built, status=ArrangementStatus.ACTIVE)
    return built


def invariant(arrangement: Arrangement) -> None:
    """The plan's money adds up: instalments sum to the total; paid + open + waived = total."""
    assert sum(i.amount for i in arrangement.instalments) == arrangement.total
    assert arrangement.paid + arrangement.open + arrangement.waived == arrangement.total
    for item in arrangement.instalments:
        assert item.open >= 0
        assert item.amount == item.amount.quantize(Decimal("0.01"))
