"""AC-24: one payment for several invoices, named in the free text or found by their sum (known payer account)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.domain.matching.match import CaseStatus, ItemKind, MatchConfig, Rule, match_payments
from dunning.domain.matching.model import OpenItem
from dunning.domain.matching.subset import MAX_ITEMS, find_subset
from tests.domain.matching.builders import D, allocated, case, cost, credit, debit, inv, open_amounts, outcome

IBAN = "BE68539007547034"
OTHER_IBAN = "NL91ABNA0417164300"
TOLERANCE = MatchConfig(tolerance=Decimal("0.05"))


def due(month: int) -> date:
    return date(2026, month, 15)


def debtor(*items: OpenItem, case_id: str = "C1", ibans: tuple[str, ...] = (IBAN,)) -> list:  # type: ignore[type-arg]
    return [case(case_id, *items, ibans=ibans, name="Jan Peeters")]


def notes(evidence: tuple) -> list[str]:  # type: ignore[type-arg]
    return [e.note for e in evidence]


# ---------------------------------------------------------------- invoices named in the free text


def test_named_invoices_are_paid_even_when_older_ones_are_open() -> None:
    cases = debtor(
        inv("I1", "80.00", due(1), number="RE-1000"),
        inv("I2", "10.00", due(2), number="RE-1001"),
        inv("I3", "20.00", due(3), number="RE-1002"),
    )
    config = MatchConfig(invoice_number_pattern=r"RE-\d{4}")
    result = match_payments([credit("T1", "30.00", text="Rechnungen RE-1001, RE-1002")], cases, config=config)
    (m,) = result.matched
    assert m.rule is Rule.TEXT_REFERENCE
    assert allocated(result, "T1") == {"I2": D("10.00"), "I3": D("20.00")}
    assert open_amounts(result, "C1") == {"I1": D("80.00"), "I2": D("0"), "I3": D("0")}
    assert [(e.found, e.note) for e in m.evidence] == [
        ("RE-1001", "invoice number of I2 in case C1"),
        ("RE-1002", "invoice number of I3 in case C1"),
    ]


# ---------------------------------------------------------------- the sum of open invoices, known account


def test_sum_of_two_invoices_of_one_debtor() -> None:
    cases = debtor(inv("I1", "100.00", due(1)), inv("I2", "50.00", due(2)), inv("I3", "30.00", due(3)))
    result = match_payments([credit("T1", "130.00", iban=IBAN)], cases)
    (m,) = result.matched
    assert (m.rule, m.case_id, m.credit, m.write_offs) == (Rule.DEBTOR_IBAN, "C1", D("0"), ())
    assert allocated(result, "T1") == {"I1": D("100.00"), "I3": D("30.00")}
    assert open_amounts(result, "C1") == {"I1": D("0"), "I2": D("50.00"), "I3": D("0")}
    assert outcome(result, "C1").status is CaseStatus.PARTIAL
    assert [e.where for e in m.evidence] == ["debtor_iban", "amount"]
    assert m.evidence[1].note == "equals the sum of 2 open invoices of case C1: I1 100.00 + I3 30.00 = 130.00"
    assert all(IBAN not in e.found for e in m.evidence)  # the account itself is never repeated


def test_sum_of_three_invoices_of_one_debtor() -> None:
    cases = debtor(
        inv("I1", "12.50", due(1)),
        inv("I2", "40.00", due(2)),
        inv("I3", "7.25", due(3)),
        inv("I4", "99.00", due(4)),
        inv("I5", "31.10", due(5)),
    )
    # 40.00 + 7.25 + 31.10 = 78.35; no single invoice, no pair, not the total.
    result = match_payments([credit("T1", "78.35", iban=IBAN)], cases)
    (m,) = result.matched
    assert allocated(result, "T1") == {"I2": D("40.00"), "I3": D("7.25"), "I5": D("31.10")}
    assert "I2 40.00 + I3 7.25 + I5 31.10 = 78.35" in m.evidence[1].note
    assert not any("ambiguous" in n for n in notes(m.evidence))


def test_a_single_invoice_still_wins_over_a_sum() -> None:
    # 80 is one invoice (I3) and also I1 + I2: the existing one-invoice rule decides, no search.
    cases = debtor(inv("I1", "30.00", due(1)), inv("I2", "50.00", due(2)), inv("I3", "80.00", due(3)))
    result = match_payments([credit("T1", "80.00", iban=IBAN)], cases)
    assert allocated(result, "T1") == {"I3": D("80.00")}
    assert result.matched[0].evidence[1].note == "equals the open amount of I3"


def test_ambiguous_sums_pay_the_oldest_invoices_and_say_so() -> None:
    cases = debtor(
        inv("I1", "30.00", due(1)), inv("I2", "70.00", due(2)), inv("I3", "50.00", due(3)), inv("I4", "50.00", due(4))
    )
    result = match_payments([credit("T1", "100.00", iban=IBAN)], cases)
    (m,) = result.matched
    assert allocated(result, "T1") == {"I1": D("30.00"), "I2": D("70.00")}
    assert "ambiguous: I3 + I4 would fit as well; the oldest invoices are paid first" in notes(m.evidence)


def test_ambiguous_without_the_oldest_invoice_still_goes_oldest_first() -> None:
    # The oldest invoice (I1) is in no fitting sum; B+C, B+D, C+E, D+E all make 100: B+C is the oldest.
    cases = debtor(
        inv("I1", "500.00", due(1)),
        inv("I2", "40.00", due(2)),
        inv("I3", "60.00", due(3)),
        inv("I4", "60.00", due(4)),
        inv("I5", "40.00", due(5)),
    )
    result = match_payments([credit("T1", "100.00", iban=IBAN)], cases)
    (m,) = result.matched
    assert allocated(result, "T1") == {"I2": D("40.00"), "I3": D("60.00")}
    assert any(n.startswith("ambiguous: I2 + I4") for n in notes(m.evidence))


def test_due_date_not_input_order_decides_which_is_oldest() -> None:
    items = [inv("A", "50.00", due(5)), inv("B", "50.00", due(1)), inv("C", "50.00", due(3))]
    for order in (items, items[::-1], [items[1], items[0], items[2]]):
        result = match_payments([credit("T1", "100.00", iban=IBAN)], debtor(*order, inv("Z", "1.00", due(9))))
        assert allocated(result, "T1") == {"B": D("50.00"), "C": D("50.00")}


def test_an_exact_sum_beats_an_older_one_within_the_tolerance() -> None:
    cases = debtor(inv("I1", "100.03", due(1)), inv("I2", "50.00", due(2)), inv("I3", "100.00", due(3)))
    result = match_payments([credit("T1", "150.00", iban=IBAN)], cases, config=TOLERANCE)
    (m,) = result.matched
    assert allocated(result, "T1") == {"I2": D("50.00"), "I3": D("100.00")} and m.write_offs == ()
    assert "ambiguous: I1 + I2 would fit as well; the oldest invoices are paid first" in notes(m.evidence)


def test_a_sum_that_fits_nothing_is_only_suggested() -> None:
    cases = debtor(inv("I1", "100.00", due(1)), inv("I2", "50.00", due(2)), inv("I3", "30.00", due(3)))
    result = match_payments([credit("T1", "120.00", iban=IBAN)], cases)
    assert result.matched == () and result.cases == ()
    (s,) = result.suggested
    assert s.rule is Rule.DEBTOR_IBAN
    assert s.reason == "known debtor account; the amount fits neither the open total nor one invoice"
    assert not any("sum" in n for c in s.candidates for n in notes(c.evidence))


def test_invoices_of_two_debtors_are_never_summed_together() -> None:
    shared = [
        # A couple paying from one account: two debtors, two cases, the same IBAN.
        case("C1", inv("I1", "100.00", due(1)), inv("I9", "7.00", due(2)), ibans=(IBAN,)),
        case("C2", inv("I2", "50.00", due(1)), inv("I8", "3.00", due(2)), ibans=(IBAN,)),
    ]
    elsewhere = [
        case("C1", inv("I1", "100.00", due(1)), inv("I9", "7.00", due(2)), ibans=(IBAN,)),
        case("C2", inv("I2", "50.00", due(1)), ibans=(OTHER_IBAN,)),
    ]
    for cases in (shared, elsewhere):
        result = match_payments([credit("T1", "150.00", iban=IBAN)], cases)  # = C1.I1 + C2.I2
        assert result.matched == () and result.cases == ()
        (s,) = result.suggested
        assert not any("sum" in n for c in s.candidates for n in notes(c.evidence))


def test_sums_in_two_cases_of_one_account_go_to_review() -> None:
    cases = [
        case("C1", inv("I1", "60.00", due(1)), inv("I2", "40.00", due(2)), inv("I3", "5.00", due(3)), ibans=(IBAN,)),
        case("C2", inv("I4", "70.00", due(1)), inv("I5", "30.00", due(2)), inv("I6", "9.00", due(3)), ibans=(IBAN,)),
    ]
    result = match_payments([credit("T1", "100.00", iban=IBAN)], cases)
    assert result.matched == () and result.cases == ()
    (s,) = result.suggested
    assert s.reason == "known debtor account; the amount equals sums of invoices in several cases"
    assert [c.case_id for c in s.candidates] == ["C1", "C2"]
    assert "I4 70.00 + I5 30.00 = 100.00" in s.candidates[1].evidence[1].note


def test_tolerance_is_respected() -> None:
    cases = debtor(inv("I1", "100.00", due(1)), inv("I2", "50.00", due(2)), inv("I3", "20.00", due(3)))
    within = match_payments([credit("T1", "149.96", iban=IBAN)], cases, config=TOLERANCE)
    (m,) = within.matched
    assert allocated(within, "T1") == {"I1": D("100.00"), "I2": D("49.96")}
    assert [(w.item_id, w.amount) for w in m.write_offs] == [("I2", D("0.04"))]
    assert open_amounts(within, "C1") == {"I1": D("0"), "I2": D("0"), "I3": D("20.00")}
    assert "= 150.00 (0.04 short, within the tolerance)" in m.evidence[1].note
    # Short by more than the tolerance, exact rules without one, or more than the sum: not this rule.
    for amount, config in (("149.90", TOLERANCE), ("149.96", MatchConfig()), ("150.01", TOLERANCE)):
        result = match_payments([credit("T1", amount, iban=IBAN)], cases, config=config)
        assert result.matched == () and len(result.suggested) == 1, amount


def test_costs_of_the_case_still_come_first() -> None:
    # §367 BGB: the case's costs take their share before the invoices the sum names.
    cases = debtor(
        inv("I1", "100.00", due(1)), inv("I2", "50.00", due(2)), inv("I3", "30.00", due(3)), cost("F1", "5.00")
    )
    result = match_payments([credit("T1", "130.00", iban=IBAN)], cases)
    assert allocated(result, "T1") == {"F1": D("5.00"), "I1": D("100.00"), "I3": D("25.00")}
    assert open_amounts(result, "C1")["I2"] == D("50.00")


def test_a_later_payment_sees_what_the_earlier_one_paid() -> None:
    cases = debtor(inv("I1", "100.00", due(1)), inv("I2", "50.00", due(2)), inv("I3", "30.00", due(3)))
    txs = [credit("T1", "130.00", iban=IBAN), credit("T2", "50.00", iban=IBAN, on=date(2026, 3, 3))]
    result = match_payments(txs, cases)
    assert allocated(result, "T1") == {"I1": D("100.00"), "I3": D("30.00")}
    assert allocated(result, "T2") == {"I2": D("50.00")}
    assert outcome(result, "C1").status is CaseStatus.PAID


def test_returning_a_split_payment_reopens_every_invoice_it_paid() -> None:
    cases = debtor(inv("I1", "100.00", due(1)), inv("I2", "50.00", due(2)), inv("I3", "30.00", due(3)))
    run1 = match_payments([credit("T1", "130.00", iban=IBAN)], cases)
    state = [run1.cases[0].apply_to(cases[0])]
    ret = debit("R1", "130.00", reason="AC04", iban=IBAN, on=date(2026, 3, 9))
    run2 = match_payments([ret], state, history=run1.records, applied_keys=run1.applied_keys)
    (u,) = run2.undone
    assert sorted((a.item_id, a.amount) for a in u.reopened) == [("I1", D("100.00")), ("I3", D("30.00"))]
    assert open_amounts(run2, "C1") == {"I1": D("100.00"), "I2": D("50.00"), "I3": D("30.00")}


def test_too_many_open_invoices_are_suggested_not_applied() -> None:
    many = [inv(f"I{n:02d}", str(1000 + n), date(2025, 1, 1) + timedelta(days=n)) for n in range(MAX_ITEMS + 5)]
    result = match_payments([credit("T1", "2001.00", iban=IBAN)], debtor(*many))  # I00 + I01
    assert result.matched == () and result.cases == ()
    (s,) = result.suggested
    assert s.reason == "known debtor account; the amount equals a sum of invoices, but the search was bounded"
    assert any("I00 1000 + I01 1001 = 2001" in n for n in notes(s.candidates[0].evidence))
    assert any(n.startswith(f"search bounded ({MAX_ITEMS} of {MAX_ITEMS + 5}") for n in notes(s.candidates[0].evidence))


# ---------------------------------------------------------------- the search itself


def _items(amounts: list[int]) -> list[tuple[OpenItem, Decimal]]:
    start = date(2026, 1, 1)
    return [
        (OpenItem.invoice(f"I{n}", f"RE-{n}", start + timedelta(days=n), Decimal(a) / 100), Decimal(a) / 100)
        for n, a in enumerate(amounts)
    ]


@settings(max_examples=300, deadline=None)
@given(
    amounts=st.lists(st.integers(1, 60), min_size=0, max_size=9),
    target=st.integers(1, 200),
    tolerance=st.sampled_from([0, 2]),
)
def test_the_search_agrees_with_brute_force(amounts: list[int], target: int, tolerance: int) -> None:
    items = _items(amounts)
    amount, tol = Decimal(target) / 100, Decimal(tolerance) / 100
    fitting = [
        s
        for k in range(2, len(amounts) + 1)
        for s in combinations(range(len(amounts)), k)
        if target <= sum(amounts[i] for i in s) <= target + tolerance
    ]
    exact = sorted(s for s in fitting if sum(amounts[i] for i in s) == target)
    fit = find_subset(amount, items, tol)
    assert fit.complete
    if not fitting:
        assert fit.chosen == () and fit.alternative == ()
        return
    best = exact[0] if exact else min(fitting)
    assert fit.chosen == tuple(f"I{i}" for i in best)
    assert fit.total == sum((items[i][1] for i in best), Decimal(0))
    assert bool(fit.alternative) == (len(fitting) > 1)


def test_the_search_is_bounded_by_its_budget() -> None:
    # Invoices of about 10.00: any 10 of them come near 100.01 and none hits it, so little is pruned.
    similar = [1000 + 3 * n for n in range(20)]
    cut = find_subset(Decimal("100.01"), _items(similar[:12]), Decimal(0), budget=50)
    assert not cut.complete and cut.chosen == ()
    # Up to 14 invoices the search always completes (2**14 subsets are within the budget) ...
    assert find_subset(Decimal("100.01"), _items(similar[:14]), Decimal(0)) == ((), (), Decimal(0), (), True, 14, 14)
    # ... beyond that, a search cut short says so (and the matcher then only suggests).
    assert not find_subset(Decimal("100.01"), _items(similar), Decimal(0)).complete
    assert find_subset(Decimal("100.01"), _items(similar), Decimal(0), budget=2**20).complete


def test_costs_and_settled_invoices_take_no_part() -> None:
    items = [
        *_items([3000, 2000]),
        (OpenItem("F1", ItemKind.COSTS, date(2026, 1, 1), D("10.00")), D("10.00")),
        (OpenItem.invoice("I9", "RE-9", date(2025, 1, 1), D("10.00")), D("0")),
    ]
    assert find_subset(D("40.00"), items, D(0)).chosen == ()
    assert find_subset(D("50.00"), items, D(0)).chosen == ("I0", "I1")
