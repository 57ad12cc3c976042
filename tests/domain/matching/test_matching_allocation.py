"""Allocation: §366/§367 BGB order, partial payments, overpayment credit, tolerance write-off."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.domain.matching.match import (
    LEGAL_ORDER_BGB_367,
    Allocated,
    CaseRef,
    CaseStatus,
    InvalidMatchInput,
    ItemKind,
    MatchConfig,
    OpenItem,
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


# Partial payments as properties: costs, then interest, then the invoices oldest first, money conserved.
cents = st.integers(0, 10_000_000).map(lambda c: D(c) / 100)
invoices = st.lists(
    st.tuples(st.text("ABC123", min_size=1, max_size=4), st.dates(date(2024, 1, 1), date(2025, 12, 31)), cents),
    max_size=6,
    unique_by=lambda item: item[0],
)


def owed(costs: Decimal, interest: Decimal, items: list[tuple[str, date, Decimal]]) -> CaseRef:
    """A case owing ``costs``, ``interest`` and the invoices ``(id, due date, open amount)``."""
    return case(
        "C1",
        cost("costs", str(costs)),
        cost("interest", str(interest), kind=ItemKind.INTEREST),
        *(inv(invoice_id, str(amount), due=due) for invoice_id, due, amount in items),
    )


def paid_to(result: Allocated, kind: ItemKind) -> Decimal:
    return sum((a.amount for a in result.allocations if a.kind is kind), D(0))


@given(cents, cents, cents, invoices)
def test_a_partial_payment_conserves_money_and_follows_the_legal_order(
    payment: Decimal, costs: Decimal, interest: Decimal, items: list[tuple[str, date, Decimal]]
) -> None:
    result = allocate(owed(costs, interest, items), payment)
    to_costs, to_interest = paid_to(result, ItemKind.COSTS), paid_to(result, ItemKind.INTEREST)
    principal = [(a.item_id, a.amount) for a in result.allocations if a.kind is ItemKind.PRINCIPAL]
    principal_total = sum((amount for _, amount in principal), D(0))
    assert to_costs + to_interest + principal_total + result.credit == payment
    assert result.credit >= 0 and result.write_offs == ()
    # interest only once costs are paid, principal only once interest is paid
    assert to_interest == 0 or to_costs == costs
    assert principal_total == 0 or to_interest == interest
    owed_by_invoice = {i: amount for i, _, amount in items}
    assert all(0 < part <= owed_by_invoice[i] for i, part in principal)
    assert len({i for i, _ in principal}) == len(principal)  # nothing allocated twice
    # oldest first: every invoice before the last one touched is paid in full
    ordered = [i for i, _, amount in sorted(items, key=lambda x: (x[1], x[0])) if amount > 0]
    touched = [i for i, _ in principal]
    assert touched == ordered[: len(touched)]
    assert all(part == owed_by_invoice[i] for i, part in principal[:-1])
    # a credit (overpayment) only when everything is paid
    assert result.credit == 0 or principal_total == sum((a for *_, a in items), D(0))


@given(cents, cents, cents, invoices, st.randoms())
def test_a_partial_payment_does_not_depend_on_the_invoice_order(  # type: ignore[no-untyped-def]
    payment: Decimal, costs: Decimal, interest: Decimal, items: list[tuple[str, date, Decimal]], rnd
) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    first, second = allocate(owed(costs, interest, items), payment), allocate(owed(costs, interest, shuffled), payment)
    assert (first.allocations, first.credit) == (second.allocations, second.credit)


def test_a_short_payment_pays_the_costs_then_part_of_the_interest_and_bad_amounts_are_refused() -> None:
    result = allocate(owed(D("40"), D("20"), [("A", date(2025, 1, 1), D("100"))]), D("50"))
    assert [(a.item_id, a.amount) for a in result.allocations] == [("costs", D("40")), ("interest", D("10"))]
    with pytest.raises(InvalidMatchInput, match="amount -1 is negative"):
        credit("T1", "-1")
    with pytest.raises(InvalidMatchInput, match="open amount -1 is negative"):
        cost("F1", "-1")
    with pytest.raises(InvalidMatchInput, match="not a decimal amount"):
        OpenItem("F1", ItemKind.COSTS, date(2025, 1, 1), 1.5)  # type: ignore[arg-type]
