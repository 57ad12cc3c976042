"""camt readings through ``dunning reconcile``: RvslInd 1, Sts/Cd in an older namespace, a zero detail
under a booked entry, a reference with wrong check digits. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from click.testing import CliRunner

from dunning.cli import EXIT_OK, cli
from tests.usecases.reconcile.camt_build import Payment, build_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench

V08 = b"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
V04 = b"urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"


def run(bench: Bench, store_url: str, *args: str) -> tuple[int, str, str]:
    runner = CliRunner(env={"DUNNING_DATABASE": store_url, "COLUMNS": "200"})
    result = runner.invoke(cli, ["--workspace", str(bench.root), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _reconcile(bench: Bench, store_url: str, name: str, xml: bytes, day: str = BANK_DAY.isoformat()) -> dict:
    path = bench.root / name
    path.write_bytes(xml)
    code, out, err = run(bench, store_url, "reconcile", str(path), "--date", day, "--format", "json")
    assert code == EXIT_OK, err
    return {**json.loads(out), "stderr": err}


def test_a_reversal_marked_1_reopens_the_case(bench: Bench, store_url: str) -> None:
    paid = build_camt(
        "053", [Payment("66.94", ref=bench.reference(2), end_to_end="E2E-2", bank_ref="R-1")], day=BANK_DAY
    )
    assert _reconcile(bench, store_url, "paid.xml", paid)["cases_paid"] == [2]
    later = BANK_DAY + timedelta(days=1)
    reversal = build_camt(
        "053",
        [Payment("66.94", direction="DBIT", reversal=True, end_to_end="E2E-2", bank_ref="R-2", booked_on=later)],
        day=later,
        msg_id="REV",
    )
    assert b"<RvslInd>true</RvslInd>" in reversal
    result = _reconcile(bench, store_url, "rev.xml", reversal.replace(b">true</RvslInd>", b">1</RvslInd>"), str(later))
    assert result["cases_reopened"] == [2] and result["outcomes"]["undone"]["count"] == 1
    assert bench.case(2).status == "open"


def test_a_v08_status_in_an_older_namespace_is_read_and_warned(bench: Bench, store_url: str) -> None:
    xml = build_camt("053", [Payment("66.94", ref=bench.reference(2), bank_ref="S-1")], day=BANK_DAY)
    result = _reconcile(bench, store_url, "v04.xml", xml.replace(V08, V04))
    assert result["cases_paid"] == [2]
    said = " ".join(result["stderr"].split())
    assert "Sts/Cd is the form of version 08 and later, read in a version 04 file" in said


def test_a_zero_detail_under_a_booked_entry_waits_in_review_and_can_be_applied(bench: Bench, store_url: str) -> None:
    xml = build_camt("054", [Payment("727.65", ref=bench.reference(5), bank_ref="Z-1")], day=BANK_DAY)
    _entry, detail_amount = (i for i in range(len(xml)) if xml.startswith(b">727.65<", i))
    xml = xml[:detail_amount] + b">0.00<" + xml[detail_amount + len(b">727.65<") :]
    result = _reconcile(bench, store_url, "zero.xml", xml)
    assert result["review_items"] == 1 and result["outcomes"]["ignored"]["count"] == 0
    assert bench.case(5).status == "open"
    _, out, _ = run(bench, store_url, "review", "--format", "json")
    (item,) = json.loads(out)
    assert (
        Decimal(item["amount"]) == Decimal("727.65") and "amount is 0 under a booked entry of 727.65" in item["reason"]
    )
    code, out, err = run(bench, store_url, "review", "accept", str(item["id"]), "--case", "5", "--date", "2026-10-28")
    assert code == EXIT_OK, err
    assert bench.case(5).status == "closed"


def test_wrong_check_digits_still_give_candidates_from_the_payers_name(bench: Bench, store_url: str) -> None:
    reference = bench.reference(2)  # +++000/0000/00202+++
    mistyped = reference[:-5] + "00" + reference[-3:]
    assert mistyped != reference
    # 30.00 fits no open amount, so the amount-and-name rule has nothing to offer: the reference's body does.
    xml = build_camt("054", [Payment("30.00", ref=mistyped, name="Marie Dubois", bank_ref="W-1")], day=BANK_DAY)
    result = _reconcile(bench, store_url, "mistyped.xml", xml)
    assert result["review_items"] == 1 and result["cases_paid"] == [] and result["cases_partly_paid"] == []
    _, out, _ = run(bench, store_url, "review", "--format", "json")
    (item,) = json.loads(out)
    assert "check digits fail" in item["reason"]
    best = item["candidates"][0]
    assert best["case"] == "2" and best["score"] == 1.0
