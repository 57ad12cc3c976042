"""Properties of the matcher (hypothesis): money is conserved, nothing is allocated twice,
results do not depend on input order, and a re-run changes nothing."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning.domain.matching.match import (
    BankTransaction,
    CaseRef,
    CreditDebit,
    EntryStatus,
    ItemKind,
    MatchConfig,
    MatchResult,
    match_payments,
)
from tests.domain.matching.builders import D, case, cost, credit, debit, inv, ogm

NAMES = ["Jan Peeters", "Marie Dubois", "Jan Peters", "Anna Schmidt"]
START = date(2026, 3, 1)
cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)


@st.composite
def portfolios(draw: st.DrawFn) -> list[CaseRef]:
    cases = []
    for c in range(draw(st.integers(1, 4))):
        items = [
            inv(
                f"I{c}.{i}",
                str(draw(cents)),
                due=START - timedelta(days=draw(st.integers(0, 90))),
                number=f"RE-{c}{i:03d}",
            )
            for i in range(draw(st.integers(1, 4)))
        ]
        if draw(st.booleans()):
            items.append(cost(f"F{c}", str(draw(cents))))
        if draw(st.booleans()):
            items.append(cost(f"Z{c}", str(draw(cents)), kind=ItemKind.INTEREST, invoice_id=items[0].item_id))
        cases.append(
            case(
                f"C{c}",
                *items,
                ref=ogm(1000 + c),
                ibans=(f"BE{c:014d}",),
                name=draw(st.sampled_from(NAMES)),
                credit=str(draw(st.sampled_from([Decimal(0), Decimal("5.00")]))),
            )
        )
    return cases


@st.composite
def batches(draw: st.DrawFn, cases: list[CaseRef]) -> list[BankTransaction]:
    txs: list[BankTransaction] = []
    for n in range(draw(st.integers(0, 12))):
        target = draw(st.sampled_from(cases))
        invoice = draw(st.sampled_from(target.invoices))
        amount = draw(
            st.one_of(
                cents,
                st.just(target.open_total),
                st.just(invoice.open_amount),
                st.just(target.open_total - D("0.03")).filter(lambda a: a > 0),
                st.just(target.open_total + D("7.00")),
            )
        )
        on = START + timedelta(days=draw(st.integers(0, 5)))
        key, e2e = f"T{n}", f"E{n}"
        kind = draw(
            st.sampled_from(["ref", "text", "invoice", "iban", "name", "unknown", "debit", "pending", "dup", "undo"])
        )
        ref = target.payment_reference or ""
        if kind == "ref":
            tx = credit(key, str(amount), ref=ref, on=on, e2e=e2e)
        elif kind == "text":
            tx = credit(key, str(amount), text=f"pay {ref.strip('+')}", on=on, e2e=e2e)
        elif kind == "invoice":
            tx = credit(key, str(amount), text=f"Rechnung {invoice.number}", on=on, e2e=e2e)
        elif kind == "iban":
            tx = credit(key, str(amount), iban=target.debtor_ibans[0], on=on, e2e=e2e)
        elif kind == "name":
            tx = credit(key, str(amount), name=target.debtor_name, on=on, e2e=e2e)
        elif kind == "unknown":
            tx = credit(key, str(amount), text="gift", on=on, e2e=e2e)
        elif kind == "debit":
            tx = debit(key, str(amount), on=on)
        elif kind == "pending":
            tx = credit(key, str(amount), ref=ref, on=on, status=EntryStatus.PDNG)
        elif kind == "dup" and txs:
            tx = draw(st.sampled_from(txs))  # the same movement delivered twice
        elif kind == "undo" and any(t.credit_debit is CreditDebit.CRDT for t in txs):
            original = draw(st.sampled_from([t for t in txs if t.credit_debit is CreditDebit.CRDT]))
            reason = draw(st.sampled_from([None, "MS03", "AC04"]))
            fee = draw(st.sampled_from([D(0), D("3.00")])) if reason else D(0)
            tx = debit(
                key,
                str(original.amount + fee),
                reversal=reason is None,
                reason=reason,
                original=str(original.amount) if fee else None,
                e2e=original.end_to_end_id,
                on=original.booking_date + timedelta(days=draw(st.integers(0, 3))),
            )
        else:
            tx = credit(key, str(amount), ref=ref, on=on, e2e=e2e)
        txs.append(tx)
    return txs


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[CaseRef], list[BankTransaction], MatchConfig]:
    cases = draw(portfolios())
    txs = draw(batches(cases))
    config = MatchConfig(
        tolerance=draw(st.sampled_from([D(0), D("0.05")])),
        invoice_number_pattern=r"RE-\d{4}",
    )
    return cases, txs, config


def _state(cases: list[CaseRef], result: MatchResult) -> list[CaseRef]:
    touched = {o.case_id: o for o in result.cases}
    return [touched[c.case_id].apply_to(c) if c.case_id in touched else c for c in cases]


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenarios())
def test_money_is_conserved(scenario: tuple[list[CaseRef], list[BankTransaction], MatchConfig]) -> None:
    cases, txs, config = scenario
    result = match_payments(txs, cases, config=config)
    # Every credited booked amount the run took in is allocated, held as credit, or waits unapplied.
    credited = {
        t.key: t.amount
        for t in txs
        if t.key in result.applied_keys and t.credit_debit is CreditDebit.CRDT and t.status is EntryStatus.BOOK
    }
    assert {r.tx_key for r in result.records} == set(credited)
    for r in result.records:
        assert r.amount == sum((a.amount for a in r.allocations), D(0)) + r.credit + r.unapplied
        assert all(a.amount > 0 for a in r.allocations)
    assert sum(credited.values(), D(0)) == sum(
        (sum((a.amount for a in r.allocations), D(0)) + r.credit + r.unapplied for r in result.records), D(0)
    )
    # Item by item: what was open, minus what was paid and written off, plus what was reopened.
    before = {(c.case_id, i.item_id): i.open_amount for c in cases for i in c.items}
    delta: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in result.records:
        for a in r.allocations:
            delta[(a.case_id, a.item_id)] -= a.amount
        for w in r.write_offs:
            delta[(w.case_id, w.item_id)] -= w.amount
            assert w.amount <= config.tolerance
    credit_delta: dict[str, Decimal] = defaultdict(Decimal)
    for r in result.records:
        if r.credit_case_id:
            credit_delta[r.credit_case_id] += r.credit
    records = {r.tx_key: r for r in result.records}
    fees: dict[tuple[str, str], Decimal] = {}
    for u in result.undone:
        original = records[u.original_key]  # no history given: the original is from this run
        for a in u.reopened:
            delta[(a.case_id, a.item_id)] += a.amount
        if original.credit_case_id:
            credit_delta[original.credit_case_id] -= u.credit_reversed
        if u.return_fee is not None:
            home = original.allocations[0].case_id if original.allocations else original.credit_case_id
            assert home is not None
            fees[(home, u.return_fee.item_id)] = u.return_fee.open_amount
    touched = {o.case_id for o in result.cases}
    assert {k[0] for k in delta} <= touched and set(credit_delta) <= touched
    for o in result.cases:
        for item_id, now in o.open_amounts:
            key = (o.case_id, item_id)
            assert now >= 0, f"{item_id} below zero"
            assert now == (fees[key] if key in fees else before[key]) + delta[key]
        original_case = next(c for c in cases if c.case_id == o.case_id)
        assert o.credit == original_case.credit + credit_delta[o.case_id] >= 0
        assert o.open_total == sum((a for _, a in o.open_amounts), D(0))


@SETTINGS
@given(scenarios())
def test_nothing_is_applied_twice(scenario: tuple[list[CaseRef], list[BankTransaction], MatchConfig]) -> None:
    cases, txs, config = scenario
    result = match_payments(txs, cases, config=config)
    decided = [m.tx_key for m in result.matched] + [s.tx_key for s in result.suggested]
    decided += [u.tx_key for u in result.unmatched] + [u.tx_key for u in result.undone]
    assert len(decided) == len(set(decided)), "a transaction decided twice"
    assert set(decided) == set(result.applied_keys)
    # Every copy of a transaction is accounted for: decided once, all other copies ignored.
    copies = Counter(t.key for t in txs)
    ignored = Counter(i.tx_key for i in result.ignored)
    for key, n in copies.items():
        assert ignored[key] + (key in result.applied_keys) == n
    # A payment is undone at most once.
    originals = [u.original_key for u in result.undone]
    assert len(originals) == len(set(originals))


@SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_order(
    scenario: tuple[list[CaseRef], list[BankTransaction], MatchConfig], rnd: random.Random
) -> None:
    cases, txs, config = scenario
    expected = match_payments(txs, cases, config=config)
    shuffled_txs, shuffled_cases = list(txs), list(cases)
    rnd.shuffle(shuffled_txs)
    rnd.shuffle(shuffled_cases)
    assert match_payments(shuffled_txs, shuffled_cases, config=config) == expected


@SETTINGS
@given(scenarios())
def test_a_rerun_with_the_applied_keys_changes_nothing(
    scenario: tuple[list[CaseRef], list[BankTransaction], MatchConfig],
) -> None:
    cases, txs, config = scenario
    first = match_payments(txs, cases, config=config)
    state = _state(cases, first)
    again = match_payments(
        txs,
        state,
        config=config,
        applied_keys=first.applied_keys,
        history=first.records,
        undone_keys={u.original_key for u in first.undone},
    )
    assert again.matched == again.suggested == again.unmatched == again.undone == again.cases == ()
    assert again.applied_keys == frozenset()
    assert len(again.ignored) == len(txs)


@SETTINGS
@given(portfolios(), st.data())
def test_undoing_every_payment_restores_every_case(cases: list[CaseRef], data: st.DataObject) -> None:
    txs = [t for t in data.draw(batches(cases)) if t.credit_debit is CreditDebit.CRDT]
    txs = [replace(t, key=f"P{i}", end_to_end_id=f"E{i}") for i, t in enumerate(txs)]
    paid = match_payments(txs, cases, config=MatchConfig(tolerance=D("0.05")))
    state = _state(cases, paid)
    reversals = [
        debit(f"V{i}", str(t.amount), reversal=True, e2e=t.end_to_end_id, on=t.booking_date)
        for i, t in enumerate(txs)
        if t.key in paid.applied_keys
    ]
    undone = match_payments(reversals, state, history=paid.records, applied_keys=paid.applied_keys)
    restored = _state(state, undone)
    assert [(c.case_id, c.credit, [(i.item_id, i.open_amount) for i in c.items]) for c in restored] == [
        (c.case_id, c.credit, [(i.item_id, i.open_amount) for i in c.items]) for c in cases
    ]
