"""Bank charges and small differences (issue 16, item 4), through ``dunning reconcile``, on SQLite and PostgreSQL.

A debtor who paid what was asked is never dunned for what banks took on the way: a camt.053
booking 66.59 of an instructed 66.94, with a 0.35 charges record (``Chrgs/Rcrd``, shared
charges), closes the case, the 0.35 is written off as bank charges (the store, the report, the
summary and the timeline say so) and the nights that follow, messages really sent, add no fee,
interest or reminder, while an unpaid case beside it gets them. What is short beyond the charges
falls to the write-off tolerance (``bank.tolerance``, one per currency): within it the case
closes, beyond it the case stays open and is reminded.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import yaml
from click.testing import CliRunner
from sqlalchemy import select

from dunning.cli import EXIT_OK, cli
from dunning.store.schema import allocations, invoices
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.workspace import open_workspace
from tests.usecases.reconcile.camt_build import Payment, assert_valid, build_camt
from tests.usecases.reconcile.conftest import BANK_DAY, FIRST_NIGHT, IMPORTED_ON, Bench

D = Decimal
#: what the nights plan that a paying debtor must never get
DUNNING = {"add_fee", "add_interest", "send_sms", "send_pay_link", "send_letter", "send_final_notice", "hand_over"}


def run(bench: Bench, store_url: str, *args: str) -> tuple[int, str, str]:
    runner = CliRunner(env={"DUNNING_DATABASE": store_url, "COLUMNS": "200"})
    result = runner.invoke(cli, ["--workspace", str(bench.root), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def reconcile(bench: Bench, store_url: str, name: str, xml: bytes) -> dict[str, Any]:
    path = bench.root / name
    path.write_bytes(xml)
    code, out, err = run(bench, store_url, "reconcile", str(path), "--date", BANK_DAY.isoformat(), "--format", "json")
    assert code == EXIT_OK, err
    return dict(json.loads(out))


def set_tolerance(bench: Bench, tolerance: object) -> None:
    path = bench.root / "dunning.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["bank"]["tolerance"] = tolerance
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


def without_flow_minimum(bench: Bench) -> None:
    """Turn the flows' minimum amount (5.00) off: a residual of cents is reminded only when the flow allows it."""
    for flow_file in (bench.root / "flows").glob("*.yaml"):
        text = flow_file.read_text(encoding="utf-8")
        flow_file.write_text(text.replace('minimum_amount: "5.00"', 'minimum_amount: "0"'), encoding="utf-8")


def nights(bench: Bench, store_url: str, first: date, last: date) -> dict[int, set[str]]:
    """Run each night from ``first`` to ``last`` through ``dunning run`` and send its emails and SMS.

    The first night's reminders are sent before the bank day, so the legal periods run and the
    nights would add fees and interest to a case still open.
    """
    workspace = open_workspace(bench.root, environ={})
    dispatch_messages(bench.store, workspace, FIRST_NIGHT, now=datetime.combine(FIRST_NIGHT, time(10), tzinfo=UTC))
    planned: dict[int, set[str]] = defaultdict(set)
    day = first
    while day <= last:
        code, out, err = run(bench, store_url, "run", "--date", day.isoformat(), "--list", "--format", "json")
        assert code == EXIT_OK, err
        for action in json.loads(out)["actions"]:
            planned[action["case"]].add(action["action"])
        dispatch_messages(bench.store, workspace, day, now=datetime.combine(day, time(10), tzinfo=UTC))
        day += timedelta(days=1)
    return planned


def report_rows(result: dict[str, Any]) -> list[dict[str, str]]:
    (csv_path,) = [r for r in result["reports"] if r.endswith(".csv")]
    with open(csv_path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def timeline(bench: Bench, store_url: str, case: int) -> list[dict[str, Any]]:
    code, out, err = run(bench, store_url, "case", str(case), "--format", "json")
    assert code == EXIT_OK, err
    return list(json.loads(out)["timeline"])


def net_of_charges(bench: Bench, bearer: str = "SHAR") -> bytes:
    """Case 2 owes 66.94; the payer ordered 66.94, banks took 0.35 and the account got 66.59."""
    payment = Payment(
        "66.59",
        ref=bench.reference(2),
        name="Marie Dubois",
        end_to_end="E2E-CHRG-1",
        bank_ref="CHRG-1",
        instructed="66.94",
        charges="0.35",
        charge_bearer=bearer,
    )
    return build_camt("053", [payment], day=BANK_DAY, msg_id="CHRG")


def test_the_file_with_charges_is_a_valid_camt_053(bench: Bench) -> None:
    xml = net_of_charges(bench)
    assert b"<InstdAmt>" in xml and b"<Br>SHAR</Br>" in xml and b"<ChrgInclInd>true</ChrgInclInd>" in xml
    assert_valid(xml, "053")


def test_a_payment_net_of_bank_charges_closes_the_case_and_no_fee_or_reminder_follows(
    bench: Bench, store_url: str
) -> None:
    result = reconcile(bench, store_url, "charges.xml", net_of_charges(bench))
    assert result["cases_paid"] == [2] and result["cases_partly_paid"] == []
    assert result["written_off"] == {
        "count": 1,
        "by_currency": {"EUR": {"bank_charges": "0.35", "tolerance": "0.00", "total": "0.35"}},
    }
    assert bench.case(2).status == "closed" and bench.case(2).close_reason == "paid"
    # the store: the payment and the write-off, each an allocation
    with bench.store.begin() as conn:
        rows = conn.execute(select(allocations.c.kind, allocations.c.amount).where(allocations.c.case_id == 2)).all()
    assert sorted((kind, D(amount)) for kind, amount in rows) == [("principal", D("66.59")), ("write_off", D("0.35"))]
    # the report and the timeline say what was written off and why
    (row,) = report_rows(result)
    assert D(row["written_off"]) == D("0.35") and row["write_off_reason"] == "0.35 bank charges written off"
    received = [e for e in timeline(bench, store_url, 2) if e["kind"] == "payment_received"]
    assert "0.35 bank charges (instructed 66.94, booked 66.59): 0.35 written off" in received[0]["why"]
    planned = nights(bench, store_url, BANK_DAY + timedelta(days=1), date(2026, 11, 20))
    assert not planned[2] & DUNNING, planned[2]
    # the same nights dun case 7, which did not pay: they would have dunned case 2 too
    assert {"add_fee", "add_interest", "send_letter"} <= planned[7]


def test_charges_the_payer_took_on_leave_the_difference_owed(bench: Bench, store_url: str) -> None:
    without_flow_minimum(bench)
    # ChrgBr DEBT: the payer agreed to bear every charge; the 0.35 is not the creditor's.
    result = reconcile(bench, store_url, "debt.xml", net_of_charges(bench, bearer="DEBT"))
    assert result["cases_paid"] == [] and result["cases_partly_paid"] == [2]
    assert result["written_off"] == {"count": 0, "by_currency": {}}
    assert bench.case(2).open_amount == D("0.35")
    planned = nights(bench, store_url, BANK_DAY + timedelta(days=1), date(2026, 11, 10))
    assert "send_sms" in planned[2]


def test_a_residual_within_the_tolerance_is_written_off_reported_and_never_reminded(
    bench: Bench, store_url: str
) -> None:
    set_tolerance(bench, {"EUR": "1.00", "CHF": "1.00"})
    xml = build_camt("053", [Payment("66.24", ref=bench.reference(2), bank_ref="TOL-1")], day=BANK_DAY, msg_id="TOL")
    result = reconcile(bench, store_url, "within.xml", xml)
    assert result["cases_paid"] == [2]
    assert result["written_off"]["by_currency"] == {
        "EUR": {"bank_charges": "0.00", "tolerance": "0.70", "total": "0.70"}
    }
    (row,) = report_rows(result)
    assert row["write_off_reason"] == "0.70 within the write-off tolerance written off"
    again = reconcile(bench, store_url, "within.xml", xml)  # the same file again: nothing written off twice
    assert again["files_already_processed"] == 1 and again["written_off"] == {"count": 0, "by_currency": {}}
    planned = nights(bench, store_url, BANK_DAY + timedelta(days=1), date(2026, 11, 20))
    assert not planned[2] & DUNNING, planned[2]


def test_a_residual_beyond_the_tolerance_stays_open_and_is_reminded(bench: Bench, store_url: str) -> None:
    without_flow_minimum(bench)
    set_tolerance(bench, {"EUR": "1.00"})
    xml = build_camt("053", [Payment("65.50", ref=bench.reference(2), bank_ref="TOL-2")], day=BANK_DAY, msg_id="TOL")
    result = reconcile(bench, store_url, "beyond.xml", xml)
    assert result["cases_partly_paid"] == [2] and result["written_off"]["count"] == 0
    assert bench.case(2).status == "open" and bench.case(2).open_amount == D("1.44")
    planned = nights(bench, store_url, BANK_DAY + timedelta(days=1), date(2026, 11, 10))
    assert "send_sms" in planned[2]


def test_the_tolerance_is_per_currency(bench: Bench, store_url: str) -> None:
    # A Swiss debtor owes 100.00 CHF beside the example's euro cases.
    ledger = bench.root / "examples/open-items.csv"
    rows = ledger.read_text(encoding="utf-8").splitlines()
    rows.append(
        "C2001,Anna Keller,person,de,Bahnhofstrasse 1,8001,Zürich,CH,anna.keller@example.ch,,,residential,"
        "INV-2026-27001,2026-09-01,2026-10-01,100.00,100.00,CHF,Gas supply"
    )
    with_chf = bench.root / "with-chf.csv"
    with_chf.write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_ledger(bench.store, with_chf, as_of=IMPORTED_ON + timedelta(days=1), reference_kind="be-ogm")
    with bench.store.begin() as conn:
        chf_case = conn.execute(
            select(invoices.c.case_id).where(invoices.c.external_id == "INV-2026-27001")
        ).scalar_one()
    set_tolerance(bench, {"EUR": "1.00", "CHF": "0.05"})
    xml = build_camt(
        "053",
        [
            Payment("66.24", ref=bench.reference(2), bank_ref="CUR-1"),  # 0.70 EUR short: within 1.00
            Payment("99.30", ref=bench.reference(chf_case), bank_ref="CUR-2", currency="CHF"),  # 0.70 CHF: beyond 0.05
        ],
        day=BANK_DAY,
        msg_id="CUR",
    )
    result = reconcile(bench, store_url, "currencies.xml", xml)
    assert result["cases_paid"] == [2] and result["cases_partly_paid"] == [chf_case]
    assert bench.case(chf_case).open_amount == D("0.70")
    assert result["written_off"]["by_currency"] == {
        "EUR": {"bank_charges": "0.00", "tolerance": "0.70", "total": "0.70"}
    }
    # 0.04 CHF short of the 0.70 left: within the Swiss tolerance, the case closes
    rest = build_camt(
        "053",
        [Payment("0.66", ref=bench.reference(chf_case), bank_ref="CUR-4", currency="CHF")],
        day=BANK_DAY,
        msg_id="CUR2",
    )
    later = reconcile(bench, store_url, "rest.xml", rest)
    assert later["cases_paid"] == [chf_case]
    assert later["written_off"]["by_currency"] == {
        "CHF": {"bank_charges": "0.00", "tolerance": "0.04", "total": "0.04"}
    }


def test_a_payment_net_of_charges_accepted_from_review_closes_the_case(bench: Bench, store_url: str) -> None:
    reference = bench.reference(2)
    mistyped = reference[:-5] + "00" + reference[-3:]  # check digits fail: a person decides
    payment = Payment("66.59", ref=mistyped, name="Marie Dubois", bank_ref="CHRG-R", instructed="66.94", charges="0.35")
    result = reconcile(bench, store_url, "review.xml", build_camt("053", [payment], day=BANK_DAY, msg_id="CHRG-R"))
    assert result["review_items"] == 1 and result["cases_paid"] == []
    code, out, err = run(bench, store_url, "review", "--format", "json")
    (item,) = json.loads(out)
    code, out, err = run(bench, store_url, "review", "accept", str(item["id"]), "--case", "2", "--date", "2026-10-28")
    assert code == EXIT_OK, err
    assert bench.case(2).status == "closed"
    with bench.store.begin() as conn:
        rows = conn.execute(select(allocations.c.kind, allocations.c.amount).where(allocations.c.case_id == 2)).all()
    assert sorted((kind, D(amount)) for kind, amount in rows) == [("principal", D("66.59")), ("write_off", D("0.35"))]
