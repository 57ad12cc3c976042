"""What never settles (debits, pending, duplicates) and what undoes a payment (returns, reversals)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from dunning.domain.matching.match import (
    CaseStatus,
    EntryStatus,
    IgnoreReason,
    ItemKind,
    Rule,
    match_payments,
)
from tests.domain.matching.builders import D, case, credit, debit, inv, ogm, open_amounts, outcome

REF = ogm(1234567890)
IBAN = "DE89370400440532013000"


def cases() -> list:  # type: ignore[type-arg]
    return [case("C1", inv("I1", "50.00"), inv("I2", "30.00", due=date(2026, 2, 1)), ref=REF, ibans=(IBAN,))]


# ---------------------------------------------------------------- ignored


def test_debits_never_settle_anything() -> None:
    result = match_payments([debit("T1", "80.00", ref=REF)], cases())
    assert result.matched == () and result.cases == ()
    assert [(i.tx_key, i.reason) for i in result.ignored] == [("T1", IgnoreReason.DEBIT)]
    assert result.applied_keys == frozenset()


def test_pending_and_info_entries_never_settle_anything() -> None:
    # AC-14: dvbern/camt_054_Beispiel_NoCrdtBookedNotReversed.xml has BOOK and PDNG side by side.
    txs = [
        credit("P1", "80.00", ref=REF, status=EntryStatus.PDNG),
        credit("P2", "80", ref=REF, status=EntryStatus.INFO),
    ]
    result = match_payments(txs, cases())
    assert {(i.tx_key, i.reason) for i in result.ignored} == {
        ("P1", IgnoreReason.NOT_BOOKED),
        ("P2", IgnoreReason.NOT_BOOKED),
    }
    assert "PDNG" in result.ignored[0].detail
    assert result.cases == () and result.applied_keys == frozenset()


def test_zero_amount_is_ignored() -> None:
    result = match_payments([credit("T1", "0.00", ref=REF)], cases())
    assert [i.reason for i in result.ignored] == [IgnoreReason.ZERO_AMOUNT]


def test_same_key_twice_in_one_run_is_booked_once() -> None:
    # AC-19: the camt.052 intraday entry and the camt.053 entry carry the same key.
    tx = credit("K1", "20.00", ref=REF)
    result = match_payments([tx, tx], cases())
    assert len(result.matched) == 1
    assert [(i.tx_key, i.reason) for i in result.ignored] == [("K1", IgnoreReason.DUPLICATE)]
    assert outcome(result, "C1").paid == D("20.00")


def test_pending_copy_then_booked_copy_books_once() -> None:
    pending = credit("K1", "20.00", ref=REF, status=EntryStatus.PDNG)
    booked = credit("K1", "20.00", ref=REF, on=date(2026, 3, 3))
    first = match_payments([pending], cases())
    assert first.applied_keys == frozenset()  # a pending entry does not use up its key
    second = match_payments([booked, pending], cases(), applied_keys=first.applied_keys)
    assert len(second.matched) == 1


def test_key_applied_in_an_earlier_run_is_a_duplicate() -> None:
    tx = credit("K1", "20.00", ref=REF)
    first = match_payments([tx], cases())
    again = match_payments([tx], cases(), applied_keys=first.applied_keys, history=first.records)
    assert again.matched == () and again.cases == ()
    assert [(i.reason, i.detail) for i in again.ignored] == [
        (IgnoreReason.DUPLICATE, "already applied in an earlier run")
    ]


def test_two_identical_payments_with_different_keys_are_two_payments() -> None:
    # bankstatementparser/camt053_duplicate_same_day.xml: same amount, same day, different bank refs.
    result = match_payments([credit("A", "20", ref=REF), credit("B", "20", ref=REF)], cases())
    assert len(result.matched) == 2 and outcome(result, "C1").paid == D("40")


def test_credit_reversing_one_of_our_debits_is_not_a_payment() -> None:
    result = match_payments([replace(credit("T1", "12.00"), reversal=True)], cases())
    assert [i.reason for i in result.ignored] == [IgnoreReason.NOT_A_PAYMENT]


# ---------------------------------------------------------------- returns and reversals


def paid_then(undo, *, first=None):  # type: ignore[no-untyped-def]
    """Run 1 applies ``first`` (default: 50 by reference); run 2 applies ``undo`` on the new state."""
    first = first or credit("P1", "50.00", ref=REF, iban=IBAN, e2e="E2E-1", on=date(2026, 3, 1))
    run1 = match_payments([first], cases())
    touched = {o.case_id: o for o in run1.cases}
    state = [touched[c.case_id].apply_to(c) if c.case_id in touched else c for c in cases()]
    run2 = match_payments([undo], state, applied_keys=run1.applied_keys, history=run1.records)
    return run1, run2


def test_return_by_end_to_end_id_reopens_what_the_payment_paid() -> None:
    run1, run2 = paid_then(debit("R1", "50.00", reason="MS03", e2e="E2E-1", on=date(2026, 3, 5)))
    assert open_amounts(run1, "C1")["I1"] == 0
    (u,) = run2.undone
    assert (u.rule, u.original_key, u.return_reason) == (Rule.RETURN, "P1", "MS03")
    assert [(a.item_id, a.amount) for a in u.reopened] == [("I1", D("50.00"))]
    assert open_amounts(run2, "C1")["I1"] == D("50.00")
    assert outcome(run2, "C1").status is CaseStatus.REOPENED
    assert "EndToEndId" in u.evidence[0].note


def test_return_with_a_bank_fee_charges_it_to_the_case() -> None:
    # AC-13 / hbci4java/test-camt-ruecklastschrift.xml: DBIT 53.00 = InstdAmt 50.00 + 3.00 fee, MS03.
    _, run2 = paid_then(debit("R1", "53.00", reason="MS03", original="50.00", iban=IBAN, on=date(2026, 3, 5)))
    (u,) = run2.undone
    assert u.return_fee is not None
    assert (u.return_fee.kind, u.return_fee.open_amount, u.return_fee.invoice_id) == (
        ItemKind.COSTS,
        D("3.00"),
        "I1",
    )
    assert "IBAN and amount" in u.evidence[0].note
    o = outcome(run2, "C1")
    assert o.open_total == D("83.00") and [i.item_id for i in o.new_items] == ["return-fee:R1"]


def test_reversal_by_reference_and_amount() -> None:
    # AC-12: the reversal is linked to its original by reference and amount.
    _, run2 = paid_then(debit("V1", "50.00", reversal=True, ref=REF, on=date(2026, 3, 5)))
    (u,) = run2.undone
    assert u.rule is Rule.REVERSAL and u.original_key == "P1"
    assert open_amounts(run2, "C1") == {"I1": D("50.00"), "I2": D("30.00")}


def test_reversal_of_an_overpayment_takes_the_credit_back() -> None:
    first = credit("P1", "100.00", ref=REF, e2e="E2E-9", on=date(2026, 3, 1))
    run1, run2 = paid_then(debit("V1", "100.00", reversal=True, e2e="E2E-9"), first=first)
    assert outcome(run1, "C1").credit == D("20.00")
    (u,) = run2.undone
    assert u.credit_reversed == D("20.00")
    o = outcome(run2, "C1")
    assert o.credit == 0 and o.open_total == D("80.00")


def test_reversal_of_a_written_off_payment_reopens_the_write_off_too() -> None:
    from dunning.domain.matching.match import MatchConfig

    config = MatchConfig(tolerance=D("0.05"))
    run1 = match_payments([credit("P1", "79.97", ref=REF, e2e="E")], cases(), config=config)
    state = [run1.cases[0].apply_to(c) for c in cases()]
    assert state[0].open_total == 0
    run2 = match_payments([debit("V1", "79.97", reversal=True, e2e="E")], state, history=run1.records)
    assert open_amounts(run2, "C1") == {"I1": D("50.00"), "I2": D("30.00")}


def test_reversal_in_the_same_file_as_its_payment() -> None:
    # dvbern/camt.053_P_CH0309…: reversals arrive in the same statement; order in the file must not matter.
    txs = [
        debit("V1", "50.00", reversal=True, e2e="E2E-1", on=date(2026, 3, 1)),
        credit("P1", "50.00", ref=REF, e2e="E2E-1", on=date(2026, 3, 1)),
    ]
    result = match_payments(txs, cases())
    assert [u.original_key for u in result.undone] == ["P1"]
    assert open_amounts(result, "C1") == {"I1": D("50.00"), "I2": D("30.00")}
    assert outcome(result, "C1").paid == 0


def test_not_provided_end_to_end_id_is_never_a_link() -> None:
    # AC-18: EndToEndId NOTPROVIDED on both sides must not tie a return to a payment.
    first = credit("P1", "50.00", ref=REF, e2e="NOTPROVIDED")
    _, run2 = paid_then(debit("R1", "20.00", reason="AC04", e2e="NOTPROVIDED"), first=first)
    assert run2.undone == ()
    (u,) = run2.unmatched
    assert "not found" in u.reason


def test_a_payment_is_undone_only_once() -> None:
    run1, run2 = paid_then(debit("R1", "50.00", reason="MS03", e2e="E2E-1"))
    run3 = match_payments(
        [debit("R2", "50.00", reason="MS03", e2e="E2E-1")],
        cases(),
        history=run1.records,
        applied_keys=run1.applied_keys | run2.applied_keys,
        undone_keys=frozenset(u.original_key for u in run2.undone),
    )
    assert run3.undone == () and len(run3.unmatched) == 1


def test_return_of_an_unmatched_payment_withdraws_it_from_the_queue() -> None:
    first = credit("P1", "12.34", text="gift", e2e="E2E-Q")
    _, run2 = paid_then(debit("R1", "12.34", reason="AC01", e2e="E2E-Q"), first=first)
    (u,) = run2.undone
    assert u.reopened == () and u.unapplied_reversed == D("12.34")
