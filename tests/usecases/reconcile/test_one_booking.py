"""One payment, one booking across camt.052 / 053 / 054, whatever the bank repeats of it.

The same credit reported twice under different bank references is recognised by its EndToEndId,
its UETR, its account servicer reference (on the entry in one file, on the detail in the other),
or, where the bank gives no reference at all, by amount, date and the payer. Two payments that
only look alike (same amount, day and payer, each with its own bank reference) stay two.
Through ``dunning reconcile`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from dunning.cli import EXIT_OK, cli
from dunning.store.schema import allocations
from tests.usecases.reconcile.camt_build import Payment, build_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench

PAYER = "BE71096123456769"


def reconcile(bench: Bench, store_url: str, name: str, xml: bytes) -> dict[str, Any]:
    path = bench.root / name
    path.write_bytes(xml)
    runner = CliRunner(env={"DUNNING_DATABASE": store_url, "COLUMNS": "200"})
    args = ["--workspace", str(bench.root), "reconcile", str(path), "--date", BANK_DAY.isoformat(), "--format", "json"]
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == EXIT_OK, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def allocated(bench: Bench, case_id: int) -> Decimal:
    with bench.store.begin() as conn:
        rows = conn.execute(
            select(allocations.c.amount).where(allocations.c.case_id == case_id, allocations.c.reversed.is_(False))
        ).scalars()
        return sum(rows, Decimal(0))


def _twice(bench: Bench, store_url: str, first: bytes, second: bytes, case_id: int, amount: str) -> None:
    assert reconcile(bench, store_url, "first.xml", first)["cases_paid"] == [case_id]
    again = reconcile(bench, store_url, "second.xml", second)
    assert again["duplicates"] == 1 and again["outcomes"]["matched"]["count"] == 0, again
    assert allocated(bench, case_id) == Decimal(amount)
    assert bench.case(case_id).credit_amount == 0


def test_same_end_to_end_id_under_another_bank_reference_is_booked_once(bench: Bench, store_url: str) -> None:
    payment = {"ref": bench.reference(2), "end_to_end": "E2E-INV-26004", "iban": PAYER}
    intraday = build_camt("052", [Payment("66.94", bank_ref="INTRA-1", **payment)], day=BANK_DAY, msg_id="R")
    statement = build_camt("053", [Payment("66.94", bank_ref="STMT-9", **payment)], day=BANK_DAY, msg_id="S")
    _twice(bench, store_url, intraday, statement, 2, "66.94")


def test_same_uetr_under_another_bank_reference_is_booked_once(bench: Bench, store_url: str) -> None:
    uetr = "4e9c1b8a-2f0d-4c1e-9a55-0c1f5b2d7e31"

    def with_uetr(xml: bytes, value: str) -> bytes:
        return xml.replace(b"</EndToEndId>", f"</EndToEndId><UETR>{value}</UETR>".encode(), 1)

    notification = build_camt("054", [Payment("727.65", ref=bench.reference(5), bank_ref="N-1")], day=BANK_DAY)
    statement = build_camt("053", [Payment("727.65", ref=bench.reference(5), bank_ref="S-7")], day=BANK_DAY)
    _twice(bench, store_url, with_uetr(notification, uetr), with_uetr(statement, uetr.upper()), 5, "727.65")


def test_account_servicer_reference_on_the_entry_then_on_the_detail_is_booked_once(
    bench: Bench, store_url: str
) -> None:
    on_entry = build_camt("052", [Payment("66.94", ref=bench.reference(2), bank_ref="ACS-77")], day=BANK_DAY)
    on_detail = build_camt(
        "053", [Payment("66.94", ref=bench.reference(2), bank_ref="ACS-77", tx_ref=True)], day=BANK_DAY, msg_id="S"
    )
    # the statement gives the reference on the detail only
    on_detail = on_detail.replace(b"<AcctSvcrRef>ACS-77</AcctSvcrRef>", b"", 1)
    assert on_detail.count(b"ACS-77") == 1
    _twice(bench, store_url, on_entry, on_detail, 2, "66.94")


def test_without_any_reference_amount_day_and_payer_recognise_the_payment(bench: Bench, store_url: str) -> None:
    anonymous = build_camt("052", [Payment("66.94", ref=bench.reference(2), iban=PAYER)], day=BANK_DAY, msg_id="R")
    assert b"AcctSvcrRef" not in anonymous
    referenced = build_camt(
        "053", [Payment("66.94", ref=bench.reference(2), iban=PAYER, bank_ref="S-4")], day=BANK_DAY, msg_id="S"
    )
    _twice(bench, store_url, anonymous, referenced, 2, "66.94")


def test_two_referenced_payments_that_look_alike_stay_two(bench: Bench, store_url: str) -> None:
    payment = {"ref": bench.reference(2), "iban": PAYER}
    first = build_camt("053", [Payment("66.94", bank_ref="D-1", **payment)], day=BANK_DAY, msg_id="S1")
    second = build_camt("053", [Payment("66.94", bank_ref="D-2", **payment)], day=BANK_DAY, msg_id="S2")
    assert reconcile(bench, store_url, "one.xml", first)["cases_paid"] == [2]
    again = reconcile(bench, store_url, "two.xml", second)
    assert again["duplicates"] == 0 and again["outcomes"]["matched"]["count"] == 1
    assert bench.case(2).credit_amount == Decimal("66.94")  # paid twice: the second is the debtor's credit
