"""AC-26: a collective booking (camt.053) and the camt.054 that details it are booked once, in either order.

The real PostFinance files of the corpus (``moov/``) carry the same batches as the collective entries of
``camt.053_P_CH2909…2020112503071366.xml`` but on other days, so two pairs link by bank reference or
package id and one (the QR batch of 18.06.2020) cannot; the synthetic pairs are built like them
(``NtryRef`` = QR-IBAN, ``BkTxCd`` VCOM, ``SAMMELGUTSCHRIFT … PAKET ID``) and pay the bench's cases.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from camt.build import Collective, build_camt
from dunning.bank.read import read_bank_file
from dunning.domain.matching.model import RefKind
from dunning.store.schema import allocations, bank_transaction_aliases, bank_transactions, review_items
from dunning.usecases.reconcile.collective import COLLECTIVE_GRACE_DAYS
from dunning.usecases.reconcile.review import ReviewError, accept_review, list_review
from dunning.usecases.reconcile.run import ReconcileResult, reconcile_files
from tests.usecases.reconcile.accounts import account_of, with_accounts
from tests.usecases.reconcile.camt_build import ACCOUNT, CORPUS, Payment, assert_valid
from tests.usecases.reconcile.conftest import BANK_DAY, Bench

D = Decimal
MOOV = CORPUS / "moov"
STATEMENT = MOOV / "camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml"
QRR_054 = MOOV / "200519_camt.054_P_CH2909000000250094239_1111091335_0_2020061900081727.xml"
ESR_054 = MOOV / "200519_camt054-ESR-ASR_P_CH2909000000250094239_1110092704_0_2019042500372179.xml"
CREDIT_054 = MOOV / "200924_camt.054_P_CH2909000000250094239_1110092703_0_2019042423412214.xml"
REAL_DAY = date(2020, 11, 25)
QR_IBAN = "CH4431999123000889012"


# ---------------------------------------------------------------------------------- helpers


def _write(folder: Path, name: str, kind: str, entries: list[Payment | Collective], msg_id: str) -> Path:
    xml = build_camt(kind, entries, day=BANK_DAY, account=ACCOUNT, msg_id=msg_id)
    assert_valid(xml, kind)
    path = folder / name
    path.write_bytes(xml)
    return path


def _reconcile(bench: Bench, *paths: Path, on: date = BANK_DAY) -> ReconcileResult:
    # PostFinance's real files are for its test account: the bench's creditor holds it too here.
    workspace = with_accounts(bench, *sorted({a for p in paths if (a := account_of(p)) and a != ACCOUNT}))
    return reconcile_files(bench.store, workspace, list(paths), as_of=on)


def _allocated(bench: Bench) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = {}
    with bench.store.begin() as conn:
        query = select(allocations.c.case_id, allocations.c.amount).where(allocations.c.reversed.is_(False))
        for case_id, amount in conn.execute(query):
            totals[case_id] = totals.get(case_id, D(0)) + amount
    return totals


def _collectives(bench: Bench) -> dict[Decimal, dict[str, Any]]:
    """Recorded collective entries by amount: their detail['collective']."""
    with bench.store.begin() as conn:
        rows = conn.execute(select(bank_transactions.c.amount, bank_transactions.c.status, bank_transactions.c.detail))
        found = {D(r.amount): {**r.detail["collective"], "status": r.status} for r in rows if "collective" in r.detail}
    return found


def _review_amounts(bench: Bench) -> list[Decimal]:
    with bench.store.begin() as conn:
        rows = conn.execute(
            select(bank_transactions.c.amount).join(
                review_items, review_items.c.transaction_id == bank_transactions.c.id
            )
        ).scalars()
        return sorted(D(a) for a in rows)


def _table_counts(bench: Bench) -> tuple[int, ...]:
    with bench.store.begin() as conn:
        return tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (bank_transactions, bank_transaction_aliases, allocations, review_items)
        )


def _qr_batch(bench: Bench, *, details: bool, bank_ref: str | None = "07582000303QRB01", **extra: Any) -> Collective:
    """The day's QR payments for cases 2, 5 and 12 (66.94 + 727.65 + 822.75), as PostFinance books them."""
    payments = (
        Payment("66.94", ref=bench.reference(2), bank_ref="261027CH02ZX5RI1", tx_ref=True, name="Marie Dubois"),
        Payment("727.65", ref=bench.reference(5), bank_ref="261027CH02ZX5RI2", tx_ref=True, name="Sophie Lambert"),
        Payment("822.75", ref=bench.reference(12), bank_ref="261027CH02ZX5RI3", tx_ref=True, name="Julie Martin"),
    )
    info = f"SAMMELGUTSCHRIFT FÜR KONTO: {QR_IBAN} VERARBEITUNG VOM 27.10.2026 PAKET ID: 261027CH000009TB"
    return Collective(payments, bank_ref=bank_ref, entry_ref=QR_IBAN, info=info, details=details, **extra)


TOTAL = D("1617.34")
PAID = {2: D("66.94"), 5: D("727.65"), 12: D("822.75")}


# ---------------------------------------------------------------------------------- the real files


@pytest.mark.requires_corpus
def test_the_real_postfinance_054_gives_each_payment_with_its_qr_reference() -> None:
    qrr = read_bank_file(QRR_054, as_of=REAL_DAY)
    payments = [(line.tx.amount, line.tx.structured_ref) for line in qrr.lines]
    assert [(amount, ref.value if ref else None) for amount, ref in payments] == [
        (D("778.29"), "539115429773825311971477453"),
        (D("913.93"), "662437765447746478179744715"),
    ]
    assert all(ref is not None and ref.kind is RefKind.OTHER and ref.valid for _, ref in payments)
    (batch,) = {line.batch for line in qrr.lines}
    assert batch is not None and (batch.count, batch.total, batch.package) == (2, D("1692.22"), "200618CH000009TB")
    assert all(line.skip is None and line.collective is None for line in qrr.lines)

    esr = read_bank_file(ESR_054, as_of=REAL_DAY)
    credits = [line for line in esr.lines if str(line.tx.credit_debit) == "CRDT"]
    assert sum((line.tx.amount for line in credits), D(0)) == D("1537.00") and len(credits) == 5
    assert [line.tx.structured_ref.value for line in credits if line.tx.structured_ref] == [
        "120000000000234478943216899",
        "120000000000234478943216899",
        "120000000000234478943216899",
        "359335273113716998981168243",
        "684388397169969395754931859",
    ]
    assert {line.batch.count for line in credits if line.batch} == {5}

    statement = read_bank_file(STATEMENT, as_of=REAL_DAY)
    held = {line.tx.amount: line for line in statement.lines if line.collective is not None}
    assert sorted(held) == [D("1500.00"), D("1537.00"), D("1692.22")]  # the three SAMMELGUTSCHRIFT entries
    assert all(line.skip and "without details" in line.skip for line in held.values())
    plain = [line for line in statement.lines if line.collective is None]
    assert sorted(line.tx.amount for line in plain) == [D("4.50"), D("77.70")] and not any(p.skip for p in plain)
    # The ESR collective and its camt.054 share the entry's bank reference: one link key in common.
    esr_keys = set(credits[0].batch.keys if credits[0].batch else ())
    assert esr_keys & set(held[D("1537.00")].collective.keys if held[D("1537.00")].collective else ())


@pytest.mark.requires_corpus
def test_real_files_details_first_then_the_statement_links_the_collectives(bench: Bench) -> None:
    first = _reconcile(bench, ESR_054, CREDIT_054, QRR_054, on=REAL_DAY)
    assert [f.status for f in first.files] == ["processed"] * 3
    before = _review_amounts(bench)
    assert D("250.00") in before and D("778.29") in before  # each payment of the batches, one by one

    result = _reconcile(bench, STATEMENT, on=REAL_DAY)
    (file,) = result.files
    # 1537.00 (same AcctSvcrRef) and 1500.00 (same PAKET ID) are linked; the QR batch of another day is held.
    assert file.collectives == {"linked": 2, "awaiting_details": 1}
    assert result.summary()["collectives"] == {"linked": 2, "awaiting_details": 1}
    held = _collectives(bench)
    assert {a: c["state"] for a, c in held.items()} == {
        D("1537.00"): "linked",
        D("1500.00"): "linked",
        D("1692.22"): "awaiting_details",
    }
    assert all(c["status"] == "ignored" for c in held.values())
    assert held[D("1537.00")]["linked_to"]["count"] == 5 and len(held[D("1537.00")]["linked_to"]["transactions"]) == 5
    assert held[D("1500.00")]["linked_to"]["file"] == CREDIT_054.name
    # Only the statement's plain credit joins the review queue, never a collective.
    assert _review_amounts(bench) == sorted([*before, D("4.50"), D("77.70")])


@pytest.mark.requires_corpus
def test_real_files_statement_first_holds_then_the_notifications_link(bench: Bench) -> None:
    statement = _reconcile(bench, STATEMENT, on=REAL_DAY)
    assert statement.files[0].collectives == {"awaiting_details": 3}
    assert _review_amounts(bench) == [D("4.50"), D("77.70")]
    assert {c["state"] for c in _collectives(bench).values()} == {"awaiting_details"}

    esr = _reconcile(bench, ESR_054, on=REAL_DAY)
    assert esr.files[0].collectives == {"linked": 1}
    credit = _reconcile(bench, CREDIT_054, on=REAL_DAY)
    assert credit.files[0].collectives == {"linked": 1}
    states = {a: c["state"] for a, c in _collectives(bench).items()}
    assert states == {D("1537.00"): "linked", D("1500.00"): "linked", D("1692.22"): "awaiting_details"}
    linked = _collectives(bench)[D("1537.00")]["linked_to"]
    assert linked["file"] == ESR_054.name and linked["count"] == 5 and linked["total"] == "1537.00"
    reviewed = _review_amounts(bench)
    assert D("1537.00") not in reviewed and D("1500.00") not in reviewed
    assert {D("250.00"), D("200.00"), D("300.00"), D("324.00"), D("463.00")} <= set(reviewed)  # one by one

    counts = _table_counts(bench)
    again = _reconcile(bench, STATEMENT, ESR_054, CREDIT_054, on=REAL_DAY)
    assert [f.status for f in again.files] == ["already_processed"] * 3
    assert _table_counts(bench) == counts


# ---------------------------------------------------------------------------------- synthetic pairs


@pytest.mark.parametrize("order", ["details_first", "collective_first"])
def test_each_payment_is_booked_once_whichever_file_comes_first(bench: Bench, order: str) -> None:
    notification = _write(bench.root, "n.xml", "054", [_qr_batch(bench, details=True)], "NTF-1")
    statement = _write(bench.root, "s.xml", "053", [_qr_batch(bench, details=False)], "STM-1")
    first, second = (notification, statement) if order == "details_first" else (statement, notification)

    one = _reconcile(bench, first)
    if order == "details_first":
        assert one.summary()["cases_paid"] == [2, 5, 12]
        assert one.files[0].collectives == {}
    else:
        # Held: nothing paid, nothing to review, the collective waits for its details.
        assert one.summary()["cases_paid"] == [] and one.summary()["review_items"] == 0
        assert one.files[0].collectives == {"awaiting_details": 1}
        assert one.files[0].counts == {"ignored": 1}
        assert _collectives(bench)[TOTAL]["state"] == "awaiting_details"
        assert bench.case(2).status == "open"

    two = _reconcile(bench, second)
    assert two.files[0].collectives == {"linked": 1}
    assert two.summary()["review_items"] == 0
    assert _allocated(bench) == PAID  # each payment once; the 1617.34 total never
    assert all(bench.case(c).status == "closed" and bench.case(c).credit_amount == 0 for c in PAID)
    assert _review_amounts(bench) == []
    collective = _collectives(bench)[TOTAL]
    assert collective["state"] == "linked" and collective["status"] == "ignored"
    assert collective["linked_to"]["file"] == "n.xml" and collective["linked_to"]["count"] == 3
    assert len(collective["linked_to"]["transactions"]) == 3

    # Re-running: the same files (by content hash), and the same bookings in new deliveries.
    counts = _table_counts(bench)
    again = _reconcile(bench, notification, statement)
    assert [f.status for f in again.files] == ["already_processed", "already_processed"]
    notification2 = _write(bench.root, "n2.xml", "054", [_qr_batch(bench, details=True)], "NTF-2")
    statement2 = _write(bench.root, "s2.xml", "053", [_qr_batch(bench, details=False)], "STM-2")
    later = _reconcile(bench, statement2, notification2)
    assert [f.counts for f in later.files] == [{"ignored": 1, "duplicate": 1}, {"ignored": 3, "duplicate": 3}]
    assert [f.collectives for f in later.files] == [{}, {}]
    assert _table_counts(bench) == counts
    assert _allocated(bench) == PAID


@pytest.mark.parametrize("order", ["details_first", "collective_first"])
def test_without_a_shared_reference_the_day_qr_iban_and_total_link(bench: Bench, order: str) -> None:
    """A bank that repeats neither the entry reference nor a package id: booking date + NtryRef + total."""
    batch = _qr_batch(bench, details=True, bank_ref="NTF-ENTRY-9")
    notification = _write(
        bench.root, "n.xml", "054", [Collective(batch.payments, bank_ref="A", entry_ref=QR_IBAN)], "N"
    )
    statement = _write(
        bench.root, "s.xml", "053", [Collective(batch.payments, bank_ref="B", entry_ref=QR_IBAN, details=False)], "S"
    )
    paths = [notification, statement] if order == "details_first" else [statement, notification]
    results = [_reconcile(bench, path) for path in paths]
    assert results[1].files[0].collectives == {"linked": 1}
    assert _allocated(bench) == PAID and _review_amounts(bench) == []


def test_a_summary_announcing_another_count_is_not_linked(bench: Bench) -> None:
    """Btch/NbOfTxs = 4 in the statement, 3 payments detailed: not the same batch, the collective stays held."""
    statement = _write(bench.root, "s.xml", "053", [_qr_batch(bench, details=False, count=4)], "S")
    notification = _write(bench.root, "n.xml", "054", [_qr_batch(bench, details=True)], "N")
    _reconcile(bench, statement)
    result = _reconcile(bench, notification)
    assert result.files[0].collectives == {}
    assert _collectives(bench)[TOTAL]["state"] == "awaiting_details"
    assert _allocated(bench) == PAID  # the payments are booked from their details all the same
    assert any("details 3 transactions" in w and "announces 4: not linked" in w for w in result.files[0].warnings)
    assert result.files[0].counts.get("duplicate", 0) == 0 and _review_amounts(bench) == []


def test_a_summary_with_the_right_count_links(bench: Bench) -> None:
    """The AC-08 form (Btch/NbOfTxs and one summary detail) links to its details like PostFinance's bare entry."""
    statement = _write(bench.root, "s.xml", "053", [_qr_batch(bench, details=False, count=3)], "S")
    notification = _write(bench.root, "n.xml", "054", [_qr_batch(bench, details=True)], "N")
    assert _reconcile(bench, statement).files[0].collectives == {"awaiting_details": 1}
    assert _reconcile(bench, notification).files[0].collectives == {"linked": 1}
    assert _allocated(bench) == PAID and _review_amounts(bench) == []


def test_a_collective_waiting_too_long_is_asked_about_once_and_its_details_still_link(bench: Bench) -> None:
    statement = _write(bench.root, "s.xml", "053", [_qr_batch(bench, details=False)], "S")
    _reconcile(bench, statement)
    # Another file within the grace days: nothing to ask yet.
    quiet = _write(bench.root, "q.xml", "053", [Payment("1.00", bank_ref="Q-1", text="?")], "Q")
    assert _reconcile(bench, quiet, on=BANK_DAY + timedelta(days=COLLECTIVE_GRACE_DAYS)).files[0].collectives == {}
    late = BANK_DAY + timedelta(days=COLLECTIVE_GRACE_DAYS + 1)
    other = _write(bench.root, "o.xml", "053", [Payment("2.00", bank_ref="O-1", text="?")], "O")
    result = _reconcile(bench, other, on=late)
    assert result.files[0].collectives == {"asked": 1}
    (item,) = [i for i in list_review(bench.store) if i.amount == TOTAL]
    assert "still without its details" in item.reason and item.case_id is None
    with pytest.raises(ReviewError, match="no record"):  # a collective is never applied to a case as one payment
        accept_review(bench.store, bench.workspace, item.id, case_id=2, as_of=late)
    again = _write(bench.root, "a.xml", "053", [Payment("3.00", bank_ref="A-1", text="?")], "A")
    assert _reconcile(bench, again, on=late).files[0].collectives == {}  # asked once
    # The camt.054 comes after all: the payments are booked, the collective linked, the question withdrawn.
    notification = _write(bench.root, "n.xml", "054", [_qr_batch(bench, details=True)], "N")
    assert _reconcile(bench, notification, on=late).files[0].collectives == {"linked": 1}
    assert _allocated(bench) == PAID
    assert all(i.amount != TOTAL for i in list_review(bench.store))
    assert [i.status for i in list_review(bench.store, status=None) if i.amount == TOTAL] == ["cancelled"]
