"""Bank charges and the write-off tolerance in the pure matcher (issue 16, item 4)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from dunning.domain.matching.charges import deducted_charges, excused_charges
from dunning.domain.matching.match import CaseStatus, MatchConfig, match_payments
from dunning.domain.matching.model import BankCharge, BankTransaction, CreditDebit
from dunning.store.payments import record_from_json, record_to_json
from tests.domain.matching.builders import D, case, credit, inv, ogm

REF = ogm(1234567890)
IBAN = "BE71096123456769"


def net(
    amount: str, *, instructed: str | None = "100.00", charges: tuple[BankCharge, ...] = (), **kw: str
) -> BankTransaction:
    tx = credit("T1", amount, ref=kw.get("ref", REF), iban=kw.get("iban"), currency=kw.get("currency", "EUR"))
    return replace(tx, original_amount=None if instructed is None else D(instructed), charges=charges)


SHARED = (BankCharge(D("0.35"), "EUR", True, "SHAR", CreditDebit.DBIT),)


def test_what_banks_took_is_what_the_file_records_never_more_than_the_gap() -> None:
    assert deducted_charges(net("99.65", charges=SHARED)) == D("0.35")
    # a record that says more than the instructed and the booked amount differ: only the gap
    assert deducted_charges(net("99.80", charges=SHARED)) == D("0.20")
    # a gap without a charges record is not charges (a short payment, left to the tolerance)
    assert deducted_charges(net("99.65")) == 0
    # no instructed amount: the records included in the booked amount (ChrgInclInd true) only
    assert deducted_charges(net("99.65", instructed=None, charges=SHARED)) == D("0.35")
    not_included = (BankCharge(D("0.35"), "EUR", None, "SHAR"),)
    assert deducted_charges(net("99.65", instructed=None, charges=not_included)) == 0
    # charges in another currency than the booking are not compared
    assert deducted_charges(net("99.65", charges=(BankCharge(D("0.35"), "USD", True),))) == 0
    # a debit is never a payment with charges
    assert deducted_charges(replace(net("99.65", charges=SHARED), credit_debit=CreditDebit.DBIT)) == 0


def test_the_payer_who_took_every_charge_on_is_not_excused() -> None:
    for bearer in ("SHAR", "SLEV", "CRED", None):
        assert excused_charges(net("99.65", charges=(BankCharge(D("0.35"), "EUR", True, bearer),))) == D("0.35")
    assert excused_charges(net("99.65", charges=(BankCharge(D("0.35"), "EUR", True, "DEBT"),))) == 0


def test_charges_settle_a_payment_of_what_was_asked_and_say_so() -> None:
    cases = [case("C1", inv("I1", "100.00", number="RE-1"), ref=REF)]
    result = match_payments([net("99.65", charges=SHARED)], cases)
    (m,) = result.matched
    (w,) = m.write_offs
    assert (w.amount, w.charges, w.within_tolerance) == (D("0.35"), D("0.35"), 0)
    assert result.cases[0].status is CaseStatus.PAID
    assert "0.35 bank charges (instructed 100.00, booked 99.65): 0.35 written off" in [e.note for e in m.evidence]
    # the write-off, its charges included, survives the store's record codec (a later return undoes it)
    (record,) = result.records
    assert record_from_json(record_to_json(record)).write_offs == record.write_offs


def test_charges_never_settle_a_partial_payment() -> None:
    cases = [case("C1", inv("I1", "200.00", number="RE-1"), ref=REF)]
    result = match_payments([net("99.65", charges=SHARED)], cases)
    assert result.matched[0].write_offs == () and result.cases[0].open_total == D("100.35")


def test_charges_and_the_tolerance_add_up_and_are_told_apart() -> None:
    cases = [case("C1", inv("I1", "100.50", number="RE-1"), ref=REF)]
    config = MatchConfig(tolerances={"EUR": Decimal("0.50")})
    (m,) = match_payments([net("99.65", charges=SHARED)], cases, config=config).matched
    (w,) = m.write_offs
    assert (w.amount, w.charges, w.within_tolerance) == (D("0.85"), D("0.35"), D("0.50"))
    # 0.50 beyond the charges is more than a 0.49 tolerance: nothing is written off
    config = MatchConfig(tolerances={"EUR": Decimal("0.49")})
    (m,) = match_payments([net("99.65", charges=SHARED)], cases, config=config).matched
    assert m.write_offs == ()


def test_a_known_payer_net_of_charges_still_fits_the_invoice() -> None:
    cases = [case("C1", inv("I1", "100.00", number="RE-1"), ibans=(IBAN,))]
    result = match_payments([net("99.65", charges=SHARED, ref="", iban=IBAN)], cases)
    (m,) = result.matched
    assert str(m.rule) == "debtor_iban" and result.cases[0].status is CaseStatus.PAID


def test_the_tolerance_is_per_currency() -> None:
    config = MatchConfig(tolerance=Decimal("0.00"), tolerances={"eur": Decimal("1.00"), "CHF": Decimal("0.05")})
    assert (config.tolerance_for("EUR"), config.tolerance_for("CHF"), config.tolerance_for("USD")) == (
        D("1.00"),
        D("0.05"),
        D("0.00"),
    )
    euro = [case("E", inv("I1", "100.00", number="RE-1"), ref=REF)]
    franc = [case("F", inv("I2", "100.00", number="RE-2"), ref=REF, currency="CHF")]
    assert match_payments([credit("T", "99.30", ref=REF)], euro, config=config).cases[0].status is CaseStatus.PAID
    chf = credit("T", "99.30", ref=REF, currency="CHF")
    assert match_payments([chf], franc, config=config).cases[0].status is CaseStatus.PARTIAL
