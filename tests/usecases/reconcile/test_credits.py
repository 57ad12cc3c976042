"""Credits seen and handled (issue 16, item 6), end to end from real camt files, on SQLite and PostgreSQL.

An overpaid case shows its credit in `dunning cases`, `case`, `review` and the reconciliation
summary; a refund item waits in the review queue until a person refunds, keeps or ignores the
credit, each decision recorded with who, when and why on the case's timeline.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from click.testing import CliRunner

from dunning.cli import EXIT_INPUT, EXIT_NOT_FOUND, EXIT_OK, cli
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.reconcile.credits import raise_refund_items
from dunning.workspace import open_workspace
from tests.usecases.reconcile.camt_build import Payment, write_camt
from tests.usecases.reconcile.conftest import BANK_DAY, FIRST_NIGHT, Bench

PAY_DAY = date(2026, 12, 1)

DECIDED_ON = (BANK_DAY + timedelta(days=1)).isoformat()


def run(bench: Bench, store_url: str, *args: str) -> tuple[int, str, str]:
    runner = CliRunner(env={"DUNNING_DATABASE": store_url, "COLUMNS": "200"})
    result = runner.invoke(cli, [*args, "-w", str(bench.root)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def cases(bench: Bench, store_url: str) -> dict[int, dict[str, str]]:
    code, out, err = run(bench, store_url, "cases", "--format", "json")
    assert code == EXIT_OK, err
    return {row["case"]: row for row in json.loads(out)}


def timeline(bench: Bench, store_url: str, case_id: int) -> list[dict[str, str]]:
    code, out, err = run(bench, store_url, "case", str(case_id), "--format", "json")
    assert code == EXIT_OK, err
    return list(json.loads(out)["timeline"])


def queue(bench: Bench, store_url: str, *flags: str) -> list[dict[str, object]]:
    code, out, err = run(bench, store_url, "review", "--format", "json", *flags)
    assert code == EXIT_OK, err
    return list(json.loads(out))


def test_an_overpaid_case_shows_its_credit_and_asks_for_a_decision(bench: Bench, store_url: str) -> None:
    before = cases(bench, store_url)
    owed_2, owed_3 = Decimal(before[2]["total_due"]), Decimal(before[3]["total_due"])
    assert owed_2 > 0 and owed_3 > 0
    path = write_camt(
        bench.root,
        "over.xml",
        "054",
        [
            Payment(str(owed_2 + Decimal("13.06")), ref=bench.reference(2), name="Marie Dubois", bank_ref="OV-1"),
            Payment(str(owed_3 + Decimal("0.50")), ref=bench.reference(3), bank_ref="OV-2"),
        ],
        day=BANK_DAY,
    )
    code, out, err = run(bench, store_url, "reconcile", str(path), "--date", BANK_DAY.isoformat(), "--format", "json")
    assert code == EXIT_OK, err
    summary = json.loads(out)
    assert summary["cases_paid"] == [2, 3] and summary["refund_items"] == 2
    assert summary["credits"] == [
        {"case": 2, "credit": "13.06", "currency": "EUR"},
        {"case": 3, "credit": "0.50", "currency": "EUR"},
    ]
    report = next(r for r in summary["reports"] if r.endswith(".csv"))
    with open(report, encoding="utf-8") as handle:
        credits = {row["case"]: row["credit"] for row in csv.DictReader(handle)}
    assert credits == {"2": "13.06", "3": "0.50"}  # the report shows what each payment left as a credit

    # cases and case: paid in full, nothing due, the credit shown (JSON and CSV alike)
    after = cases(bench, store_url)
    assert (after[2]["status"], after[2]["total_due"], after[2]["credit"]) == ("closed", "0.00", "13.06")
    assert Decimal(after[2]["paid"]) == owed_2  # the credit is not counted as paid on what was owed
    code, out, _ = run(bench, store_url, "cases", "--format", "csv")
    assert {r["case"]: r["credit"] for r in csv.DictReader(io.StringIO(out))}["2"] == "13.06"
    code, out, _ = run(bench, store_url, "case", "2")
    assert code == EXIT_OK and "credit 13.06 EUR" in out
    assert [e["kind"] for e in timeline(bench, store_url, 2)][-1] == "refund_item_opened"

    # review: one refund item per overpaid case, with its credit; a payment decision is refused on it
    items = {i["case"]: i for i in queue(bench, store_url)}
    assert set(items) == {2, 3}
    assert (items[2]["kind"], items[2]["credit"]) == ("refund", "13.06")
    assert "more than was owed" in str(items[2]["reason"])
    code, out, _ = run(bench, store_url, "review")
    assert "refund" in out and "13.06" in out
    first = int(str(items[2]["id"]))
    code, _, err = run(bench, store_url, "review", "accept", str(first))
    assert code == EXIT_INPUT and "refund|keep|ignore" in err

    # the same file again, and the sweep again: no second item
    code, out, _ = run(bench, store_url, "reconcile", str(path), "--date", BANK_DAY.isoformat())
    assert code == EXIT_OK and "already processed" in out
    with bench.store.begin() as conn:
        assert raise_refund_items(conn, on_date=BANK_DAY, recorded_at=datetime.now(UTC)) == []
    assert len(queue(bench, store_url)) == 2

    # keep: recorded with who, when and why; the item leaves the queue; the credit stays on the case
    code, out, err = run(
        bench,
        store_url,
        "review",
        "keep",
        str(first),
        "--by",
        "alice",
        "--note",
        "next invoice",
        "--date",
        DECIDED_ON,
        "--format",
        "json",
    )
    assert code == EXIT_OK, err
    assert json.loads(out) | {} == {
        "item": first,
        "case": 2,
        "decision": "keep",
        "credit": "13.06",
        "currency": "EUR",
        "credit_left": "13.06",
        "by": "alice",
        "on": DECIDED_ON,
        "note": "next invoice",
    }
    assert [i["case"] for i in queue(bench, store_url)] == [3]
    decided = {i["id"]: i for i in queue(bench, store_url, "--all")}[first]
    assert decided["status"] == "keep"
    kept = timeline(bench, store_url, 2)[-1]
    assert kept["kind"] == "credit_kept" and kept["date"] == DECIDED_ON and kept["amount"] == "13.06"
    assert "alice" in kept["why"] and "next invoice" in kept["why"]
    assert cases(bench, store_url)[2]["credit"] == "13.06"
    code, _, err = run(bench, store_url, "review", "refund", str(first))
    assert code == EXIT_INPUT and "already decided (keep)" in err

    # ignore: nothing changes on the case but the record
    other = int(str(items[3]["id"]))
    code, out, err = run(bench, store_url, "review", "ignore", str(other), "--by", "bob", "--date", DECIDED_ON)
    assert code == EXIT_OK and "ignored (by bob)" in out, err
    assert queue(bench, store_url) == [] and cases(bench, store_url)[3]["credit"] == "0.50"
    assert timeline(bench, store_url, 3)[-1]["kind"] == "credit_ignored"

    # the debtor pays 5.00 more: the credit grows, a new item asks again; refund empties the case's credit
    more = write_camt(
        bench.root,
        "more.xml",
        "054",
        [Payment("5.00", ref=bench.reference(2), name="Marie Dubois", bank_ref="OV-3")],
        day=BANK_DAY + timedelta(days=2),
        msg_id="MSG-2",
    )
    code, out, err = run(bench, store_url, "reconcile", str(more), "--date", DECIDED_ON, "--format", "json")
    assert code == EXIT_OK and json.loads(out)["credits"] == [{"case": 2, "credit": "18.06", "currency": "EUR"}]
    again = queue(bench, store_url)
    assert [(i["case"], i["credit"]) for i in again] == [(2, "18.06")]
    assert "grew from 13.06 to 18.06" in str(again[0]["reason"])
    code, out, err = run(
        bench,
        store_url,
        "review",
        "refund",
        str(again[0]["id"]),
        "--by",
        "carol",
        "--note",
        "paid back to BE71096123456769",
        "--date",
        DECIDED_ON,
    )
    assert code == EXIT_OK and "to be refunded" in out, err
    assert cases(bench, store_url)[2]["credit"] == "0.00" and queue(bench, store_url) == []
    refunded = timeline(bench, store_url, 2)[-1]
    assert refunded["kind"] == "credit_refunded" and refunded["amount"] == "18.06" and "carol" in refunded["why"]
    with bench.store.begin() as conn:
        assert raise_refund_items(conn, on_date=BANK_DAY, recorded_at=datetime.now(UTC)) == []

    # unknown items and payment items are refused with a clear message
    code, _, err = run(bench, store_url, "review", "keep", "999")
    assert code == EXIT_NOT_FOUND and "no such item" in err


def test_paying_the_total_cases_shows_closes_the_case(bench: Bench, store_url: str) -> None:
    """The debtor who pays exactly what `dunning cases` shows is paid in full, never "partly paid"."""
    # Nights with their messages sent until costs are charged (each step waits for the one before it).
    workspace = open_workspace(bench.root, environ={})
    day = FIRST_NIGHT
    while day < PAY_DAY:
        dispatch_messages(bench.store, workspace, day, now=datetime.combine(day, time(10), tzinfo=UTC))
        day += timedelta(days=1)
        bench.night(day)
    rows = cases(bench, store_url)
    charged = next(case for case, row in rows.items() if Decimal(row["costs"]) + Decimal(row["interest"]) > 0)
    path = write_camt(
        bench.root,
        "exact.xml",
        "054",
        [Payment(rows[charged]["total_due"], ref=bench.reference(charged), bank_ref="EX-1")],
        day=PAY_DAY,
    )
    code, out, err = run(bench, store_url, "reconcile", str(path), "--date", PAY_DAY.isoformat(), "--format", "json")
    assert code == EXIT_OK, err
    summary = json.loads(out)
    assert summary["cases_paid"] == [charged] and summary["credits"] == []
    after = cases(bench, store_url)[charged]
    assert (after["status"], after["total_due"], after["credit"]) == ("closed", "0.00", "0.00")


def test_a_returned_overpayment_cancels_its_refund_item(bench: Bench, store_url: str) -> None:
    """The bank reverses the overpaying payment: the credit is gone, so is the question; the case reopens."""
    owed = Decimal(cases(bench, store_url)[2]["total_due"])
    over = str(owed + Decimal("10.00"))
    paid = write_camt(
        bench.root,
        "paid.xml",
        "053",
        [Payment(over, ref=bench.reference(2), end_to_end="E2E-OV", bank_ref="R-1")],
        day=BANK_DAY,
    )
    code, out, err = run(bench, store_url, "reconcile", str(paid), "--date", BANK_DAY.isoformat(), "--format", "json")
    assert code == EXIT_OK and json.loads(out)["refund_items"] == 1, err
    [item] = queue(bench, store_url)
    later = BANK_DAY + timedelta(days=1)
    back = write_camt(
        bench.root,
        "rev.xml",
        "053",
        [Payment(over, direction="DBIT", reversal=True, end_to_end="E2E-OV", bank_ref="R-2", booked_on=later)],
        day=later,
        msg_id="REV",
    )
    code, out, err = run(bench, store_url, "reconcile", str(back), "--date", later.isoformat(), "--format", "json")
    assert code == EXIT_OK and json.loads(out)["cases_reopened"] == [2], err
    assert queue(bench, store_url) == []
    cancelled = {i["id"]: i for i in queue(bench, store_url, "--all")}[item["id"]]
    assert cancelled["status"] == "cancelled"
    row = cases(bench, store_url)[2]
    assert (row["status"], row["credit"], Decimal(row["total_due"])) == ("open", "0.00", owed)
    assert "refund_item_cancelled" in [e["kind"] for e in timeline(bench, store_url, 2)]
