"""``dunning plans propose`` (nothing stored) and ``dunning plans report``, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning.cli import EXIT_NOT_FOUND, EXIT_OK, cli
from dunning.domain.plans.model import ArrangementStatus
from dunning.domain.plans.policy import PlanPolicy
from dunning.store import Store
from dunning.store.cases import insert_case_event
from dunning.store.plans import load_plan, save_plan
from dunning.usecases.plans.create import create_plan, list_plans
from dunning.usecases.plans.propose import propose_plans
from dunning.usecases.plans.report import period_of
from tests.usecases.notify.helpers import IMPORTED, RECORDED, case_of, import_and_plan, make_workspace
from tests.usecases.plans.test_directdebit import DEBTOR_IBAN, _configure

AGREED = date(2026, 10, 6)


@pytest.fixture
def root(tmp_path: Path, store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    workspace = make_workspace(tmp_path / "ws", store_url)
    import_and_plan(store, workspace, night=IMPORTED)
    monkeypatch.setenv("DUNNING_DATABASE", store_url)
    _configure(workspace.root)
    return workspace.root


def _cli(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-w", str(root), *args])
    return result.exit_code, result.stdout, result.stderr


def test_propose_lists_the_allowed_plans_and_the_due_day_and_stores_nothing(root: Path, store: Store) -> None:
    r1 = case_of(store, "R1")
    with store.begin() as conn:
        for day in (date(2026, 7, 26), date(2026, 8, 25), date(2026, 9, 27)):
            insert_case_event(conn, case_id=r1, on_date=day, kind="payment_received", detail={}, source="test",
                              recorded_at=RECORDED, amount=Decimal("10.00"))
    proposal = propose_plans(store, "R1", today=AGREED, policy=PlanPolicy())
    assert proposal.total == Decimal("150.25") and proposal.pack == "BE-consumer"
    assert [o.count for o in proposal.options] == [2, 3, 4, 5, 6]  # 7 would go below 25.00
    assert [(str(o.instalment), str(o.last_instalment)) for o in proposal.options][:2] == [
        ("75.12", "75.13"), ("50.08", "50.09")
    ]
    assert proposal.due_day.day == 1 and "between the 25th and the 27th" in proposal.due_day.explanation
    assert (proposal.options[0].first_due, proposal.options[-1].last_due) == (date(2026, 11, 1), date(2027, 4, 1))
    assert list_plans(store) == []
    code, out, err = _cli(root, "plans", "propose", "R1", "--date", "2026-10-06", "--format", "json")
    assert code == EXIT_OK, err
    shown = json.loads(out)
    assert shown["due_day"]["day"] == 1 and shown["due_day"]["from_history"] is True
    assert [(p["count"], p["instalment"], p["months"]) for p in shown["plans"]][-1] == (6, "25.04", 5)
    code, out, _ = _cli(root, "plans", "propose", "R1", "--date", "2026-10-06")
    assert code == EXIT_OK and "5 plan(s) allowed" in out and "so instalments fall due on the 1st" in out
    code, _, err = _cli(root, "plans", "propose", "NOPE")
    assert code == EXIT_NOT_FOUND and "no case 'NOPE'" in err
    assert list_plans(store) == []


def test_report_counts_plans_by_period_and_status_and_the_collections(root: Path, store: Store) -> None:
    create_plan(store, "R1", count=3, day=15, today=AGREED, policy=PlanPolicy(), created_by="clerk")
    broken = create_plan(store, "E2", count=2, day=15, today=date(2026, 11, 2), policy=PlanPolicy(),
                         created_by="clerk")
    with store.begin() as conn:
        stored = load_plan(conn, broken.plan.plan_id)
        assert stored is not None
        save_plan(conn, replace(stored.plan, status=ArrangementStatus.BREACHED, ended_on=date(2026, 12, 20)))
    code, _, err = _cli(root, "plans", "mandate", "R1", "--iban", DEBTOR_IBAN, "--signed-on", "2026-10-01",
                        "--date", "2026-10-06")
    assert code == EXIT_OK, err
    code, _, err = _cli(root, "plans", "collect", "--date", "2026-10-14")
    assert code == EXIT_OK, err
    code, out, err = _cli(root, "plans", "report", "--format", "json")
    assert code == EXIT_OK, err
    report = json.loads(out)
    rows = {r["period"]: r for r in report["periods"]}
    assert sorted(rows) == ["2026-10", "2026-11"]
    assert (rows["2026-10"]["created"], rows["2026-10"]["active"], rows["2026-10"]["collected"]) == (1, 1, 1)
    assert rows["2026-10"]["collected_amount"] == "50.08" and rows["2026-10"]["returned"] == 0
    assert (rows["2026-11"]["created"], rows["2026-11"]["breached"], rows["2026-11"]["kept_rate"]) == (1, 1, "0.00")
    assert report["total"]["created"] == 2 and report["total"]["completed"] == 0
    code, out, _ = _cli(root, "plans", "report", "--period", "year", "--from", "2026-11-01", "--format", "csv")
    lines = out.splitlines()
    assert code == EXIT_OK and lines[0].startswith("period,created,proposed,active,completed,breached,cancelled")
    assert lines[1].startswith("2026,1,0,0,0,1,0") and lines[2].startswith("total,1,")
    assert (period_of(date(2026, 11, 30), "quarter"), period_of(date(2026, 1, 1), "month")) == ("2026-Q4", "2026-01")
