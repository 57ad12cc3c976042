"""Allocation: §366/§367 BGB order, partial payments, overpayment credit, tolerance write-off."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dunning.domain.matching.match import (
    LEGAL_ORDER_BGB_367,
    CaseStatus,
    ItemKind,
    MatchConfig,
    allocate,
    match_payments,
)
from dunning.errors import ConfigError
from tests.domain.matching.builders import D, allocated, case, cost, credit, inv, ogm, open_amounts, outcome

REF = ogm(1234567890)


def dunned_case() -> list:  # type: ignore[type-arg]
    """An invoice of 100 (older) and one of 60, a 15 fee and 2.50 interest on the first."""
    return [
        case(
            "C1",
            inv("I2", "60.00", due=date(2026, 2, 1), number="RE-1002"),
            inv("I1", "100.00", due=date(2026, 1, 1), number="RE-1001"),
            cost("F1", "15.00"),
            cost("Z1", "2.50", kind=ItemKind.INTEREST, invoice_id="I1"),
            ref=REF,
        )
    ]


def test_bgb_367_costs_then_interest_then_principal_oldest_first() -> None:
    result = match_payments([credit("T1", "50.00", ref=REF)], dunned_case())
    (m,) = result.matched
    assert [(a.item_id, a.kind, a.amount) for a in m.allocations] == [
        ("F1", ItemKind.COSTS, D("15.00")),
        ("Z1", ItemKind.INTEREST, D("2.50")),
        ("I1", ItemKind.PRINCIPAL, D("32.50")),
    ]
    assert open_amounts(result, "C1") == {"I2": D("60.00"), "I1": D("67.50"), "F1": D(0), "Z1": D(0)}


def test_allocation_order_is_a_parameter() -> None:
    principal_first = (ItemKind.PRINCIPAL, ItemKind.INTEREST, ItemKind.COSTS)
    config = MatchConfig(allocation_order=principal_first)
    result = match_payments([credit("T1", "110.00", ref=REF)], dunned_case(), config=config)
    assert allocated(result, "T1") == {"I1": D("100.00"), "I2": D("10.00")}


def test_allocation_order_must_name_each_kind_once() -> None:
    with pytest.raises(ConfigError, match="allocation_order"):
        MatchConfig(allocation_order=(ItemKind.COSTS, ItemKind.COSTS, ItemKind.PRINCIPAL))


def test_named_invoice_first_but_costs_still_come_first() -> None:
    config = MatchConfig(invoice_number_pattern=r"RE-\d{4}")
    result = match_payments([credit("T1", "75.00", ref=REF, text="RE-1002")], dunned_case(), config=config)
    # Costs 15, then the interest (it belongs to I1, not named), then the named I2, then I1.
    (m,) = result.matched
    assert [(a.item_id, a.amount) for a in m.allocations] == [
        ("F1", D("15.00")),
        ("Z1", D("2.50")),
        ("I2", D("57.50")),
    ]


def test_oldest_first_ties_broken_by_id_not_input_order() -> None:
    same_day = date(2026, 1, 1)
    items_a = (inv("B", "10", due=same_day), inv("A", "10", due=same_day))
    items_b = tuple(reversed(items_a))
    for items in (items_a, items_b):
        result = allocate(case("C1", *items), D("10"))
        assert [a.item_id for a in result.allocations] == ["A"]


def test_overpayment_becomes_a_credit_on_the_case() -> None:
    result = match_payments([credit("T1", "200.00", ref=REF)], dunned_case())
    (m,) = result.matched
    assert m.credit == D("22.50")
    o = outcome(result, "C1")
    assert o.credit == D("22.50") and o.open_total == 0 and o.status is CaseStatus.PAID
    (r,) = result.records
    assert r.credit_case_id == "C1" and r.credit == D("22.50") and r.unapplied == 0


def test_existing_credit_is_kept_and_added_to() -> None:
    cases = [case("C1", inv("I1", "10"), ref=REF, credit="5.00")]
    result = match_payments([credit("T1", "12", ref=REF)], cases)
    assert outcome(result, "C1").credit == D("7.00")


def test_underpayment_within_tolerance_is_written_off() -> None:
    # AC-23: 4.99 paid for 5.00 ("the 1 cent coin is not used in NL").
    cases = [case("C1", inv("I1", "5.00"), inv("I2", "8.00", due=date(2026, 3, 1)), ref=REF)]
    config = MatchConfig(tolerance=Decimal("0.05"))
    result = match_payments([credit("T1", "4.99", ref=REF)], cases, config=config)
    (m,) = result.matched
    assert [(w.item_id, w.amount) for w in m.write_offs] == [("I1", D("0.01"))]
    assert open_amounts(result, "C1") == {"I1": D(0), "I2": D("8.00")}
    assert outcome(result, "C1").written_off == D("0.01")


def test_underpayment_beyond_tolerance_stays_partial() -> None:
    config = MatchConfig(tolerance=Decimal("0.05"))
    cases = [case("C1", inv("I1", "5.00"), ref=REF)]
    result = match_payments([credit("T1", "4.90", ref=REF)], cases, config=config)
    assert result.matched[0].write_offs == ()
    assert open_amounts(result, "C1") == {"I1": D("0.10")}
    assert outcome(result, "C1").status is CaseStatus.PARTIAL


def test_zero_tolerance_writes_nothing_off() -> None:
    result = match_payments([credit("T1", "99.99", ref=REF)], [case("C1", inv("I1", "100"), ref=REF)])
    assert result.matched[0].write_offs == () and open_amounts(result, "C1") == {"I1": D("0.01")}


def test_one_payment_settles_two_invoices() -> None:
    # AC-24: the text lists two invoice numbers; the amount is their sum.
    cases = [
        case(
            "C1",
            inv("I1", "100", number="RE-1001"),
            inv("I2", "60", number="RE-1002"),
            inv("I3", "40", number="RE-1003", due=date(2025, 12, 1)),
        )
    ]
    config = MatchConfig(invoice_number_pattern=r"RE-\d{4}")
    result = match_payments([credit("T1", "160", text="RE-1001, RE-1002")], cases, config=config)
    assert allocated(result, "T1") == {"I1": D("100"), "I2": D("60")}  # not the older I3
    assert open_amounts(result, "C1")["I3"] == D("40")


def test_two_payments_settle_one_invoice() -> None:
    cases = [case("C1", inv("I1", "100"), ref=REF)]
    txs = [credit("T1", "40", ref=REF, on=date(2026, 3, 1)), credit("T2", "60", ref=REF, on=date(2026, 3, 5))]
    result = match_payments(txs, cases)
    assert allocated(result, "T1") == {"I1": D("40")} and allocated(result, "T2") == {"I1": D("60")}
    assert outcome(result, "C1").status is CaseStatus.PAID and outcome(result, "C1").paid == D("100")


def test_allocate_is_pure() -> None:
    (c,) = dunned_case()
    before = c.open_total
    result = allocate(c, D("50"), order=LEGAL_ORDER_BGB_367)
    assert c.open_total == before  # the input is untouched
    assert result.case.open_total == before - D("50")
    assert result.credit == 0


def test_case_outcome_applies_to_the_case() -> None:
    (c,) = dunned_case()
    result = match_payments([credit("T1", "20", ref=REF)], [c])
    new = result.cases[0].apply_to(c)
    assert new.open_total == c.open_total - D("20")
    assert {i.item_id: i.open_amount for i in new.items} == open_amounts(result, "C1")


def test_a_reviewed_suggestion_is_applied_and_can_then_be_undone() -> None:
    from dunning.domain.matching.match import apply_reviewed
    from tests.domain.matching.builders import debit

    (c,) = dunned_case()
    queued = match_payments([credit("T1", "20.00", name="someone", e2e="E-R")], [c])
    (record,) = queued.records
    assert record.unapplied == D("20.00")
    applied, result = apply_reviewed(record, c)
    assert applied.unapplied == 0 and sum(a.amount for a in applied.allocations) == D("20.00")
    assert result.case.open_total == c.open_total - D("20.00")
    undo = match_payments([debit("R1", "20.00", reason="MD06", e2e="E-R")], [result.case], history=[applied])
    assert open_amounts(undo, "C1") == {i.item_id: i.open_amount for i in c.items}
