"""Overlapping bank files never book a payment twice; returns reopen; bad files are refused alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from dunning.store.schema import allocations, bank_transactions, case_events
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.reconcile.review import accept_review, list_review, reject_review
from dunning.usecases.reconcile.run import reconcile_files
from tests.usecases.reconcile.accounts import account_of, corpus_accounts, with_accounts
from tests.usecases.reconcile.camt_build import CORPUS, Payment, write_camt
from tests.usecases.reconcile.conftest import BANK_DAY, FIRST_NIGHT, Bench

D = Decimal


def _allocated(bench: Bench, case_id: int) -> Decimal:
    with bench.store.begin() as conn:
        rows = conn.execute(
            select(allocations.c.amount).where(allocations.c.case_id == case_id, allocations.c.reversed.is_(False))
        ).scalars()
        return sum(rows, D(0))


def test_intraday_report_then_statement_books_each_payment_once(bench: Bench) -> None:
    report = write_camt(
        bench.root,
        "intraday.xml",
        "052",
        [
            Payment("66.94", ref=bench.reference(2), bank_ref="ACS-1"),
            Payment("727.65", ref=bench.reference(5), status="PDNG", bank_ref="ACS-2"),
        ],
        day=BANK_DAY,
        msg_id="RPT-1",
    )
    first = reconcile_files(bench.store, bench.workspace, [report], as_of=BANK_DAY)
    assert first.summary()["cases_paid"] == [2]
    assert bench.case(5).status == "open"  # pending: not settled

    statement = write_camt(
        bench.root,
        "statement.xml",
        "053",
        [
            Payment("66.94", ref=bench.reference(2), bank_ref="ACS-1"),
            Payment("727.65", ref=bench.reference(5), bank_ref="ACS-2"),
        ],
        day=BANK_DAY,
        msg_id="STMT-1",
    )
    second = reconcile_files(bench.store, bench.workspace, [statement], as_of=BANK_DAY)
    (file,) = second.files
    assert file.counts.get("duplicate") == 1 and file.counts.get("matched") == 1
    assert second.summary()["cases_paid"] == [5]
    assert _allocated(bench, 2) == D("66.94")  # once, not twice
    assert bench.case(2).credit_amount == 0
    assert _allocated(bench, 5) == D("727.65")


def test_notification_then_statement_recognises_the_entry_reference(bench: Bench) -> None:
    notification = write_camt(
        bench.root,
        "n.xml",
        "054",
        [Payment("543.71", ref=bench.reference(10), bank_ref="E-77", tx_ref=True, end_to_end="E2E-77")],
        day=BANK_DAY,
    )
    reconcile_files(bench.store, bench.workspace, [notification], as_of=BANK_DAY)
    # The statement reports the same booking under the entry's reference only.
    statement = write_camt(
        bench.root, "s.xml", "053", [Payment("543.71", ref=bench.reference(10), bank_ref="E-77")], day=BANK_DAY
    )
    result = reconcile_files(bench.store, bench.workspace, [statement], as_of=BANK_DAY)
    assert result.files[0].counts == {"ignored": 1, "duplicate": 1}
    assert _allocated(bench, 10) == D("543.71")
    # Two identical payments with different bank references stay two (the second is a credit).
    twins = write_camt(
        bench.root,
        "twins.xml",
        "053",
        [
            Payment("100.00", ref=bench.reference(11), bank_ref="T-1"),
            Payment("100.00", ref=bench.reference(11), bank_ref="T-2"),
        ],
        day=BANK_DAY,
        msg_id="TWINS",
    )
    reconcile_files(bench.store, bench.workspace, [twins], as_of=BANK_DAY)
    assert _allocated(bench, 11) == D("200.00")


def test_a_return_reopens_the_case_and_charges_the_bank_fee_once(bench: Bench) -> None:
    paid = write_camt(
        bench.root,
        "paid.xml",
        "053",
        [Payment("66.94", ref=bench.reference(2), end_to_end="E2E-CASE2", bank_ref="P-1", iban="BE71096123456769")],
        day=BANK_DAY,
    )
    reconcile_files(bench.store, bench.workspace, [paid], as_of=BANK_DAY)
    assert bench.case(2).status == "closed"
    later = BANK_DAY + timedelta(days=3)
    returned = [
        Payment(
            "69.94",
            direction="DBIT",
            return_reason="AC04",
            instructed="66.94",
            end_to_end="E2E-CASE2",
            bank_ref="R-1",
            booked_on=later,
        )
    ]
    path = write_camt(bench.root, "return.xml", "053", returned, day=later, msg_id="RET-1")
    result = reconcile_files(bench.store, bench.workspace, [path], as_of=later)
    assert result.summary()["outcomes"]["undone"]["count"] == 1
    assert result.summary()["cases_reopened"] == [2]
    case = bench.case(2)
    assert (case.status, case.close_reason, case.closed_on) == ("open", None, None)
    assert case.open_amount == D("66.94") and case.fees_amount == D("3.00")
    assert bench.invoices_of(2)["INV-2026-26004"].status == "open"
    assert _allocated(bench, 2) == 0  # the payment's allocations are reversed
    with bench.store.begin() as conn:
        kinds = conn.execute(select(case_events.c.kind).where(case_events.c.case_id == 2)).scalars().all()
        assert "payment_reversed" in kinds and "case_reopened" in kinds
    # The same return in another file (another message, same bank reference) undoes nothing more.
    again = write_camt(bench.root, "return-again.xml", "053", returned, day=later, msg_id="RET-2")
    second = reconcile_files(bench.store, bench.workspace, [again], as_of=later)
    assert second.files[0].counts.get("duplicate") == 1
    assert bench.case(2).fees_amount == D("3.00")
    # The reopened case is dunned again: later nights plan its next steps (not another thank-you), once the
    # first night's messages have gone out (each step waits for the one before it).
    sent_at = datetime.combine(FIRST_NIGHT, time(10), tzinfo=UTC)
    dispatch_messages(bench.store, bench.workspace, FIRST_NIGHT, now=sent_at)
    planned = [bench.night(later + timedelta(days=n)) for n in range(1, 12)]
    case2 = {a["action"] for night in planned for a in night if a["case"] == 2}
    assert case2 and "thank_you" not in case2


@pytest.mark.requires_corpus
def test_a_batch_summary_waits_for_its_details(bench: Bench) -> None:
    """A camt.053 entry announcing 82 transactions with one summary detail (AC-08) is not matched itself."""
    path = CORPUS / "camt2coda" / "lt-dbbe-camt053-2024-03-14.xml"
    workspace = with_accounts(bench, str(account_of(path)))
    result = reconcile_files(bench.store, workspace, [path], as_of=BANK_DAY)
    (file,) = result.files
    assert file.counts == {"ignored": 13, "unmatched": 1, "review_items": 1}  # the one plain credit waits for review
    with bench.store.begin() as conn:
        reasons = conn.execute(select(bank_transactions.c.detail).where(bank_transactions.c.amount == D("916497.65")))
        (detail,) = reasons.scalars().all()
    assert detail["reason"].startswith("batch summary of 82 transactions")


def test_refused_files_are_named_and_the_others_go_on(bench: Bench) -> None:
    not_camt = bench.root / "hello.xml"
    not_camt.write_text("<hello/>")
    broken = bench.root / "broken.xml"
    broken.write_bytes(write_camt(bench.root, "x.xml", "054", [Payment("1.00")], day=BANK_DAY).read_bytes()[:300])
    good = write_camt(bench.root, "good.xml", "054", [Payment("66.94", ref=bench.reference(2))], day=BANK_DAY)
    corpus = CORPUS / "genkgo" / "camt053.v8.xml"
    workspace = with_accounts(bench, str(account_of(corpus)))
    result = reconcile_files(bench.store, workspace, [not_camt, broken, good, corpus], as_of=BANK_DAY)
    statuses = {f.file: f.status for f in result.files}
    assert statuses == {
        "hello.xml": "refused",
        "broken.xml": "refused",
        "good.xml": "processed",
        "camt053.v8.xml": "processed",
    }
    errors = [str(e) for e in result.errors()]
    assert any("hello.xml" in e and "bank file refused" in e for e in errors)
    assert any("broken.xml" in e for e in errors)
    assert not result.all_refused
    assert bench.case(2).status == "closed"
    real = next(f for f in result.files if f.file == "camt053.v8.xml")
    assert real.counts.get("matched", 0) == 0 and sum(real.counts.values()) > 0
    assert all(path.startswith(str(bench.workspace.reports_dir)) for path in real.reports)


@pytest.mark.requires_corpus
def test_every_corpus_file_reconciles_or_is_refused_cleanly(bench: Bench) -> None:
    files = sorted(CORPUS.rglob("*.xml"))
    assert len(files) > 50
    workspace = with_accounts(bench, *corpus_accounts())  # as if the creditor held every corpus account
    result = reconcile_files(bench.store, workspace, files, as_of=date(2026, 11, 1))
    assert {f.status for f in result.files} <= {"processed", "refused", "already_processed"}
    assert sum(f.status == "processed" for f in result.files) > 50
    for refused in result.refused:
        assert refused.file in (refused.error or "")
    # Nothing from strangers' statements settles our cases.
    assert result.summary()["cases_paid"] == []


def test_review_accept_applies_and_reject_leaves_unapplied(bench: Bench) -> None:
    path = write_camt(
        bench.root,
        "n.xml",
        "054",
        [
            Payment("822.75", name="Julie Martin", bank_ref="Q-1"),
            Payment("55.55", text="for my bill", name="Someone", bank_ref="Q-2"),
            Payment("9.99", text="?", name="Stranger", bank_ref="Q-3"),
        ],
        day=BANK_DAY,
    )
    reconcile_files(bench.store, bench.workspace, [path], as_of=BANK_DAY)
    queue = {i.amount: i for i in list_review(bench.store)}
    assert set(queue) == {D("822.75"), D("55.55"), D("9.99")}

    outcome = accept_review(bench.store, bench.workspace, queue[D("822.75")].id, as_of=BANK_DAY)
    assert outcome["case"] == 12 and outcome["status"] == "paid"
    assert bench.case(12).status == "closed" and bench.case(12).close_reason == "paid"
    outcome = accept_review(bench.store, bench.workspace, queue[D("55.55")].id, case_id=14, as_of=BANK_DAY)
    assert outcome["status"] == "partial" and bench.case(14).open_amount == D("43.04")
    rejected = reject_review(bench.store, queue[D("9.99")].id, as_of=BANK_DAY, note="not ours")
    assert rejected.status == "rejected"
    assert list_review(bench.store) == []
    with bench.store.begin() as conn:
        status = dict(conn.execute(select(bank_transactions.c.amount, bank_transactions.c.status)).all())
        assert status == {D("822.75"): "matched", D("55.55"): "matched", D("9.99"): "unmatched"}
        total = conn.execute(select(func.count()).select_from(allocations)).scalar_one()
        assert total == 2
    # A later return of an accepted payment finds it and reopens the case.
    later = BANK_DAY + timedelta(days=2)
    reversal = write_camt(
        bench.root,
        "rev.xml",
        "053",
        [Payment("822.75", direction="DBIT", reversal=True, name="Julie Martin", bank_ref="Q-1R", booked_on=later)],
        day=later,
    )
    # Without an EndToEndId or a reference, a reversal is linked by the payer's IBAN: none here, so it
    # stays unmatched (reported), and the accepted payment stands.
    result = reconcile_files(bench.store, bench.workspace, [reversal], as_of=later)
    assert result.summary()["outcomes"]["unmatched"]["count"] == 1
    assert bench.case(12).status == "closed"


def test_a_payer_account_seen_once_identifies_the_debtor_later(bench: Bench) -> None:
    account = "BE71096123456769"
    first = write_camt(
        bench.root,
        "d1.xml",
        "053",
        [Payment("203.99", text="factuur INV-2026-26015", iban=account, bank_ref="L-1")],
        day=BANK_DAY,
    )
    reconcile_files(bench.store, bench.workspace, [first], as_of=BANK_DAY)
    # No reference, no text, no name: only the account the debtor paid from before says who pays.
    later = BANK_DAY + timedelta(days=1)
    second = write_camt(
        bench.root, "d2.xml", "053", [Payment("339.72", iban=account, bank_ref="L-2", booked_on=later)], day=later
    )
    result = reconcile_files(bench.store, bench.workspace, [second], as_of=later)
    assert result.summary()["cases_paid"] == [10]
    with bench.store.begin() as conn:
        rules = conn.execute(select(allocations.c.rule).where(allocations.c.case_id == 10)).scalars().all()
    assert sorted(rules) == ["debtor_iban", "text_reference"]


def test_a_crash_while_applying_a_file_leaves_nothing_and_a_rerun_applies_it(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dunning.usecases.reconcile.apply as apply_module

    path = write_camt(bench.root, "c.xml", "054", [Payment("66.94", ref=bench.reference(2))], day=BANK_DAY)

    def crash(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(apply_module, "write_report", crash)
    try:
        reconcile_files(bench.store, bench.workspace, [path], as_of=BANK_DAY)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the crash did not happen")
    with bench.store.begin() as conn:
        assert conn.execute(select(func.count()).select_from(bank_transactions)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(allocations)).scalar_one() == 0
    assert bench.case(2).status == "open"
    monkeypatch.undo()
    result = reconcile_files(bench.store, bench.workspace, [path], as_of=BANK_DAY)
    assert result.files[0].status == "processed" and result.summary()["cases_paid"] == [2]


def test_a_late_intraday_report_after_the_statement_changes_nothing(bench: Bench) -> None:
    payments = [Payment("66.94", ref=bench.reference(2), bank_ref="ACS-9")]
    statement = write_camt(bench.root, "s.xml", "053", payments, day=BANK_DAY, msg_id="S")
    report = write_camt(bench.root, "r.xml", "052", payments, day=BANK_DAY, msg_id="R")
    reconcile_files(bench.store, bench.workspace, [statement], as_of=BANK_DAY)
    result = reconcile_files(bench.store, bench.workspace, [report], as_of=BANK_DAY)
    assert result.files[0].counts == {"ignored": 1, "duplicate": 1}
    assert _allocated(bench, 2) == D("66.94") and bench.case(2).credit_amount == 0
