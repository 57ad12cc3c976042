"""What the nights never ask for (issue 16, items 4 and 5), through ``dunning run``, on SQLite and PostgreSQL.

* A payment waiting in ``dunning review`` holds every case it may pay: no fee, interest step or
  reminder while it waits (emails really sent, so the legal periods run), the timeline says why,
  and the hold lifts itself when the review item is accepted or rejected.
* A principal left open at or below the write-off tolerance of its currency (``bank.tolerance``)
  is settled: never a fee or a reminder for it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from dunning.cli import EXIT_OK, cli
from dunning.store import Store
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.workspace import init_workspace, open_workspace
from tests.usecases.reconcile.camt_build import Payment, build_camt
from tests.usecases.reconcile.conftest import BANK_DAY, FIRST_NIGHT, IMPORTED_ON

#: what the nights plan that a case on hold must never get
DUNNING = {"add_fee", "add_interest", "send_sms", "send_pay_link", "send_letter", "send_final_notice", "hand_over"}


class Workspace:
    """A workspace with the example ledger imported, its first night planned and its emails sent."""

    def __init__(self, root: Path, store: Store, store_url: str) -> None:
        self.root, self.store, self.store_url = root, store, store_url

    def cli(self, *args: str) -> tuple[int, str, str]:
        runner = CliRunner(env={"DUNNING_DATABASE": self.store_url, "COLUMNS": "200"})
        result = runner.invoke(cli, ["--workspace", str(self.root), *args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    def json(self, *args: str) -> Any:
        code, out, err = self.cli(*args, "--format", "json")
        assert code == EXIT_OK, err
        return json.loads(out)

    def nights(self, first: date, last: date) -> dict[int, set[str]]:
        """``dunning run`` each night from ``first`` to ``last``, its emails and SMS sent; actions per case."""
        workspace = open_workspace(self.root, environ={})
        planned: dict[int, set[str]] = defaultdict(set)
        day = first
        while day <= last:
            for action in self.json("run", "--date", day.isoformat(), "--list")["actions"]:
                planned[action["case"]].add(action["action"])
            dispatch_messages(self.store, workspace, day, now=datetime.combine(day, time(10), tzinfo=UTC))
            day += timedelta(days=1)
        return planned

    def timeline(self, case: int) -> list[dict[str, Any]]:
        return list(self.json("case", str(case))["timeline"])

    def status(self, case: int) -> str:
        (row,) = [c for c in self.json("cases") if c["case"] == case]
        return str(row["status"])


@pytest.fixture()
def ws(store: Store, store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "ws"
    init_workspace(root)
    workspace = Workspace(root, store, store_url)
    import_ledger(store, root / "examples/open-items.csv", as_of=IMPORTED_ON, reference_kind="be-ogm")
    workspace.nights(FIRST_NIGHT, FIRST_NIGHT)
    yield workspace


def _payment_in_review(ws: Workspace) -> int:
    """Case 2's 66.94 paid with a reference whose check digits fail: it waits in review, case 2 its candidate."""
    reference = str(ws.json("case", "2")["reference"])  # +++000/0000/00202+++
    mistyped = reference[:-5] + "00" + reference[-3:]
    xml = build_camt("054", [Payment("66.94", ref=mistyped, name="Marie Dubois", bank_ref="REV-1")], day=BANK_DAY)
    path = ws.root / "mistyped.xml"
    path.write_bytes(xml)
    result = ws.json("reconcile", str(path), "--date", BANK_DAY.isoformat())
    assert result["review_items"] == 1 and result["cases_paid"] == []
    (item,) = ws.json("review")
    assert item["candidates"][0]["case"] == "2"
    return int(item["id"])


def test_a_payment_in_review_holds_the_case_and_rejecting_it_lifts_the_hold(ws: Workspace) -> None:
    item = _payment_in_review(ws)
    planned = ws.nights(BANK_DAY + timedelta(days=1), date(2026, 11, 10))
    assert not planned[2] & DUNNING, planned[2]
    assert planned[7] & DUNNING, planned[7]  # the same nights dun a case that did not pay
    assert ws.status(2) == "on_hold"
    held = [e for e in ws.timeline(2) if e["kind"] == "held_for_review"]
    assert len(held) == 1  # told once, not every night
    assert held[0]["why"] == (
        f"held: payment of 66.94 EUR on {BANK_DAY.isoformat()} waiting in review (item {item}); "
        "no fee, interest or reminder until it is decided"
    )
    code, _, err = ws.cli("review", "reject", str(item), "--date", "2026-11-11")
    assert code == EXIT_OK, err
    lifted = [e for e in ws.timeline(2) if e["kind"] == "review_hold_lifted"]
    assert [e["why"] for e in lifted] == [f"hold lifted: review item {item} rejected; the flow goes on"]
    after = ws.nights(date(2026, 11, 11), date(2026, 11, 12))
    assert after[2] & DUNNING  # the flow goes on: the payment was not the case's
    assert ws.status(2) == "open"


def test_accepting_the_payment_in_review_closes_the_case_and_nothing_more_is_asked(ws: Workspace) -> None:
    item = _payment_in_review(ws)
    held = ws.nights(BANK_DAY + timedelta(days=1), date(2026, 11, 2))
    assert not held[2] & DUNNING and "send_sms" in held[7]
    code, _, err = ws.cli("review", "accept", str(item), "--case", "2", "--date", "2026-11-03")
    assert code == EXIT_OK, err
    assert ws.status(2) == "closed"
    lifted = [e for e in ws.timeline(2) if e["kind"] == "review_hold_lifted"]
    assert [e["why"] for e in lifted] == [f"hold lifted: review item {item} accepted for case 2; the flow goes on"]
    after = ws.nights(date(2026, 11, 3), date(2026, 11, 20))
    assert after[2] == {"thank_you"}, after[2]


def _tolerance(ws: Workspace, tolerance: object) -> None:
    path = ws.root / "dunning.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["bank"]["tolerance"] = tolerance
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


def test_a_residual_within_the_tolerance_of_its_currency_is_never_dunned(ws: Workspace) -> None:
    # The ledger now says case 2 has 0.40 left (its ERP booked a payment net of charges).
    ledger = ws.root / "examples/open-items.csv"
    rows = ledger.read_text(encoding="utf-8").splitlines()
    rows = [row.replace(",133.88,66.94,EUR,", ",133.88,0.40,EUR,") for row in rows]
    assert sum(",0.40,EUR," in row for row in rows) == 1
    residual = ws.root / "residual.csv"
    residual.write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_ledger(ws.store, residual, as_of=BANK_DAY, reference_kind="be-ogm")

    def planned_on(day: str) -> dict[int, set[str]]:
        found: dict[int, set[str]] = defaultdict(set)
        result = ws.json("run", "--date", day, "--dry-run")
        for action in result["actions"]:
            found[action["case"]].add(action["action"])
        return found

    # The flow's minimum amount (5.00) would hold back a 0.40 residual on its own: this is about the tolerance.
    for flow_file in (ws.root / "flows").glob("*.yaml"):
        text = flow_file.read_text(encoding="utf-8")
        flow_file.write_text(text.replace('minimum_amount: "5.00"', 'minimum_amount: "0"'), encoding="utf-8")
    _tolerance(ws, {"CHF": "1.00"})  # another currency's tolerance does not cover euros
    assert "send_sms" in planned_on("2026-11-01")[2]
    _tolerance(ws, {"EUR": "1.00"})
    settled = planned_on("2026-11-01")
    assert not settled[2] & DUNNING and "send_sms" in settled[7]
    _tolerance(ws, "0.40")  # at the tolerance: settled too
    assert not planned_on("2026-11-01")[2] & DUNNING
    _tolerance(ws, "0.39")
    assert "send_sms" in planned_on("2026-11-01")[2]
