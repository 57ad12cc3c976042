"""Plans stored for real (SQLite and PostgreSQL): made for a case, the flow paused, listed, read back.

A real import of a small ledger, a plan made through the use case and through ``dunning plans create``,
the night run afterwards (the case is held, the other case is dunned), and the plan read back equal to
what was built, including after the night's review changes it.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dunning.cli import EXIT_INPUT, EXIT_NOT_FOUND, EXIT_OK, cli
from dunning.domain.legal import select_pack
from dunning.domain.plans.model import ArrangementStatus, InstalmentStatus, PlanError
from dunning.domain.plans.policy import PlanPolicy, bounded_policy
from dunning.domain.plans.references import case_reference_of
from dunning.domain.plans.review import review_plan
from dunning.store import Store
from dunning.store.cases import insert_case_event
from dunning.store.plans import load_plan, save_plan
from dunning.store.schema import actions, cases, holds
from dunning.usecases.planning.night import load_flows, run_night
from dunning.usecases.plans.create import create_plan, list_plans
from dunning.usecases.reconcile.run import reconcile_files
from dunning.workspace import open_workspace
from tests.usecases.notify.helpers import IMPORTED, NIGHT, RECORDED, case_of, import_and_plan, make_workspace
from tests.usecases.reconcile.camt_build import Payment, build_camt

AGREED = date(2026, 10, 6)  # after the import, before the flow's first step (day 7)
POLICY = PlanPolicy()


@pytest.fixture
def root(tmp_path: Path, store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    workspace = make_workspace(tmp_path / "ws", store_url)
    import_and_plan(store, workspace, night=IMPORTED)  # imported, nothing due yet
    monkeypatch.setenv("DUNNING_DATABASE", store_url)
    return workspace.root


def test_a_plan_is_stored_read_back_and_pauses_the_flow(root: Path, store: Store) -> None:
    r1, e2 = case_of(store, "R1"), case_of(store, "E2")
    with store.begin() as conn:
        for day in (date(2026, 7, 26), date(2026, 8, 25), date(2026, 9, 27)):
            insert_case_event(
                conn,
                case_id=r1,
                on_date=day,
                kind="payment_received",
                detail={},
                source="test",
                recorded_at=RECORDED,
                amount=Decimal("10.00"),
            )
        reference = conn.execute(select(cases.c.reference).where(cases.c.id == r1)).scalar_one()
    created = create_plan(
        store, str(r1), count=3, today=AGREED, policy=POLICY, created_by="clerk", recorded_at=RECORDED
    )
    plan = created.plan
    assert plan.status == ArrangementStatus.ACTIVE and plan.total == Decimal("150.25")
    assert [str(i.amount) for i in plan.instalments] == ["50.08", "50.08", "50.09"]
    assert created.due_day.day == 1 and "between the 25th and the 27th" in created.due_day.explanation
    assert [i.due_date for i in plan.instalments] == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    assert [case_reference_of(i.reference) for i in plan.instalments] == [(reference, n) for n in (1, 2, 3)]
    with store.begin() as conn:
        stored = load_plan(conn, plan.plan_id)
        hold = conn.execute(select(holds.c.kind, holds.c.source).where(holds.c.case_id == r1)).one()
    assert stored is not None and stored.plan == plan and stored.case_id == r1
    assert tuple(hold) == ("plan_active", f"plan:{plan.plan_id}")

    flows, _ = load_flows(root / "flows")
    run_night(store, flows, NIGHT, creditor_country="BE", creditor_language="nl", recorded_at=RECORDED)
    with store.begin() as conn:
        planned = {int(c) for c in conn.execute(select(actions.c.case_id)).scalars()}
        status = conn.execute(select(cases.c.status).where(cases.c.id == r1)).scalar_one()
    assert r1 not in planned and e2 in planned  # the plan's case is held; the other is dunned
    assert status == "on_hold"

    with pytest.raises(PlanError, match=f"already has plan {plan.plan_id}"):
        create_plan(store, str(r1), count=2, today=AGREED, policy=POLICY, created_by="clerk")


def test_the_nights_review_is_saved_and_read_back(root: Path, store: Store) -> None:
    created = create_plan(store, "R1", count=3, day=15, today=AGREED, policy=POLICY, created_by="clerk")
    bounded = bounded_policy(POLICY, select_pack("BE", "consumer"))
    review = review_plan(created.plan, bounded, date(2026, 10, 21))  # grace over for the 15 Oct instalment
    assert [a.kind for a in review.actions] == ["missed", "deferred"]
    with store.begin() as conn:
        save_plan(conn, review.plan)
        stored = load_plan(conn, created.plan.plan_id)
    assert stored is not None and stored.plan == review.plan
    assert stored.plan.instalment(1).status == InstalmentStatus.DEFERRED and len(stored.plan.instalments) == 4


def test_refusals_name_the_reason(root: Path, store: Store) -> None:
    with pytest.raises(PlanError, match="the policy allows 2 to 12"):
        create_plan(store, "R1", count=13, today=AGREED, policy=POLICY, created_by="clerk")
    with pytest.raises(PlanError, match=r"below the minimum instalment 25\.00"):
        create_plan(store, "R1", count=12, today=AGREED, policy=POLICY, created_by="clerk")
    assert list_plans(store) == []


def _cli(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-w", str(root), *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_commands(root: Path, store: Store) -> None:
    code, out, err = _cli(
        root,
        "plans",
        "create",
        "E2",
        "--count",
        "2",
        "--day",
        "10",
        "--date",
        "2026-10-06",
        "--by",
        "clerk",
        "--format",
        "json",
    )
    assert code == EXIT_OK, err
    made = json.loads(out)
    assert made["total"] == "150.50" and [i["amount"] for i in made["instalments"]] == ["75.25", "75.25"]
    assert made["due_day"] == "the 10th, chosen by the creditor" and made["pack"] == "BE-consumer"
    code, out, _ = _cli(root, "plans", "create", "R1", "--count", "2", "--date", "2026-10-06")
    assert code == EXIT_OK and "The case's flow is paused" in out and "no earlier payments" in out
    code, out, _ = _cli(root, "plans", "--format", "json")
    listed = json.loads(out)["plans"]
    assert [(p["case"], p["status"], p["next_due"]) for p in listed] == [
        (case_of(store, "E2"), "active", "2026-10-10"),
        (case_of(store, "R1"), "active", "2026-11-01"),
    ]
    code, out, _ = _cli(root, "plans", "--status", "breached", "--format", "csv")
    assert code == EXIT_OK and out.splitlines()[0].startswith("plan,case,status")
    assert len(out.splitlines()) == 1
    code, out, _ = _cli(root, "plans")
    assert "2 plan(s)" in out
    code, _, err = _cli(root, "plans", "create", "E2", "--count", "2", "--date", "2026-10-06")
    assert code == EXIT_INPUT and "already has plan" in err
    code, _, err = _cli(root, "plans", "create", "NOPE", "--count", "2")
    assert code == EXIT_NOT_FOUND and "no case 'NOPE'" in err


def test_a_bank_payment_with_an_instalment_reference_is_matched_to_its_case(
    root: Path, store: Store, tmp_path: Path
) -> None:
    created = create_plan(store, "R1", count=3, day=15, today=AGREED, policy=POLICY, created_by="clerk")
    first = created.plan.instalments[0]
    printed = f"+++{first.reference[:3]}/{first.reference[3:7]}/{first.reference[7:]}+++"
    statement = tmp_path / "plan.xml"
    statement.write_bytes(build_camt("054", [Payment(str(first.amount), ref=printed)], day=date(2026, 10, 15)))
    result = reconcile_files(store, open_workspace(root, environ={}), [statement], as_of=date(2026, 10, 15))
    assert result.summary()["outcomes"]["matched"]["count"] == 1
    with store.begin() as conn:
        open_amount = conn.execute(select(cases.c.open_amount).where(cases.c.id == case_of(store, "R1"))).scalar_one()
    assert open_amount == Decimal("150.25") - first.amount


def test_the_case_shows_its_plan_and_schedule(root: Path, store: Store) -> None:
    created = create_plan(store, "R1", count=2, day=15, today=AGREED, policy=POLICY, created_by="clerk")
    code, out, _ = _cli(root, "case", "R1", "--format", "json")
    assert code == EXIT_OK
    shown = json.loads(out)
    assert [(i["number"], i["due_date"], i["amount"], i["status"]) for i in shown["instalments"]] == [
        (1, "2026-10-15", "75.12", "scheduled"),
        (2, "2026-11-15", "75.13", "scheduled"),
    ]
    first = created.plan.instalments[0].reference
    assert shown["instalments"][0]["reference"] == f"+++{first[:3]}/{first[3:7]}/{first[7:]}+++"
    assert any(
        e["what"] == f"payment plan {created.plan.plan_id}: 2 instalments, 150.25 in all" for e in shown["timeline"]
    )
    code, out, _ = _cli(root, "case", "R1")
    assert code == EXIT_OK and "Payment plan" in out
