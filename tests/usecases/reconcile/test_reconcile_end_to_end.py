"""The end-to-end case of issue 7: a camt.054 pays cases in every way a debtor pays, on SQLite and PostgreSQL.

Cases come from the workspace's example ledger (imported, then a first night planned reminders,
fees and interest). The notification pays: exact structured references, references and invoice
numbers only in the free text, a partial payment, one payment for two invoices, costs and
interest first (§367 BGB), a known payer account with an invoice's amount, an amount with a
similar name (suggested only), and unknown payments. Then the next night plans only the
thank-you for the paid cases.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select, update

from dunning.domain.references import ogm_from_case
from dunning.store.schema import allocations, bank_files, bank_transactions, case_events, cases, review_items
from dunning.usecases.reconcile.review import list_review
from dunning.usecases.reconcile.run import reconcile_files
from tests.usecases.reconcile.camt_build import Payment, write_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench, ogm

D = Decimal


def _notification(bench: Bench) -> list[Payment]:
    case3 = bench.case(3)
    owed3 = case3.open_amount + case3.fees_amount + case3.interest_amount
    return [
        Payment("1616.47", ref=bench.reference(1), name="Jan Peeters", bank_ref="N-01"),  # credit note netted
        Payment("66.94", text="betaling factuur INV-2026-26004 dank u", name="Marie Dubois", bank_ref="N-02"),
        Payment(str(owed3), ref=bench.reference(3), name="Bakkerij Van den Broeck BV", bank_ref="N-03"),
        Payment("100.00", ref=bench.reference(4), name="Luc Janssens", bank_ref="N-04"),  # partial
        Payment("289.17", text="INV-2026-26011 + INV-2026-26012", name="P. de Vries", bank_ref="N-05"),  # two invoices
        Payment("543.71", text=f"mededeling {bench.reference(10)}", name="An Claes", bank_ref="N-06"),  # OGM in text
        Payment("430.32", name="O. Renard", iban="BE61539111878517", bank_ref="N-07"),  # known account, one invoice
        Payment("822.75", name="Julie Martin", bank_ref="N-08"),  # amount and name: suggestion only
        Payment("55.55", text="no idea", name="Someone Else", bank_ref="N-09"),  # unknown
        Payment("12.34", ref=ogm(ogm_from_case(999_999).compact), name="Nobody", bank_ref="N-10"),  # valid, no case
        Payment("20.00", direction="DBIT", name="Bank fees", bank_ref="N-11"),  # a debit
        Payment("150.00", ref=bench.reference(8), status="PDNG", bank_ref="N-12"),  # pending: never settles
    ]


def _charge_costs(bench: Bench, case_id: int, fees: str, interest: str) -> None:
    """Costs and interest earlier nights charged (the fixture's one night charges none: each step waits for the
    one before it to go out, so a first night sends the first reminder only)."""
    with bench.store.begin() as conn:
        conn.execute(
            update(cases).where(cases.c.id == case_id).values(fees_amount=D(fees), interest_amount=D(interest))
        )


def test_a_notification_advances_each_case_and_the_next_night_only_thanks(bench: Bench) -> None:
    _charge_costs(bench, 3, "40.00", "12.34")
    case3_before = bench.case(3)
    assert case3_before.fees_amount > 0 and case3_before.interest_amount > 0
    path = write_camt(bench.root, "notification.xml", "054", _notification(bench), day=BANK_DAY)

    result = reconcile_files(bench.store, bench.workspace, [path], as_of=BANK_DAY)

    (file,) = result.files
    assert file.status == "processed" and file.message == "camt.054.001.08", file
    summary = result.summary()
    assert summary["outcomes"]["matched"]["count"] == 7
    assert summary["outcomes"]["suggested"]["count"] == 1
    assert summary["outcomes"]["unmatched"]["count"] == 2
    assert summary["outcomes"]["ignored"]["count"] == 2
    assert summary["outcomes"]["unmatched"]["amount"] == "67.89"
    assert summary["cases_paid"] == [1, 2, 3, 7, 10]
    assert summary["cases_partly_paid"] == [4, 16]

    # Paid cases are closed as paid; every invoice of theirs is paid (the credit note too).
    for case_id in (1, 2, 3, 7, 10):
        case = bench.case(case_id)
        assert (case.status, case.close_reason, case.closed_on) == ("closed", "paid", BANK_DAY), case_id
        assert case.open_amount == 0 and case.credit_amount == 0
        assert {inv.status for inv in bench.invoices_of(case_id).values()} == {"paid"}, case_id
    # Partial payments lower what is owed; the case stays open.
    case4 = bench.case(4)
    assert (case4.status, case4.open_amount) == ("open", D("548.34"))
    invoices16 = bench.invoices_of(16)
    assert invoices16["INV-2026-26024"].status == "paid"  # the known account paid exactly this invoice
    assert {invoices16[i].status for i in ("INV-2026-26025", "INV-2026-26026")} == {"open"}
    assert bench.case(16).open_amount == D("427.70")
    # Untouched cases are untouched.
    assert bench.case(12).status == "open" and bench.case(12).open_amount == D("822.75")
    assert bench.case(8).open_amount == D("150.00")

    with bench.store.begin() as conn:
        statuses: dict[str, int] = dict(
            conn.execute(select(bank_transactions.c.status, func.count()).group_by(bank_transactions.c.status)).all()
        )
        assert statuses == {"matched": 7, "suggested": 1, "unmatched": 2, "ignored": 2}
        # Costs first, then interest, then the principal (§367 BGB); each allocation names its item.
        rows3 = conn.execute(
            select(allocations.c.item, allocations.c.kind, allocations.c.amount).where(allocations.c.case_id == 3)
        ).all()
        by_item = {item: (kind, amount) for item, kind, amount in rows3}
        assert by_item["fees"] == ("fee", case3_before.fees_amount)
        assert by_item["interest"] == ("interest", case3_before.interest_amount)
        assert by_item["INV-2026-26005"] == ("principal", case3_before.open_amount)
        # One payment split over two invoices.
        rows7 = conn.execute(select(allocations.c.item, allocations.c.amount).where(allocations.c.case_id == 7)).all()
        assert sorted(rows7) == [("INV-2026-26011", D("130.35")), ("INV-2026-26012", D("158.82"))]
        # The timeline tells each story with its rule and evidence.
        events = conn.execute(
            select(case_events.c.case_id, case_events.c.kind, case_events.c.detail).where(
                case_events.c.source.like("bank:%")
            )
        ).all()
        received = {e.case_id: e.detail for e in events if e.kind == "payment_received"}
        assert sorted(received) == [1, 2, 3, 4, 7, 10, 16]
        assert received[2]["rule"] == "text_reference" and "INV-2026-26004" in received[2]["reason"]
        assert received[10]["rule"] == "text_reference"
        assert received[16]["rule"] == "debtor_iban"
        assert received[1]["rule"] == "structured_reference"
        assert sorted(e.case_id for e in events if e.kind == "case_paid") == [1, 2, 3, 7, 10]
        notified = {e.case_id: e.detail for e in events if e.kind == "creditor_notified"}
        assert sorted(notified) == [1, 2, 3, 4, 7, 10, 16]
        assert notified[1]["events"] == ["payment_received", "case_paid"]
        assert notified[4]["status"] == "partial"
        assert conn.execute(select(func.count()).select_from(bank_files)).scalar_one() == 1

    # The review queue holds the suggestion (with its candidate) and the unknown credits, not the debit.
    queue = list_review(bench.store)
    assert sorted(i.amount for i in queue) == [D("12.34"), D("55.55"), D("822.75")]
    suggestion = next(i for i in queue if i.amount == D("822.75"))
    assert suggestion.rule == "amount_name" and suggestion.case_id == 12
    assert suggestion.candidates[0]["case"] == "12" and suggestion.candidates[0]["score"] >= 0.85
    assert suggestion.payer_name == "Julie Martin"
    unknown_ogm = next(i for i in queue if i.amount == D("12.34"))
    assert any("no open case carries it" in e for e in unknown_ogm.evidence)

    # The report: one row per transaction, amounts exact in both files.
    csv_path = next(p for p in file.reports if p.endswith(".csv"))
    with open(csv_path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    assert {r["outcome"] for r in rows} == {"matched", "suggested", "unmatched", "ignored"}
    row7 = next(r for r in rows if r["amount"] == "289.17")
    assert row7["rule"] == "text_reference" and "INV-2026-26011 130.35" in row7["paid_items"]
    pending = next(r for r in rows if r["amount"] == "150.00")
    assert pending["outcome"] == "ignored" and "not_booked" in pending["reason"]
    table = pq.read_table(next(p for p in file.reports if p.endswith(".parquet")))
    assert table.schema.field("amount").type == pa.decimal128(20, 4)
    amounts = table.column("amount").to_pylist()
    assert D("1616.4700") in amounts and D("12.3400") in amounts and len(amounts) == 12

    # The next night: the paid cases get their thank-you and nothing else; the others go on.
    planned = bench.night(BANK_DAY + timedelta(days=1))
    by_case: dict[int, set[str]] = {}
    for action in planned:
        by_case.setdefault(action["case"], set()).add(action["action"])
    for case_id in (1, 2, 3, 7, 10):
        assert by_case.get(case_id) == {"thank_you"}, (case_id, by_case.get(case_id))
    assert "thank_you" not in by_case.get(4, set()) and "thank_you" not in by_case.get(16, set())
    # A further night adds nothing for them.
    later = bench.night(BANK_DAY + timedelta(days=2))
    assert not [a for a in later if a["case"] in (1, 2, 3, 7, 10)]


def test_the_same_file_twice_or_renamed_changes_nothing(bench: Bench) -> None:
    path = write_camt(bench.root, "notification.xml", "054", _notification(bench), day=BANK_DAY)
    first = reconcile_files(bench.store, bench.workspace, [path], as_of=BANK_DAY)
    assert first.files[0].status == "processed"

    def counts() -> tuple[int, ...]:
        with bench.store.begin() as conn:
            return tuple(
                conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (bank_files, bank_transactions, allocations, case_events, review_items)
            )

    before = counts()
    copy = bench.root / "renamed-copy.xml"
    copy.write_bytes(path.read_bytes())
    again = reconcile_files(bench.store, bench.workspace, [path, copy], as_of=BANK_DAY)
    assert [f.status for f in again.files] == ["already_processed", "already_processed"]
    assert counts() == before
    assert bench.case(4).open_amount == D("548.34")
