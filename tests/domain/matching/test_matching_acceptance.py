"""The matching acceptance cases of research/camt.md §6, fed with values from the real corpus."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from dunning.domain.matching.match import (
    CaseStatus,
    CreditDebit,
    EntryStatus,
    IgnoreReason,
    ItemKind,
    MatchConfig,
    Rule,
    match_payments,
)
from tests.domain.matching.builders import D, case, credit, inv, ogm, open_amounts, outcome
from tests.domain.matching.corpus import corpus_files, read_transactions


def test_a_return_reopens_the_invoice_and_charges_the_fee() -> None:
    (ret,) = read_transactions("hbci4java/test-camt-ruecklastschrift.xml")[0]
    assert (ret.credit_debit, ret.amount, ret.original_amount, ret.return_reason) == (
        CreditDebit.DBIT,
        D("53.00"),
        D("50.00"),
        "MS03",
    )
    # The direct debit of 50.00 we collected from that account earlier, applied to the invoice.
    cases = [case("C1", inv("I1", "50.00"), ibans=(ret.debtor_iban or "",), name="Sven Schuldner")]
    collected = credit("SDD-1", "50.00", iban=ret.debtor_iban, on=ret.booking_date - timedelta(days=5))
    run1 = match_payments([collected], cases)
    assert run1.matched[0].rule is Rule.DEBTOR_IBAN
    state = [run1.cases[0].apply_to(cases[0])]
    run2 = match_payments([ret], state, history=run1.records, applied_keys=run1.applied_keys)
    (u,) = run2.undone
    assert (u.rule, u.original_key, u.return_reason) == (Rule.RETURN, "SDD-1", "MS03")
    assert [(a.item_id, a.amount) for a in u.reopened] == [("I1", D("50.00"))]
    assert u.return_fee is not None and u.return_fee.open_amount == D("3.00")
    assert u.return_fee.kind is ItemKind.COSTS
    o = outcome(run2, "C1")
    assert o.status is CaseStatus.REOPENED and o.open_total == D("53.00")


def test_a_return_fee_can_stay_with_the_creditor() -> None:
    (ret,) = read_transactions("hbci4java/test-camt-ruecklastschrift.xml")[0]
    cases = [case("C1", inv("I1", "50.00"), ibans=(ret.debtor_iban or "",))]
    run1 = match_payments([credit("SDD-1", "50.00", iban=ret.debtor_iban, on=date(2021, 3, 1))], cases)
    config = MatchConfig(charge_return_fees=False)
    run2 = match_payments([ret], [run1.cases[0].apply_to(cases[0])], config=config, history=run1.records)
    assert run2.undone[0].return_fee is None and outcome(run2, "C1").open_total == D("50.00")


def test_pending_info_and_reversed_entries_never_clear_an_invoice() -> None:
    txs, _ = read_transactions("dvbern/camt_054_Beispiel_NoCrdtBookedNotReversed.xml")
    assert {t.status for t in txs} == {EntryStatus.BOOK, EntryStatus.PDNG}
    # A case carrying each entry's reference, so only the status rules keep them from matching.
    cases = [
        case(f"C{i}", inv(f"I{i}", str(t.amount)), ref=t.structured_ref.value)
        for i, t in enumerate(txs)
        if t.structured_ref is not None
    ]
    result = match_payments(txs, cases)
    assert result.matched == () and result.cases == ()
    assert sorted(i.reason for i in result.ignored) == sorted(
        [IgnoreReason.NOT_A_PAYMENT, IgnoreReason.NOT_BOOKED, IgnoreReason.DEBIT]
    )


def test_info_entries_of_the_fi_sample_are_ignored() -> None:
    txs, _ = read_transactions("moov/FI_camt_054_sample.xml.xml")
    result = match_payments(txs, [case("C1", inv("I1", "100.00"), ref=ogm(1))])
    info = [t.key for t in txs if t.status is EntryStatus.INFO]
    assert info and {i.tx_key for i in result.ignored if i.reason is IgnoreReason.NOT_BOOKED} == set(info)


@pytest.mark.parametrize(
    ("relative", "value"),
    [
        ("genkgo/camt053.v2.minimal.xml", "4654654654654654"),  # SCOR/BBA, 16 digits: not an OGM
        ("moov/FI_camt_053_sample.xml.xml", "RF98123456789012"),  # RF failing mod 97-10
    ],
)
def test_invalid_references_never_match_automatically(relative: str, value: str) -> None:
    txs, _ = read_transactions(relative)
    tx = next(t for t in txs if t.structured_ref is not None and t.structured_ref.value == value)
    assert tx.structured_ref is not None and not tx.structured_ref.valid
    # Even a case that carries exactly this value is not paid automatically.
    result = match_payments([tx], [case("C1", inv("I1", str(tx.amount)), ref=value)])
    assert result.matched == () and result.cases == ()
    (u,) = result.unmatched
    assert "check digits fail" in u.evidence[0].note


def test_notprovided_end_to_end_id_is_never_a_key() -> None:
    txs = [t for f in corpus_files() for t in read_transactions(f)[0] if t.end_to_end_id == "NOTPROVIDED"]
    assert txs, "the corpus has NOTPROVIDED EndToEndIds"
    assert all(t.end_to_end is None for t in txs)


def test_every_corpus_file_matched_twice_books_nothing_the_second_time() -> None:
    cases = [case("C1", inv("I1", "100.00"), ref=ogm(1))]
    total = 0
    for relative in corpus_files():
        txs, _problems = read_transactions(relative)
        first = match_payments(txs, cases)
        second = match_payments(txs, cases, applied_keys=first.applied_keys, history=first.records)
        assert second.matched == second.suggested == second.unmatched == second.undone == (), relative
        assert len(second.ignored) == len(txs), relative
        total += len(txs)
    assert total > 400


def test_a_valid_rf_reference_of_the_corpus_settles_its_case() -> None:
    txs, _ = read_transactions("moov/FI_camt_054_sample.xml.xml")
    # The corpus RF references of the FFFS sample that *do* validate, each carried by a case.
    valid = [t for t in txs if t.structured_ref and t.structured_ref.valid and t.structured_ref.value.startswith("RF")]
    assert valid
    tx = valid[0]
    assert tx.structured_ref is not None
    cases = [case("C1", inv("I1", str(tx.amount)), ref=tx.structured_ref.value)]
    result = match_payments([tx], cases)
    (m,) = result.matched
    assert m.rule is Rule.STRUCTURED_REFERENCE and outcome(result, "C1").status is CaseStatus.PAID


def test_tolerance_write_off_partial_payment_and_overpayment_credit() -> None:
    ref = ogm(4711)
    cases = [case("C1", inv("I1", "100.00"), ref=ref), case("C2", inv("I2", "100.00"), ref=ogm(4712))]
    txs = [credit("A", "99.97", ref=ref), credit("B", "60.00", ref=ogm(4712))]
    result = match_payments(txs, cases, config=MatchConfig(tolerance=Decimal("0.05")))
    assert outcome(result, "C1").status is CaseStatus.PAID and outcome(result, "C1").written_off == D("0.03")
    assert outcome(result, "C2").status is CaseStatus.PARTIAL and open_amounts(result, "C2") == {"I2": D("40.00")}
    over = match_payments([credit("C", "130.00", ref=ref)], cases)
    assert outcome(over, "C1").credit == D("30.00")


def test_one_payment_several_invoices_with_the_explanation() -> None:
    cases = [case("C1", inv("I1", "10", number="RE-1001"), inv("I2", "20", number="RE-1002"))]
    config = MatchConfig(invoice_number_pattern=r"RE-\d{4}")
    result = match_payments([credit("T1", "30", text="RE-1001, RE-1002")], cases, config=config)
    (m,) = result.matched
    assert [(a.item_id, a.amount) for a in m.allocations] == [("I1", D("10")), ("I2", D("20"))]
    assert [e.found for e in m.evidence] == ["RE-1001", "RE-1002"]


def test_without_a_reference_iban_and_name_only_suggest() -> None:
    cases = [case("C1", inv("I1", "45.00"), inv("I2", "45.00"), ibans=("BE71096123456769",), name="Sofie Maes")]
    by_iban = match_payments([credit("T1", "45.00", iban="BE71096123456769")], cases)
    by_name = match_payments([credit("T2", "45.00", name="MAES SOFIE")], cases)
    for result in (by_iban, by_name):
        assert result.matched == () and result.cases == ()
        (s,) = result.suggested
        assert s.candidates and all(c.evidence for c in s.candidates)


def test_reversals_of_the_postfinance_statement_reopen_their_payments() -> None:
    txs, _ = read_transactions("dvbern/camt.053_P_CH0309000000250090342_380000000_0_2016053100163801.xml")
    reversals = [t for t in txs if t.reversal and t.credit_debit is CreditDebit.DBIT]
    assert len(reversals) == 2 and all(t.end_to_end for t in reversals)
    # The payments they reverse were applied earlier (same EndToEndId and amount).
    cases = [case(f"C{i}", inv(f"I{i}", str(t.amount)), ref=ogm(100 + i)) for i, t in enumerate(reversals)]
    originals = [
        credit(f"P{i}", str(t.amount), ref=ogm(100 + i), e2e=t.end_to_end_id, currency=t.currency, on=date(2016, 4, 1))
        for i, t in enumerate(reversals)
    ]
    chf = [case(c.case_id, *c.items, ref=c.payment_reference, currency="CHF") for c in cases]
    run1 = match_payments(originals, chf)
    assert all(o.status is CaseStatus.PAID for o in run1.cases)
    state = [o.apply_to(c) for o, c in zip(run1.cases, chf, strict=True)]
    run2 = match_payments(reversals, state, history=run1.records, applied_keys=run1.applied_keys)
    assert sorted(u.original_key for u in run2.undone) == ["P0", "P1"]
    assert all(u.return_reason == "MD06" for u in run2.undone)
    assert all(o.status is CaseStatus.REOPENED for o in run2.cases)
